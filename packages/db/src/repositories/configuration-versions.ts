import type { Subjects } from "@tarmac/contracts";
import { FINAL_STATUSES, newId, runOperation } from "@tarmac/domain";
import { inSqlTransaction, inTransaction, queryRows, type Db, type Tx } from "../client";
import { Prisma } from "../generated/prisma/client";
import type { ConfigurationVersionModel } from "../generated/prisma/models";
import { getBlob } from "../blobs";
import { deleteLargeBlob, putLargeBlob } from "../large-blobs";
import { enqueueOutbox } from "../outbox";
import { configurationUploadedMessage } from "../outbox-messages";
import { statusTimestampValue } from "../runs";
import { createRun } from "./runs-write";

/**
 * Configuration versions: created pending, then uploaded (archive stored, maybe a run queued) or
 * errored, all status changes as compare-and-set on `pending` so two uploads cannot both win.
 */

export type ConfigurationVersionRow = ConfigurationVersionModel & { organizationId: string };

function flatten(cv: ConfigurationVersionModel & { workspace: { organizationId: string } }): ConfigurationVersionRow {
  const { workspace, ...rest } = cv;
  return { ...rest, organizationId: workspace.organizationId };
}

const withOrganization = { workspace: { select: { organizationId: true } } } as const;

export interface NewConfigurationVersion {
  workspaceId: string;
  autoQueueRuns: boolean;
  speculative: boolean;
  provisional: boolean;
  createdById: string | null;
  source?: string;
}

/**
 * Creates a pending configuration version. A non-provisional one becomes the workspace's most
 * recently used version at once (what POST /runs without one falls back to); a provisional one
 * only does when a run uses it (notes §4.1).
 */
export async function createConfigurationVersion(db: Db, input: NewConfigurationVersion, at: Date): Promise<ConfigurationVersionRow> {
  return inTransaction(db, async (tx) => {
    const cv = await tx.configurationVersion.create({
      data: {
        id: newId("cv"),
        workspaceId: input.workspaceId,
        autoQueueRuns: input.autoQueueRuns,
        speculative: input.speculative,
        provisional: input.provisional,
        createdById: input.createdById,
        source: input.source ?? "tfe-api",
        statusTimestamps: {},
        createdAt: at,
      },
      include: withOrganization,
    });
    if (!input.provisional) {
      await tx.workspace.update({ where: { id: input.workspaceId }, data: { latestConfigurationVersionId: cv.id } });
    }
    return flatten(cv);
  });
}

export async function findConfigurationVersion(db: Db | Tx, id: string): Promise<ConfigurationVersionRow | null> {
  const cv = await db.configurationVersion.findUnique({ where: { id }, include: withOrganization });
  return cv ? flatten(cv) : null;
}

/** The configuration version a run uses. */
export async function findConfigurationVersionOfRun(db: Db | Tx, runId: string): Promise<ConfigurationVersionRow | null> {
  const run = await db.run.findUnique({ where: { id: runId }, select: { configurationVersionId: true } });
  return run ? findConfigurationVersion(db, run.configurationVersionId) : null;
}

/** Newest first, with the total for pagination. */
export async function listConfigurationVersions(
  db: Db | Tx,
  workspaceId: string,
  page: { offset: number; size: number },
): Promise<{ items: ConfigurationVersionRow[]; total: number }> {
  const [rows, total] = await Promise.all([
    db.configurationVersion.findMany({
      where: { workspaceId },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      skip: page.offset,
      take: page.size,
      include: withOrganization,
    }),
    db.configurationVersion.count({ where: { workspaceId } }),
  ]);
  return { items: rows.map(flatten), total };
}

/** The newest run created from a configuration version (include=run), if any. */
export async function latestRunIdOfConfigurationVersion(db: Db | Tx, cvId: string): Promise<string | null> {
  const run = await db.run.findFirst({ where: { configurationVersionId: cvId }, orderBy: { seq: "desc" }, select: { id: true } });
  return run?.id ?? null;
}

/** The stored tar.gz, or null when the version holds none (not uploaded, or archived). */
export async function readConfigurationArchive(db: Db | Tx, cvId: string): Promise<Buffer | null> {
  const cv = await db.configurationVersion.findUnique({ where: { id: cvId }, select: { archiveBlobId: true, status: true } });
  if (!cv?.archiveBlobId || cv.status !== "uploaded") return null;
  const blob = await getBlob(db as Tx, cv.archiveBlobId);
  return blob?.data ?? null;
}

function stampPatch(key: string, at: Date): string {
  return JSON.stringify({ [key]: statusTimestampValue(at) });
}

async function enqueueUploaded(
  tx: Tx,
  subjects: Subjects,
  cv: { id: string; workspaceId: string },
  status: "uploaded" | "errored",
  at: Date,
  headers?: Record<string, string>,
): Promise<void> {
  await enqueueOutbox(tx, configurationUploadedMessage(subjects, cv, status, at, headers));
}

export type UploadResult =
  | { ok: true; runId: string | null }
  | { ok: false; reason: "not_found" | "not_pending" };

/**
 * Stores a validated archive and marks the version uploaded, in one transaction with: the
 * auto-queued run when `auto-queue-runs` is set (source tfe-configuration-version, plan-only when
 * the version is speculative, the workspace's auto-apply) and the configuration_version.uploaded
 * outbox event. Only a pending version accepts an archive.
 */
export async function completeUpload(
  db: Db,
  input: { id: string; archive: Buffer; at: Date; subjects: Subjects; headers?: Record<string, string> },
): Promise<UploadResult> {
  const { id, archive, at, subjects, headers } = input;
  // Written before the transaction and outside Prisma (see large-blobs.ts); removed again when
  // the transaction does not take it.
  const blobId = await putLargeBlob(db, archive, "application/x-gzip");
  let result: UploadResult;
  try {
    result = await recordUpload(db, { id, blobId, at, subjects, headers });
  } catch (err) {
    await deleteLargeBlob(db, blobId);
    throw err;
  }
  if (!result.ok) await deleteLargeBlob(db, blobId);
  return result;
}

/** What an upload's transaction needs of the version it marked uploaded and of its workspace. */
interface UploadedVersion {
  id: string;
  workspaceId: string;
  speculative: boolean;
  autoQueueRuns: boolean;
  createdById: string | null;
  organizationId: string;
  autoApply: boolean;
  terraformVersion: string;
}

async function recordUpload(
  db: Db,
  input: { id: string; blobId: string; at: Date; subjects: Subjects; headers?: Record<string, string> | undefined },
): Promise<UploadResult> {
  const { id, blobId, at, subjects, headers } = input;
  // Every statement is SQL (a pool client's transaction, past Prisma's interactive one): the CLI
  // uploads a configuration for every run it starts.
  return inSqlTransaction(db, async (tx): Promise<UploadResult> => {
    // The row lock makes a concurrent second upload wait, then find the version no longer pending.
    const rows = await queryRows<{ status: string }>(tx, Prisma.sql`SELECT status::text AS status FROM configuration_versions WHERE id = ${id} FOR UPDATE`);
    const current = rows[0];
    if (!current) return { ok: false, reason: "not_found" };
    if (current.status !== "pending") return { ok: false, reason: "not_pending" };
    const [cv] = await queryRows<UploadedVersion>(
      tx,
      Prisma.sql`UPDATE configuration_versions cv SET status = 'uploaded', archive_blob_id = ${blobId},
        status_timestamps = cv.status_timestamps || ${stampPatch("uploaded-at", at)}::jsonb, updated_at = ${at}
      FROM workspaces w WHERE cv.id = ${id} AND w.id = cv.workspace_id
      RETURNING cv.id, cv.workspace_id AS "workspaceId", cv.speculative, cv.auto_queue_runs AS "autoQueueRuns", cv.created_by_id AS "createdById",
        w.organization_id AS "organizationId", w.auto_apply AS "autoApply", w.terraform_version AS "terraformVersion"`,
    );
    if (!cv) return { ok: false, reason: "not_found" };
    await enqueueUploaded(tx, subjects, cv, "uploaded", at, headers);
    if (!cv.autoQueueRuns) return { ok: true, runId: null };
    const facts = { planOnly: cv.speculative, savePlan: false, refreshOnly: false, isDestroy: false, allowEmptyApply: false };
    const run = await createRun(
      tx,
      {
        id: newId("run"),
        organizationId: cv.organizationId,
        workspaceId: cv.workspaceId,
        configurationVersionId: cv.id,
        createdById: cv.createdById,
        operation: runOperation(facts),
        source: "tfe-configuration-version",
        // What HCP shows for runs it queues after an API upload.
        message: "Triggered via API",
        ...facts,
        refresh: true,
        autoApply: cv.autoApply,
        allowConfigGeneration: false,
        debuggingMode: false,
        terraformVersion: cv.terraformVersion,
        targetAddrs: [],
        replaceAddrs: [],
        variables: [],
      },
      at,
      subjects,
      newId("re"),
      headers,
    );
    return { ok: true, runId: run.id };
  });
}

/** Marks a pending version errored (a refused archive); false when it was not pending. */
export async function markErrored(
  db: Db,
  input: { id: string; error: string; message: string; at: Date; subjects: Subjects },
): Promise<boolean> {
  const { id, at } = input;
  return inTransaction(db, async (tx) => {
    const changed = await tx.$executeRaw`
      UPDATE configuration_versions SET status = 'errored', error = ${input.error}, error_message = ${input.message},
        status_timestamps = status_timestamps || ${stampPatch("errored-at", at)}::jsonb, updated_at = ${at}
      WHERE id = ${id} AND status = 'pending'`;
    if (changed !== 1) return false;
    const cv = await tx.configurationVersion.findUniqueOrThrow({ where: { id }, select: { id: true, workspaceId: true } });
    await enqueueUploaded(tx, input.subjects, cv, "errored", at);
    return true;
  });
}

export type ArchiveResult = { ok: true } | { ok: false; reason: "not_found" | "not_uploaded" | "current" | "in_use" };

/**
 * Discards an uploaded version's archive (notes §4.4): only when it is uploaded, is not the
 * workspace's latest, and no unfinished run uses it. The blob goes with it.
 */
export async function archiveConfigurationVersion(db: Db, id: string, at: Date): Promise<ArchiveResult> {
  return inTransaction(db, async (tx) => {
    const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM configuration_versions WHERE id = ${id} FOR UPDATE`;
    if (rows.length === 0) return { ok: false, reason: "not_found" };
    const cv = await tx.configurationVersion.findUniqueOrThrow({ where: { id }, include: { latestOf: { select: { id: true } } } });
    if (cv.status !== "uploaded") return { ok: false, reason: "not_uploaded" };
    if (cv.latestOf.length > 0) return { ok: false, reason: "current" };
    const active = await tx.run.count({ where: { configurationVersionId: id, status: { notIn: [...FINAL_STATUSES] } } });
    if (active > 0) return { ok: false, reason: "in_use" };
    await tx.$executeRaw`
      UPDATE configuration_versions SET status = 'archived', archive_blob_id = NULL,
        status_timestamps = status_timestamps || ${stampPatch("archived-at", at)}::jsonb, updated_at = ${at}
      WHERE id = ${id}`;
    if (cv.archiveBlobId) await tx.blob.deleteMany({ where: { id: cv.archiveBlobId } });
    return { ok: true };
  });
}
