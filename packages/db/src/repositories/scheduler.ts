import { accessFromTeamStandings, canApplyRuns, CAPACITY_STATUSES, FINAL_STATUSES, PHASE_QUEUED_STATUSES, type QueueFacts, type RunStatus } from "@tarmac/domain";
import { executeRows, queryRows, type Db, type Tx } from "../client";
import { statusLiterals } from "./status-literals";
import { teamStandingsOnWorkspace } from "./workspace-access";
import { Prisma } from "../generated/prisma/client";

/**
 * The scheduler's reads and small writes around the workspace queue. Run statuses
 * change only through transitionRun; everything here is called inside a transaction
 * that already holds the workspace's row lock (lockWorkspaceForUpdate).
 */

const schedulingRunSelect = {
  id: true,
  seq: true,
  status: true,
  statusChangedAt: true,
  organizationId: true,
  workspaceId: true,
  source: true,
  planOnly: true,
  savePlan: true,
  autoApply: true,
  allowEmptyApply: true,
  hasChanges: true,
  refreshOnly: true,
  isDestroy: true,
  createdById: true,
  cancelRequestedAt: true,
  forceCancelAvailableAt: true,
  configurationVersion: { select: { id: true, status: true } },
} satisfies Prisma.RunSelect;

export type SchedulingRun = Prisma.RunGetPayload<{ select: typeof schedulingRunSelect }> & {
  /**
   * False when the run has no task stage and its workspace no enabled run task, as read with the
   * run (under the workspace's lock): no stage can start or needs settling, and the scheduler
   * skips asking. Undefined when not read (a run loaded through Prisma): ask.
   */
  taskStagesPossible?: boolean;
  /**
   * Whether the run's workspace sends its phases to an agent pool, as read with the run: false
   * lets an enqueue go to the worker queue without asking again. Undefined when not read: ask.
   */
  agentMode?: boolean;
};

/**
 * schedulingRunSelect as SQL: the scheduler's statements on the path from one run's end to the
 * next run's start go past Prisma's query compiler (queryRows; on the transaction's own
 * connection inside inTransaction), returning what the Prisma select returns. The hot ones are
 * prepared once per connection (queryRows' prepareAs: each name always goes with one text).
 */
const SCHEDULING_RUN_COLUMNS = Prisma.sql`r.id, r.seq, r.status::text AS status, r.status_changed_at AS "statusChangedAt",
  r.organization_id AS "organizationId", r.workspace_id AS "workspaceId", r.source, r.plan_only AS "planOnly",
  r.save_plan AS "savePlan", r.auto_apply AS "autoApply", r.allow_empty_apply AS "allowEmptyApply",
  r.has_changes AS "hasChanges", r.refresh_only AS "refreshOnly", r.is_destroy AS "isDestroy",
  r.created_by_id AS "createdById", r.cancel_requested_at AS "cancelRequestedAt",
  r.force_cancel_available_at AS "forceCancelAvailableAt",
  json_build_object('id', cv.id, 'status', cv.status) AS "configurationVersion",
  (EXISTS (SELECT 1 FROM task_stages s WHERE s.run_id = r.id)
    OR EXISTS (SELECT 1 FROM workspace_run_tasks wrt JOIN run_tasks t ON t.id = wrt.task_id
               WHERE wrt.workspace_id = r.workspace_id AND t.enabled)) AS "taskStagesPossible",
  (SELECT w.execution_mode = 'agent' FROM workspaces w WHERE w.id = r.workspace_id) AS "agentMode"`;
const SCHEDULING_RUN_FROM = Prisma.sql`runs r JOIN configuration_versions cv ON cv.id = r.configuration_version_id`;

/** A run of alias `r` waiting for its workspace: pending, or a confirmed saved plan waiting to apply. */
const WAITING_RUN = Prisma.sql`(r.status = 'pending' OR (r.status = 'confirmed' AND r.save_plan AND NOT r.plan_only))`;

/** The workspace's current run (alias `c`) as QueueFacts, or null when there is none or it is `runId`. */
const otherCurrentRun = (runId: Prisma.Sql) => Prisma.sql`CASE WHEN c.id IS NULL OR c.id = ${runId} THEN NULL
  ELSE json_build_object('status', c.status, 'planOnly', c.plan_only, 'savePlan', c.save_plan) END AS "otherCurrentRun"`;

export async function findSchedulingRun(db: Db | Tx, runId: string): Promise<SchedulingRun | null> {
  const rows = await queryRows<SchedulingRun>(db, Prisma.sql`SELECT ${SCHEDULING_RUN_COLUMNS} FROM ${SCHEDULING_RUN_FROM} WHERE r.id = ${runId}`, { prepareAs: "tarmac_scheduling_run" });
  return rows[0] ?? null;
}

export interface SchedulingWorkspace {
  id: string;
  organizationId: string;
  locked: boolean;
  autoApply: boolean;
  currentRunId: string | null;
  currentRun: { id: string; status: SchedulingRun["status"]; planOnly: boolean; savePlan: boolean } | null;
}

export async function findSchedulingWorkspace(db: Db | Tx, workspaceId: string): Promise<SchedulingWorkspace | null> {
  const rows = await queryRows<SchedulingWorkspace>(
    db,
    Prisma.sql`SELECT w.id, w.organization_id AS "organizationId", w.locked, w.auto_apply AS "autoApply",
      w.current_run_id AS "currentRunId",
      CASE WHEN c.id IS NULL THEN NULL
        ELSE json_build_object('id', c.id, 'status', c.status, 'planOnly', c.plan_only, 'savePlan', c.save_plan) END AS "currentRun"
    FROM workspaces w LEFT JOIN runs c ON c.id = w.current_run_id WHERE w.id = ${workspaceId}`,
    { prepareAs: "tarmac_scheduling_workspace" },
  );
  return rows[0] ?? null;
}

/**
 * Runs of a workspace waiting to start, oldest first: pending runs of every kind, and
 * saved plans that were confirmed and now wait for the workspace to apply.
 */
export async function listWaitingRuns(tx: Tx, workspaceId: string): Promise<SchedulingRun[]> {
  return queryRows<SchedulingRun>(
    tx,
    Prisma.sql`SELECT ${SCHEDULING_RUN_COLUMNS} FROM ${SCHEDULING_RUN_FROM}
    WHERE r.workspace_id = ${workspaceId} AND ${WAITING_RUN}
    ORDER BY r.seq`,
    { prepareAs: "tarmac_waiting_runs" },
  );
}

/**
 * What listWaitingRuns returns that matters while the workspace is held or locked, oldest
 * first: the pending runs that bypass the queue (plan-only, saved plans), and the first pending
 * run that does not (HCP shows it as the current run of a locked workspace). The rest wait, and
 * reading them all would cost every event a read of the whole queue. Both parts read partial
 * indexes of pending runs (migration 20261201_0900_runs_pending_index); the head stops at the first.
 */
export async function listWaitingRunsWhileBlocked(tx: Tx, workspaceId: string): Promise<SchedulingRun[]> {
  return queryRows<SchedulingRun>(
    tx,
    Prisma.sql`(SELECT ${SCHEDULING_RUN_COLUMNS} FROM ${SCHEDULING_RUN_FROM}
      WHERE r.workspace_id = ${workspaceId} AND r.status = 'pending' AND (r.plan_only OR r.save_plan))
    UNION ALL
    (SELECT ${SCHEDULING_RUN_COLUMNS} FROM ${SCHEDULING_RUN_FROM}
      WHERE r.id = (SELECT h.id FROM runs h WHERE h.workspace_id = ${workspaceId} AND h.status = 'pending'
                    AND NOT h.plan_only AND NOT h.save_plan ORDER BY h.seq LIMIT 1))
    ORDER BY seq`,
    { prepareAs: "tarmac_waiting_runs_while_blocked" },
  );
}

/** HCP's current-run: the run that holds (or last held) the workspace. */
export async function setCurrentRun(tx: Tx, workspaceId: string, runId: string): Promise<void> {
  // current_run_id is unique; a run is only ever current in its own workspace.
  await executeRows(tx, Prisma.sql`UPDATE workspaces SET current_run_id = ${runId}, updated_at = ${new Date()} WHERE id = ${workspaceId}`);
}

export interface OrganizationSettings {
  id: string;
  runConcurrency: number;
  costEstimationEnabled: boolean;
}

export async function findOrganizationSettings(db: Db | Tx, organizationId: string): Promise<OrganizationSettings | null> {
  const rows = await queryRows<OrganizationSettings>(
    db,
    Prisma.sql`SELECT id, run_concurrency AS "runConcurrency", cost_estimation_enabled AS "costEstimationEnabled"
    FROM organizations WHERE id = ${organizationId}`,
  );
  return rows[0] ?? null;
}

/**
 * Serializes capacity decisions of one organization for the rest of the transaction, so two
 * scheduler replicas starting runs in different workspaces cannot both take the last slot, and
 * returns the organization's settings, read as the lock is taken (one round trip; nothing else
 * about them is serialized by the lock). Always taken after a workspace lock, never before one
 * (lock order: workspace, then organization).
 */
export async function lockOrganizationCapacity(tx: Tx, organizationId: string): Promise<OrganizationSettings | null> {
  const rows = await queryRows<OrganizationSettings & { locked: string }>(
    tx,
    Prisma.sql`SELECT pg_advisory_xact_lock(hashtextextended(${`tarmac-org-capacity:${organizationId}`}, 0))::text AS locked,
      o.id, o.run_concurrency AS "runConcurrency", o.cost_estimation_enabled AS "costEstimationEnabled"
    FROM (SELECT 1) AS one LEFT JOIN organizations o ON o.id = ${organizationId}`,
    { prepareAs: "tarmac_lock_organization_capacity" },
  );
  const row = rows[0];
  return row?.id ? { id: row.id, runConcurrency: row.runConcurrency, costEstimationEnabled: row.costEstimationEnabled } : null;
}

export async function countRunsUsingCapacity(db: Db | Tx, organizationId: string): Promise<number> {
  const rows = await queryRows<{ n: number }>(
    db,
    Prisma.sql`SELECT count(*)::int AS n FROM runs WHERE organization_id = ${organizationId} AND status = ANY(${[...CAPACITY_STATUSES]}::"RunStatus"[])`,
    { prepareAs: "tarmac_runs_using_capacity" },
  );
  return rows[0]?.n ?? 0;
}

/**
 * Locks up to `limit` runs waiting in `queuing` for a free slot of their organization, oldest
 * first. SKIP LOCKED: a run another transaction is changing (a cancel) is left to it.
 */
export async function lockQueuingRuns(tx: Tx, organizationId: string, limit: number): Promise<SchedulingRun[]> {
  if (limit <= 0) return [];
  return queryRows<SchedulingRun>(
    tx,
    Prisma.sql`SELECT ${SCHEDULING_RUN_COLUMNS} FROM ${SCHEDULING_RUN_FROM}
    WHERE r.organization_id = ${organizationId} AND r.status = 'queuing'
    ORDER BY r.seq LIMIT ${limit} FOR UPDATE OF r SKIP LOCKED`,
    { prepareAs: "tarmac_lock_queuing_runs" },
  );
}

/** Whether the organization has a run waiting in `queuing` (runs_organization_id_status_seq_idx). */
export async function hasQueuingRuns(db: Db | Tx, organizationId: string): Promise<boolean> {
  const rows = await queryRows<{ queuing: boolean }>(
    db,
    Prisma.sql`SELECT EXISTS (SELECT 1 FROM runs WHERE organization_id = ${organizationId} AND status = 'queuing') AS queuing`,
    { prepareAs: "tarmac_has_queuing_runs" },
  );
  return rows[0]?.queuing === true;
}

/** Organizations having runs waiting in `queuing`. */
export async function listOrganizationsWithQueuingRuns(db: Db | Tx): Promise<string[]> {
  const rows = await queryRows<{ organizationId: string }>(
    db,
    Prisma.sql`SELECT DISTINCT organization_id AS "organizationId" FROM runs WHERE status = ${statusLiterals(["queuing"])}`,
  );
  return rows.map((r) => r.organizationId);
}

/**
 * Whether whoever queued the run may apply it (auto-apply needs it, tfe-client-notes §7.2):
 * a site admin, a member of the owners team, or a member of a team with write or admin
 * access to the workspace.
 */
export async function canUserApply(db: Db | Tx, userId: string, workspaceId: string, organizationId: string): Promise<boolean> {
  const [user] = await queryRows<{ isSiteAdmin: boolean }>(db, Prisma.sql`SELECT is_site_admin AS "isSiteAdmin" FROM users WHERE id = ${userId}`);
  if (!user) return false;
  if (user.isSiteAdmin) return true;
  // The same standing and rule as the gateway's can-apply: owners, manage-workspaces teams, and
  // write or admin grants on the workspace or its project.
  const teams = await teamStandingsOnWorkspace(db, { userId }, organizationId, workspaceId);
  return canApplyRuns(accessFromTeamStandings(teams));
}

/** Where a new run stands in its workspace's queue, read without the workspace's lock. */
export interface NewRunQueueFacts {
  run: QueueFacts;
  locked: boolean;
  /** The workspace's current run, when it is not this run. */
  otherCurrentRun: QueueFacts | null;
  /** A pending run that does not bypass the queue was created before it (the queue's head is another run). */
  queuedBehind: boolean;
}

/**
 * Where new runs stand in their workspaces' queues (NewRunQueueFacts), several in one statement
 * (runs missing from the map do not exist): the scheduler reads the runs of a burst of
 * run.created events together.
 */
export async function findNewRunQueueFactsOfRuns(db: Db | Tx, runIds: readonly string[]): Promise<Map<string, NewRunQueueFacts>> {
  const rows = await queryRows<NewRunQueueFacts & { id: string }>(
    db,
    Prisma.sql`SELECT r.id, json_build_object('status', r.status, 'planOnly', r.plan_only, 'savePlan', r.save_plan) AS run,
      w.locked,
      ${otherCurrentRun(Prisma.sql`r.id`)},
      EXISTS (SELECT 1 FROM runs h WHERE h.workspace_id = r.workspace_id AND h.status = 'pending'
              AND NOT h.plan_only AND NOT h.save_plan AND h.seq < r.seq) AS "queuedBehind"
    FROM runs r JOIN workspaces w ON w.id = r.workspace_id LEFT JOIN runs c ON c.id = w.current_run_id
    WHERE r.id = ANY(${[...runIds]}::text[])`,
    { prepareAs: "tarmac_new_run_queue_facts_of_runs" },
  );
  return new Map(rows.map(({ id, ...facts }) => [id, facts]));
}

/** What is left to do about a run that ended, as far as its workspace's queue is concerned. */
export interface EndedRunState {
  /** Phases not yet settled, task stages still open, or (after an apply) saved plans it made stale. */
  unsettled: boolean;
  /** Runs waiting for the workspace (pending, or confirmed saved plans), and whether one bypasses the queue. */
  waiting: boolean;
  waitingBypass: boolean;
  /** The workspace's current run, when it is not the ended run. */
  otherCurrentRun: QueueFacts | null;
}

/**
 * One read, without the workspace's lock, of whether releasing an ended run's workspace still
 * has anything to decide; the transaction that ended it normally did all of it.
 */
export async function findEndedRunState(
  db: Db | Tx,
  run: { id: string; workspaceId: string; status: string },
): Promise<EndedRunState | null> {
  const phaseStatuses = ["pending", "managed_queued", "queued", ...(run.status === "force_canceled" ? ["running"] : [])];
  const rows = await queryRows<EndedRunState>(
    db,
    Prisma.sql`SELECT
      EXISTS (SELECT 1 FROM plans WHERE run_id = ${run.id} AND status::text = ANY(${phaseStatuses}::text[]))
        OR EXISTS (SELECT 1 FROM applies WHERE run_id = ${run.id} AND status::text = ANY(${phaseStatuses}::text[]))
        OR EXISTS (SELECT 1 FROM task_stages WHERE run_id = ${run.id} AND status IN ('pending', 'running', 'awaiting_override'))
        OR (${run.status === "applied"} AND EXISTS (SELECT 1 FROM runs WHERE workspace_id = ${run.workspaceId} AND status = 'planned_and_saved'))
        AS unsettled,
      EXISTS (SELECT 1 FROM runs r WHERE r.workspace_id = ${run.workspaceId} AND ${WAITING_RUN}) AS waiting,
      EXISTS (SELECT 1 FROM runs r WHERE r.workspace_id = ${run.workspaceId} AND ${WAITING_RUN} AND (r.plan_only OR r.save_plan)) AS "waitingBypass",
      ${otherCurrentRun(Prisma.sql`${run.id}`)}
    FROM workspaces w LEFT JOIN runs c ON c.id = w.current_run_id WHERE w.id = ${run.workspaceId}`,
    { prepareAs: "tarmac_ended_run_state" },
  );
  return rows[0] ?? null;
}

/** Saved plans of a workspace still waiting for confirmation (stale once another apply lands). */
export async function listSavedPlanRuns(tx: Tx, workspaceId: string): Promise<{ id: string }[]> {
  return queryRows<{ id: string }>(tx, Prisma.sql`SELECT id FROM runs WHERE workspace_id = ${workspaceId} AND status = 'planned_and_saved'`);
}

/**
 * One scheduler replica reconciles at a time: a transaction-scoped advisory lock,
 * released when the reconcile transaction ends. False when another replica holds it.
 */
export async function tryReconcileLock(tx: Tx, name = "tarmac-reconcile"): Promise<boolean> {
  const rows = await tx.$queryRaw<{ locked: boolean }[]>`SELECT pg_try_advisory_xact_lock(hashtextextended(${name}, 0)) AS locked`;
  return rows[0]?.locked === true;
}

/** Runs sitting in a queued status (their BullMQ job may be gone), oldest first. */
export async function listQueuedRuns(db: Db | Tx, limit: number): Promise<{ id: string; status: RunStatus; workspaceId: string; statusChangedAt: Date }[]> {
  return queryRows(
    db,
    Prisma.sql`SELECT id, status::text AS status, workspace_id AS "workspaceId", status_changed_at AS "statusChangedAt" FROM runs
    WHERE status IN (${statusLiterals(PHASE_QUEUED_STATUSES)}) ORDER BY status_changed_at LIMIT ${limit}`,
  );
}

/**
 * Runs resting in a status the scheduler itself must move on from (confirmed normal runs,
 * cost estimation), for the case where the event that should have moved them was lost.
 */
export async function listRunsNeedingDrive(db: Db | Tx, before: Date, limit: number): Promise<{ id: string; workspaceId: string }[]> {
  return queryRows(
    db,
    Prisma.sql`SELECT id, workspace_id AS "workspaceId" FROM runs
    WHERE ((status = ${statusLiterals(["confirmed"])} AND NOT save_plan) OR status = ${statusLiterals(["cost_estimating"])})
      AND status_changed_at < ${before}
    LIMIT ${limit}`,
  );
}

/** The run of alias `c`, a workspace's current run if any, does not hold it (holdsWorkspace, negated). */
const CURRENT_RUN_RELEASED = Prisma.raw(`(c.id IS NULL OR c.status IN
  (${["pending", ...FINAL_STATUSES, "planned_and_saved"].map((s) => `'${s}'`).join(", ")})
  OR c.plan_only OR (c.save_plan AND c.status NOT IN ('confirmed', 'apply_queued', 'applying')))`);

/**
 * Workspaces whose next run could start but has not. Only runs waiting since before
 * `waitingSince`: a newer run's own event is still on its way and starts it (continuing the
 * trace of the request that created it). Three parts:
 * - the head of each queue (its oldest pending run that does not bypass it), when no run holds
 *   the workspace and either no user locked it or the head does not show as its current run yet
 *   (behind a lock the head waits, however long the queue: reading it again every round would
 *   cost the reconcile loop the whole queue of every locked workspace). The workspaces with
 *   pending runs are found by skipping through the pending runs' partial index, one probe per
 *   workspace, not one row per run;
 * - pending runs that bypass the queue (plan-only runs, saved plans), from their own small index;
 * - confirmed saved plans waiting for an idle, unlocked workspace to apply.
 */
export async function listIdleWorkspacesWithWaitingRuns(db: Db | Tx, limit: number, waitingSince: Date = new Date()): Promise<string[]> {
  const rows = await db.$queryRaw<{ workspace_id: string }[]>`
    WITH RECURSIVE queued(workspace_id) AS (
      (SELECT workspace_id FROM runs WHERE status = 'pending' ORDER BY workspace_id LIMIT 1)
      UNION ALL
      SELECT (SELECT r.workspace_id FROM runs r WHERE r.status = 'pending' AND r.workspace_id > q.workspace_id ORDER BY r.workspace_id LIMIT 1)
      FROM queued q WHERE q.workspace_id IS NOT NULL
    )
    (SELECT w.id AS workspace_id FROM queued q
      JOIN workspaces w ON w.id = q.workspace_id
      LEFT JOIN runs c ON c.id = w.current_run_id
      CROSS JOIN LATERAL (SELECT h.id, h.status_changed_at FROM runs h
        WHERE h.workspace_id = w.id AND h.status = 'pending' AND NOT h.plan_only AND NOT h.save_plan ORDER BY h.seq LIMIT 1) head
      WHERE head.status_changed_at < ${waitingSince} AND ${CURRENT_RUN_RELEASED}
        AND (NOT w.locked OR c.id IS DISTINCT FROM head.id))
    UNION
    SELECT r.workspace_id FROM runs r
    WHERE r.status = 'pending' AND (r.plan_only OR r.save_plan) AND r.status_changed_at < ${waitingSince}
    UNION
    SELECT r.workspace_id FROM runs r
      JOIN workspaces w ON w.id = r.workspace_id
      LEFT JOIN runs c ON c.id = w.current_run_id
    WHERE r.status = 'confirmed' AND r.save_plan AND NOT r.plan_only AND r.status_changed_at < ${waitingSince}
      AND NOT w.locked AND (c.id = r.id OR ${CURRENT_RUN_RELEASED})
    LIMIT ${limit}`;
  return rows.map((r) => r.workspace_id);
}

/**
 * Whether a run of the workspace waits on this configuration version and was created before
 * its upload completed: only such a run needs the upload's event to start. A run created later
 * is started by its own run.created event.
 */
export async function hasRunWaitingForUpload(db: Db | Tx, configurationVersionId: string, uploadedAt: Date): Promise<boolean> {
  const count = await db.run.count({
    where: { configurationVersionId, status: "pending", createdAt: { lt: uploadedAt } },
  });
  return count > 0;
}
