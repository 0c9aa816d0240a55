import { createHash } from "node:crypto";
import { isJobPhaseLive, type Phase } from "@tarmac/domain";
import { inTransaction, type Db, type Tx } from "../client";
import { deleteBlob, getBlob, putBlob } from "../blobs";
import { createStateVersion } from "./state-versions";

/**
 * What the gateway's job capability routes (`/_jobs/:runId/:secret/...`) read and write on
 * behalf of a worker, which holds no database credentials.
 */

export type JobPhase = Phase;

/** The run, its workspace (with raw, possibly encrypted, variables) and its phases. */
export async function findJobRun(db: Db | Tx, runId: string) {
  return db.run.findUnique({
    where: { id: runId },
    include: {
      workspace: {
        select: {
          id: true,
          name: true,
          workingDirectory: true,
          terraformVersion: true,
          structuredRunOutputEnabled: true,
          currentStateVersionId: true,
          variables: { select: { key: true, value: true, category: true, hcl: true, sensitive: true }, orderBy: { key: "asc" } },
        },
      },
      configurationVersion: { select: { id: true, archiveBlobId: true, status: true } },
      plan: { select: { id: true, planFileBlobId: true, jsonBlobId: true, logBlobId: true } },
      apply: { select: { id: true, logBlobId: true } },
    },
  });
}
export type JobRun = NonNullable<Awaited<ReturnType<typeof findJobRun>>>;

/** What decides whether a job URL's phase is still alive: the run's status and its phases'. */
export async function findJobPhaseState(db: Db | Tx, runId: string) {
  return db.run.findUnique({
    where: { id: runId },
    select: { status: true, plan: { select: { status: true } }, apply: { select: { status: true } } },
  });
}

export async function runExists(db: Db | Tx, runId: string): Promise<boolean> {
  return (await db.run.count({ where: { id: runId } })) > 0;
}

/** The run's configuration archive (tar.gz), or null when none was uploaded. */
export async function readConfigurationArchive(db: Db | Tx, runId: string): Promise<Buffer | null> {
  const run = await db.run.findUnique({ where: { id: runId }, select: { configurationVersion: { select: { archiveBlobId: true } } } });
  const blobId = run?.configurationVersion.archiveBlobId;
  return blobId ? ((await getBlob(db, blobId))?.data ?? null) : null;
}

/** The workspace's current state (terraform state JSON), or null for a workspace without state. */
export async function readCurrentState(db: Db | Tx, runId: string): Promise<Buffer | null> {
  const run = await db.run.findUnique({
    where: { id: runId },
    select: { workspace: { select: { currentStateVersion: { select: { stateBlobId: true } } } } },
  });
  const blobId = run?.workspace.currentStateVersion?.stateBlobId;
  return blobId ? ((await getBlob(db, blobId))?.data ?? null) : null;
}

export async function readPlanFile(db: Db | Tx, runId: string): Promise<Buffer | null> {
  const plan = await db.plan.findUnique({ where: { runId }, select: { planFileBlobId: true } });
  return plan?.planFileBlobId ? ((await getBlob(db, plan.planFileBlobId))?.data ?? null) : null;
}

type PlanBlobColumn = "planFileBlobId" | "jsonBlobId" | "providerSchemasBlobId" | "logBlobId";

/**
 * `stored` the first time; `unchanged` when the same bytes come again (a worker retrying an
 * upload whose answer it lost); `conflict` for different bytes: a phase's artifact is written
 * once, so a leaked job URL cannot replace what the phase produced.
 */
export type StoreOnceResult = "stored" | "unchanged" | "conflict" | "not_found";

/** Thrown inside a store's transaction to roll back its blob when a concurrent first upload won. */
class StoreRaceLost extends Error {}

const sha256Of = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

async function sameBytes(tx: Tx, blobId: string, data: Buffer): Promise<boolean> {
  const blob = await tx.blob.findUnique({ where: { id: blobId }, select: { sha256: true } });
  return blob?.sha256 === sha256Of(data);
}

/** Stores a blob and points the plan's column at it, unless the column already holds one. */
async function storePlanBlobOnce(db: Db, runId: string, column: PlanBlobColumn, data: Buffer, contentType: string): Promise<StoreOnceResult> {
  return inTransaction(db, async (tx) => {
    const plan = await tx.plan.findUnique({ where: { runId }, select: { id: true, [column]: true } });
    if (!plan) return "not_found";
    const previous = (plan as Record<string, unknown>)[column];
    if (typeof previous === "string") return (await sameBytes(tx, previous, data)) ? "unchanged" : "conflict";
    const blobId = await putBlob(tx, data, contentType);
    // Compare-and-set: of two concurrent first uploads, one wins and the other rolls back.
    const set = await tx.plan.updateMany({ where: { runId, [column]: null }, data: { [column]: blobId } });
    if (set.count !== 1) throw new StoreRaceLost();
    return "stored";
  }).catch((err: unknown) => {
    if (err instanceof StoreRaceLost) return "conflict" as const;
    throw err;
  });
}

export async function storePlanFile(db: Db, runId: string, data: Buffer): Promise<StoreOnceResult> {
  return storePlanBlobOnce(db, runId, "planFileBlobId", data, "application/octet-stream");
}

export async function storePlanJson(db: Db, runId: string, data: Buffer): Promise<StoreOnceResult> {
  return storePlanBlobOnce(db, runId, "jsonBlobId", data, "application/json");
}

/** `terraform providers schema -json` of the plan's working directory (the redacted plan needs it). */
export async function storeProviderSchemas(db: Db, runId: string, data: Buffer): Promise<StoreOnceResult> {
  return storePlanBlobOnce(db, runId, "providerSchemasBlobId", data, "application/json");
}

/** The finished log of a phase (STX … ETX); the log reader serves it instead of the live Redis copy. */
export async function storePhaseLog(db: Db, runId: string, phase: JobPhase, data: Buffer): Promise<StoreOnceResult> {
  if (phase === "plan") return storePlanBlobOnce(db, runId, "logBlobId", data, "text/plain");
  return inTransaction(db, async (tx) => {
    const apply = await tx.apply.findUnique({ where: { runId }, select: { logBlobId: true } });
    if (!apply) return "not_found";
    if (apply.logBlobId) return (await sameBytes(tx, apply.logBlobId, data)) ? "unchanged" : "conflict";
    const blobId = await putBlob(tx, data, "text/plain");
    const set = await tx.apply.updateMany({ where: { runId, logBlobId: null }, data: { logBlobId: blobId } });
    if (set.count !== 1) throw new StoreRaceLost();
    return "stored";
  }).catch((err: unknown) => {
    if (err instanceof StoreRaceLost) return "conflict" as const;
    throw err;
  });
}

export type StoreAppliedStateResult =
  | { ok: true; stateVersionId: string; created: boolean }
  | { ok: false; reason: "not_found" | "not_applying" | "already_uploaded" };

/**
 * The state an apply produced, accepted while the apply phase lives (a canceled apply still
 * must write it: terraform saves what it did before stopping) and once per apply: a retried
 * upload of the same bytes returns the recorded version, other bytes are refused. An
 * unreadable state is a 422 and a serial already used by other bytes a 409 (TarmacErrors from
 * createStateVersion).
 */
export async function storeAppliedState(db: Db, runId: string, state: Buffer): Promise<StoreAppliedStateResult> {
  return inTransaction(db, async (tx) => {
    const run = await tx.run.findUnique({
      where: { id: runId },
      select: { workspaceId: true, status: true, createdById: true, confirmedById: true, apply: { select: { status: true } } },
    });
    if (!run) return { ok: false, reason: "not_found" };
    if (!isJobPhaseLive("apply", run.status, run.apply?.status)) return { ok: false, reason: "not_applying" };
    const earlier = await tx.stateVersion.findFirst({ where: { runId }, select: { stateBlobId: true } });
    if (earlier && !(earlier.stateBlobId !== null && (await sameBytes(tx, earlier.stateBlobId, state)))) {
      return { ok: false, reason: "already_uploaded" };
    }
    const sv = await createStateVersion(tx, {
      workspaceId: run.workspaceId,
      runId,
      state,
      createdById: run.confirmedById ?? run.createdById,
    });
    return { ok: true, stateVersionId: sv.id, created: sv.created };
  });
}
