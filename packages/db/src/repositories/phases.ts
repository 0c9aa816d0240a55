import { phaseTimestampKey, type PhaseStatus, type Phase } from "@tarmac/domain";
import type { Db, Tx } from "../client";
import { getBlob } from "../blobs";
import { newId } from "@tarmac/domain";
import { statusTimestampValue } from "../runs";

/**
 * Plan and apply phase rows as the scheduler records worker progress. Each write is a
 * compare-and-set on the phase status, so a repeated or late progress event is a no-op.
 */

export type PhaseName = Phase;

export interface PhaseCounts {
  resourceAdditions?: number;
  resourceChanges?: number;
  resourceDestructions?: number;
  resourceImports?: number;
}

function table(phase: PhaseName): "plans" | "applies" {
  return phase === "plan" ? "plans" : "applies";
}

function stampJson(status: PhaseStatus, at: Date, extra: Record<string, string> = {}): string {
  return JSON.stringify({ [phaseTimestampKey(status)]: statusTimestampValue(at), ...extra });
}

/** pending/queued → queued (the job was enqueued). */
export async function markPhaseQueued(tx: Tx, phase: PhaseName, runId: string, at: Date): Promise<boolean> {
  const changed = await tx.$executeRawUnsafe(
    `UPDATE ${table(phase)} SET status = 'queued', status_timestamps = status_timestamps || $1::jsonb, updated_at = $2
     WHERE run_id = $3 AND status IN ('pending', 'managed_queued')`,
    stampJson("queued", at),
    at,
    runId,
  );
  return changed === 1;
}

/** → running, with the worker and the first heartbeat. */
export async function markPhaseRunning(tx: Tx, phase: PhaseName, runId: string, input: { workerId: string; at: Date }): Promise<boolean> {
  const changed = await tx.$executeRawUnsafe(
    `UPDATE ${table(phase)} SET status = 'running', status_timestamps = status_timestamps || $1::jsonb,
       worker_id = $2, heartbeat_at = $3, started_at = COALESCE(started_at, $3), updated_at = $3
     WHERE run_id = $4 AND status IN ('pending', 'managed_queued', 'queued')`,
    stampJson("running", input.at),
    input.workerId,
    input.at,
    runId,
  );
  return changed === 1;
}

/** A heartbeat of a running phase; ignored once the phase ended. */
export async function recordHeartbeat(tx: Tx | Db, phase: PhaseName, runId: string, at: Date): Promise<boolean> {
  const changed = await tx.$executeRawUnsafe(
    `UPDATE ${table(phase)} SET heartbeat_at = GREATEST(COALESCE(heartbeat_at, $1), $1) WHERE run_id = $2 AND status = 'running'`,
    at,
    runId,
  );
  return changed === 1;
}

/** running (or not yet started) → a final phase status, with the resource counts when finished. */
export async function finishPhase(
  tx: Tx,
  phase: PhaseName,
  runId: string,
  input: { status: "finished" | "errored" | "canceled"; at: Date; counts?: PhaseCounts; hasChanges?: boolean; forced?: boolean },
): Promise<boolean> {
  const c = input.counts ?? {};
  const extra: Record<string, string> = input.forced ? { "force-canceled-at": statusTimestampValue(input.at) } : {};
  const changed = await tx.$executeRawUnsafe(
    `UPDATE ${table(phase)} SET status = $1::"PhaseStatus", status_timestamps = status_timestamps || $2::jsonb,
       finished_at = $3, updated_at = $3,
       resource_additions = COALESCE($4, resource_additions), resource_changes = COALESCE($5, resource_changes),
       resource_destructions = COALESCE($6, resource_destructions), resource_imports = COALESCE($7, resource_imports)
     WHERE run_id = $8 AND status IN ('pending', 'managed_queued', 'queued', 'running')`,
    input.status,
    stampJson(input.status, input.at, extra),
    input.at,
    c.resourceAdditions ?? null,
    c.resourceChanges ?? null,
    c.resourceDestructions ?? null,
    c.resourceImports ?? null,
    runId,
  );
  if (changed === 1 && phase === "plan" && input.hasChanges !== undefined) {
    await tx.plan.update({ where: { runId }, data: { hasChanges: input.hasChanges } });
  }
  return changed === 1;
}

export async function findPhase(db: Db | Tx, phase: PhaseName, runId: string) {
  const select = { id: true, status: true, heartbeatAt: true, startedAt: true, workerId: true } as const;
  return phase === "plan" ? db.plan.findUnique({ where: { runId }, select }) : db.apply.findUnique({ where: { runId }, select });
}

export interface StalePhase {
  runId: string;
  phase: PhaseName;
  workspaceId: string;
  reason: "heartbeat" | "timeout";
}

/**
 * Running phases whose worker stopped heartbeating before `heartbeatBefore`, or which started
 * before their phase's timeout cutoff.
 */
export async function listStalePhases(
  db: Db | Tx,
  input: { heartbeatBefore: Date; planStartedBefore: Date; applyStartedBefore: Date; limit: number },
): Promise<StalePhase[]> {
  const out: StalePhase[] = [];
  for (const phase of ["plan", "apply"] as const) {
    const startedBefore = phase === "plan" ? input.planStartedBefore : input.applyStartedBefore;
    const rows = await db.$queryRawUnsafe<{ run_id: string; workspace_id: string; timed_out: boolean }[]>(
      `SELECT p.run_id, r.workspace_id, (p.started_at < $2) AS timed_out FROM ${table(phase)} p JOIN runs r ON r.id = p.run_id
       WHERE p.status = 'running' AND (COALESCE(p.heartbeat_at, p.started_at, p.updated_at) < $1 OR p.started_at < $2)
       LIMIT $3`,
      input.heartbeatBefore,
      startedBefore,
      input.limit,
    );
    for (const r of rows) out.push({ runId: r.run_id, phase, workspaceId: r.workspace_id, reason: r.timed_out ? "timeout" : "heartbeat" });
  }
  return out;
}

/** The JSON plan (`terraform show -json`) the worker uploaded, or null. */
export async function readPlanJson(db: Db | Tx, runId: string): Promise<Buffer | null> {
  const plan = await db.plan.findUnique({ where: { runId }, select: { jsonBlobId: true } });
  return plan?.jsonBlobId ? ((await getBlob(db, plan.jsonBlobId))?.data ?? null) : null;
}

export interface CostEstimateResult {
  status: "finished" | "errored" | "skipped_due_to_targeting";
  matchedResourcesCount: number;
  unmatchedResourcesCount: number;
  resourcesCount: number;
  priorMonthlyCost: string;
  proposedMonthlyCost: string;
  deltaMonthlyCost: string;
  errorMessage?: string | null;
}

/** Creates or replaces the run's cost estimate (one per run). */
export async function saveCostEstimate(tx: Tx, runId: string, result: CostEstimateResult, at: Date): Promise<string> {
  const stamp = statusTimestampValue(at);
  const timestamps = { "queued-at": stamp, [`${result.status.replace(/_/g, "-")}-at`]: stamp };
  const data = { ...result, errorMessage: result.errorMessage ?? null, statusTimestamps: timestamps };
  const row = await tx.costEstimate.upsert({
    where: { runId },
    create: { id: newId("ce"), runId, ...data },
    update: data,
    select: { id: true },
  });
  return row.id;
}

export async function findCostEstimate(db: Db | Tx, runId: string) {
  return db.costEstimate.findUnique({ where: { runId } });
}
