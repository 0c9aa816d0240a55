import type { Subjects } from "@tarmac/contracts";
import { PHASE_QUEUED_STATUS, PHASE_RUNNING_STATUS, phaseTimestampKey, statusTimestampKey, type PhaseStatus, type Phase } from "@tarmac/domain";
import { executeRows, queryRows, type Db, type Tx } from "../client";
import { Prisma } from "../generated/prisma/client";
import { asBuffer } from "../blobs";
import { newId } from "@tarmac/domain";
import { outboxChannel } from "../outbox-claims";
import { runStatusChangedMessage } from "../outbox-messages";
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

/** The phase's table for the statements sent past Prisma (executeRows). */
function tableSql(phase: PhaseName): Prisma.Sql {
  return Prisma.raw(table(phase));
}

function stampJson(status: PhaseStatus, at: Date, extra: Record<string, string> = {}): string {
  return JSON.stringify({ [phaseTimestampKey(status)]: statusTimestampValue(at), ...extra });
}

/** → running, with the worker and the first heartbeat. */
export async function markPhaseRunning(tx: Tx, phase: PhaseName, runId: string, input: { workerId: string; at: Date }): Promise<boolean> {
  return (await executeRows(tx, markRunningSql(phase, runId, input.workerId, input.at))) === 1;
}

/** The phase's row → running with its worker and first heartbeat; `from` joins the moved run in a CTE. */
function markRunningSql(phase: PhaseName, runId: string, workerId: string, at: Date, from: Prisma.Sql = Prisma.empty): Prisma.Sql {
  return Prisma.sql`UPDATE ${tableSql(phase)} p SET status = 'running', status_timestamps = p.status_timestamps || ${stampJson("running", at)}::jsonb,
       worker_id = ${workerId}, heartbeat_at = ${at}, started_at = COALESCE(p.started_at, ${at}), updated_at = ${at}
     ${from} WHERE p.run_id = ${runId} AND p.status IN ('pending', 'managed_queued', 'queued')`;
}

export interface QueuedPhaseStart {
  runId: string;
  phase: PhaseName;
  workerId: string;
  /** When the worker started the phase (the phase's started-at and first heartbeat). */
  startedAt: Date;
  /** The run's status change time. */
  at: Date;
  subjects: Subjects;
  /** Trace context carried into the status event. */
  headers?: Record<string, string>;
}

/**
 * A worker started a phase whose run waits in the phase's queued status: the run's queued →
 * running compare-and-set with its outbox event and the relays' NOTIFY, and the phase's →
 * running with its worker, as one statement that commits on its own. It takes the workspace's
 * row lock first, as every scheduling decision does (DESIGN invariant 2): a decision holding
 * the lock (a cancel) is waited for, and the compare-and-set then sees what it committed. One
 * round trip where a transaction with the same effect takes six. Null, with nothing written,
 * when the run is not in that queued status (a repeated or late event, a run canceled or moved
 * on meanwhile): the caller then decides under the lock as for any event.
 */
export async function startQueuedPhase(db: Db | Tx, input: QueuedPhaseStart): Promise<{ workspaceId: string; organizationId: string } | null> {
  const { runId, phase } = input;
  const from = PHASE_QUEUED_STATUS[phase];
  const to = PHASE_RUNNING_STATUS[phase];
  const stamp = JSON.stringify({ [statusTimestampKey(to)]: statusTimestampValue(input.at) });
  // The owner comes from the moved row (a run never changes workspace or organization).
  const message = runStatusChangedMessage(input.subjects, { id: runId, workspaceId: "", organizationId: "" }, from, to, input.at, input.headers);
  const [moved] = await queryRows<{ workspaceId: string; organizationId: string }>(
    db,
    Prisma.sql`WITH ws AS (
      SELECT w.id FROM runs r JOIN workspaces w ON w.id = r.workspace_id WHERE r.id = ${runId} FOR UPDATE OF w
    ), moved AS (
      UPDATE runs r SET status = ${to}::"RunStatus",
        status_timestamps = r.status_timestamps || ${stamp}::jsonb,
        status_changed_at = ${input.at}, updated_at = ${input.at}
      FROM ws WHERE r.id = ${runId} AND r.workspace_id = ws.id AND r.status = ${from}::"RunStatus"
      RETURNING r.workspace_id, r.organization_id
    ), written AS (
      INSERT INTO outbox_events (msg_id, subject, payload, headers)
      SELECT ${message.msgId}, ${message.subject},
        ${JSON.stringify(message.payload)}::jsonb || jsonb_build_object('workspaceId', workspace_id, 'organizationId', organization_id),
        ${JSON.stringify(message.headers ?? {})}::jsonb
      FROM moved
      ON CONFLICT (msg_id) DO NOTHING
    ), running AS (${markRunningSql(phase, runId, input.workerId, input.startedAt, Prisma.sql`FROM moved`)})
    SELECT workspace_id AS "workspaceId", organization_id AS "organizationId", pg_notify(${outboxChannel(message.subject)}, '')::text AS notified FROM moved`,
    // Every phase a worker starts: parsed and planned once per connection (one text per table).
    { prepareAs: `tarmac_start_queued_${phase}` },
  );
  return moved ? { workspaceId: moved.workspaceId, organizationId: moved.organizationId } : null;
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
  input: {
    status: "finished" | "errored" | "canceled";
    at: Date;
    counts?: PhaseCounts;
    hasChanges?: boolean;
    forced?: boolean;
    /**
     * The worker that ran the phase, when it reported the end: a phase still recorded as queued
     * (its `started` was lost) gets what markPhaseRunning writes (running stamp, worker, start,
     * heartbeat) in the same statement, so a worker's end costs one round trip, not two.
     */
    startedBy?: string;
  },
): Promise<boolean> {
  const c = input.counts ?? {};
  const extra: Record<string, string> = input.forced ? { "force-canceled-at": statusTimestampValue(input.at) } : {};
  // The plan's has-changes lands in the same compare-and-set statement as its status.
  const hasChanges = phase === "plan" && input.hasChanges !== undefined ? Prisma.sql`, has_changes = ${input.hasChanges}` : Prisma.empty;
  // In SET, `status` is the row's status before this update.
  const started =
    input.startedBy === undefined
      ? { stamp: Prisma.empty, columns: Prisma.empty }
      : {
          stamp: Prisma.sql`|| CASE WHEN status IN ('pending', 'managed_queued', 'queued') THEN ${stampJson("running", input.at)}::jsonb ELSE '{}'::jsonb END`,
          columns: Prisma.sql`, worker_id = CASE WHEN status IN ('pending', 'managed_queued', 'queued') THEN ${input.startedBy} ELSE worker_id END,
       heartbeat_at = CASE WHEN status IN ('pending', 'managed_queued', 'queued') THEN ${input.at} ELSE heartbeat_at END,
       started_at = CASE WHEN status IN ('pending', 'managed_queued', 'queued') THEN COALESCE(started_at, ${input.at}) ELSE started_at END`,
        };
  const changed = await executeRows(
    tx,
    Prisma.sql`UPDATE ${tableSql(phase)} SET status = ${input.status}::"PhaseStatus",
       status_timestamps = status_timestamps ${started.stamp} || ${stampJson(input.status, input.at, extra)}::jsonb${started.columns},
       finished_at = ${input.at}, updated_at = ${input.at},
       resource_additions = COALESCE(${c.resourceAdditions ?? null}::int, resource_additions), resource_changes = COALESCE(${c.resourceChanges ?? null}::int, resource_changes),
       resource_destructions = COALESCE(${c.resourceDestructions ?? null}::int, resource_destructions), resource_imports = COALESCE(${c.resourceImports ?? null}::int, resource_imports)${hasChanges}
     WHERE run_id = ${runId} AND status IN ('pending', 'managed_queued', 'queued', 'running')`,
  );
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
  // Every plan's cost estimate reads it: one statement, past Prisma.
  const [row] = await queryRows<{ data: Uint8Array }>(db, Prisma.sql`SELECT b.data FROM plans p JOIN blobs b ON b.id = p.json_blob_id WHERE p.run_id = ${runId}`);
  return row ? asBuffer(row.data) : null;
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
  // Once per plan of an organization with cost estimation: past Prisma's query compiler.
  const [row] = await queryRows<{ id: string }>(
    tx,
    Prisma.sql`INSERT INTO cost_estimates AS ce (id, run_id, status, status_timestamps, matched_resources_count, unmatched_resources_count,
        resources_count, prior_monthly_cost, proposed_monthly_cost, delta_monthly_cost, error_message, created_at, updated_at)
      VALUES (${newId("ce")}, ${runId}, ${result.status}::"CostEstimateStatus", ${JSON.stringify(timestamps)}::jsonb, ${result.matchedResourcesCount},
        ${result.unmatchedResourcesCount}, ${result.resourcesCount}, ${result.priorMonthlyCost}, ${result.proposedMonthlyCost},
        ${result.deltaMonthlyCost}, ${result.errorMessage ?? null}, ${at}, ${at})
      ON CONFLICT (run_id) DO UPDATE SET status = EXCLUDED.status, status_timestamps = EXCLUDED.status_timestamps,
        matched_resources_count = EXCLUDED.matched_resources_count, unmatched_resources_count = EXCLUDED.unmatched_resources_count,
        resources_count = EXCLUDED.resources_count, prior_monthly_cost = EXCLUDED.prior_monthly_cost,
        proposed_monthly_cost = EXCLUDED.proposed_monthly_cost, delta_monthly_cost = EXCLUDED.delta_monthly_cost,
        error_message = EXCLUDED.error_message, updated_at = EXCLUDED.updated_at
      RETURNING ce.id`,
  );
  return row!.id;
}

export async function findCostEstimate(db: Db | Tx, runId: string) {
  return db.costEstimate.findUnique({ where: { runId } });
}
