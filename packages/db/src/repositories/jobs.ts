import { inTransaction, type Db, type Tx } from "../client";
import { deleteBlob, getBlob, putBlob } from "../blobs";
import { createStateVersion } from "./state-versions";

/**
 * What the gateway's job capability routes (`/_jobs/:runId/:secret/...`) read and write on
 * behalf of a worker, which holds no database credentials.
 */

export type JobPhase = "plan" | "apply";

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
 * Stores a blob and points the plan's column at it, dropping the blob it replaces: a worker
 * that retries an upload (or a re-run phase) leaves no orphan. False when the run has no plan.
 */
async function replacePlanBlob(db: Db, runId: string, column: PlanBlobColumn, data: Buffer, contentType: string): Promise<boolean> {
  return inTransaction(db, async (tx) => {
    const plan = await tx.plan.findUnique({ where: { runId }, select: { id: true, [column]: true } });
    if (!plan) return false;
    const previous = (plan as Record<string, unknown>)[column];
    const blobId = await putBlob(tx, data, contentType);
    await tx.plan.update({ where: { runId }, data: { [column]: blobId } });
    if (typeof previous === "string") await deleteBlob(tx, previous);
    return true;
  });
}

export async function storePlanFile(db: Db, runId: string, data: Buffer): Promise<boolean> {
  return replacePlanBlob(db, runId, "planFileBlobId", data, "application/octet-stream");
}

export async function storePlanJson(db: Db, runId: string, data: Buffer): Promise<boolean> {
  return replacePlanBlob(db, runId, "jsonBlobId", data, "application/json");
}

/** `terraform providers schema -json` of the plan's working directory (the redacted plan needs it). */
export async function storeProviderSchemas(db: Db, runId: string, data: Buffer): Promise<boolean> {
  return replacePlanBlob(db, runId, "providerSchemasBlobId", data, "application/json");
}

/** The finished log of a phase (STX … ETX); the log reader serves it instead of the live Redis copy. */
export async function storePhaseLog(db: Db, runId: string, phase: JobPhase, data: Buffer): Promise<boolean> {
  if (phase === "plan") return replacePlanBlob(db, runId, "logBlobId", data, "text/plain");
  return inTransaction(db, async (tx) => {
    const apply = await tx.apply.findUnique({ where: { runId }, select: { logBlobId: true } });
    if (!apply) return false;
    const blobId = await putBlob(tx, data, "text/plain");
    await tx.apply.update({ where: { runId }, data: { logBlobId: blobId } });
    if (apply.logBlobId) await deleteBlob(tx, apply.logBlobId);
    return true;
  });
}

const STATE_UPLOAD_STATUSES = new Set(["apply_queued", "applying", "applied", "errored", "canceled", "force_canceled"]);

export type StoreAppliedStateResult =
  | { ok: true; stateVersionId: string; created: boolean }
  | { ok: false; reason: "not_found" | "not_applying" };

/**
 * The state an apply produced. Only a run that reached its apply phase may write state (a
 * canceled or errored apply still must: terraform saves what it did before stopping). An
 * unreadable state is a 422 and a serial already used by other bytes a 409 (TarmacErrors from
 * createStateVersion); a retried upload of the same bytes returns the recorded version.
 */
export async function storeAppliedState(db: Db, runId: string, state: Buffer): Promise<StoreAppliedStateResult> {
  return inTransaction(db, async (tx) => {
    const run = await tx.run.findUnique({
      where: { id: runId },
      select: { workspaceId: true, status: true, createdById: true, confirmedById: true, apply: { select: { startedAt: true } } },
    });
    if (!run) return { ok: false, reason: "not_found" };
    // A run that ended during its apply (errored, canceled) still owes its state; one that
    // ended before any apply started has none to give.
    const applyStarted = run.apply?.startedAt != null;
    if (!STATE_UPLOAD_STATUSES.has(run.status) || (run.status !== "applying" && run.status !== "apply_queued" && !applyStarted)) {
      return { ok: false, reason: "not_applying" };
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
