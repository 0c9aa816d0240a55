import type { Subjects } from "@tarmac/contracts";
import { applyIdFor, FINAL_STATUSES, phaseTimestampKey, planIdFor, statusTimestampKey, type RunStatus } from "@tarmac/domain";
import { executeRows, isDb, queryRows, type Db, type Tx } from "../client";
import { Prisma } from "../generated/prisma/client";
import type { RunModel } from "../generated/prisma/models";
import { enqueueOutbox, outboxChannel, wakeOutboxRelays } from "../outbox";
import { RUN_COLUMNS } from "./runs-read";
import { createPendingStages } from "./run-tasks";
import { runCreatedMessage, workspaceQueueChangedMessage } from "../outbox-messages";
import { statusTimestampValue } from "../runs";

/**
 * Run creation and the scheduler's writes beside a status change, each with its outbox events
 * in the caller's transaction (DESIGN invariant 4). Status changes go through transitionRun;
 * users' actions are recorded by run-actions.ts and carried out by the scheduler.
 */

export interface NewRun {
  id: string;
  organizationId: string;
  workspaceId: string;
  configurationVersionId: string;
  createdById: string | null;
  operation: string;
  source: string;
  message: string;
  isDestroy: boolean;
  refresh: boolean;
  refreshOnly: boolean;
  planOnly: boolean;
  savePlan: boolean;
  autoApply: boolean;
  allowEmptyApply: boolean;
  allowConfigGeneration: boolean;
  debuggingMode: boolean;
  terraformVersion: string;
  targetAddrs: string[];
  replaceAddrs: string[];
  variables: { key: string; value: string }[];
}

/** What writing a run learned besides its row. */
export interface InsertedRun {
  /** Null when `unlessRunTasks` held the write back: the workspace has enabled run tasks. */
  run: RunModel | null;
  /** Whether the workspace has enabled run tasks (its runs get task stages from the start). */
  hasRunTasks: boolean;
  /** Unfinished non-speculative runs ahead of it in its workspace, as its document reports a pending run's position. */
  runsAhead: number;
}

/**
 * Inserts a pending run with its plan and apply (and, on an agent-mode workspace, its pool's name),
 * makes its configuration version the workspace's latest, and records the `created` run event and the run.created outbox event, in one statement.
 * A statement is atomic on its own: outside a transaction (`db` a client) this is the whole
 * write, with no BEGIN and COMMIT round trips. With `unlessRunTasks`, nothing is written when the
 * workspace has enabled run tasks (their stages need more statements: write those in a
 * transaction with createRun).
 */
export async function insertRun(
  db: Db | Tx,
  run: NewRun,
  at: Date,
  subjects: Subjects,
  eventId: string,
  headers?: Record<string, string>,
  { unlessRunTasks = false }: { unlessRunTasks?: boolean } = {},
): Promise<InsertedRun> {
  // On its own (db, not a transaction) the statement commits at once: the relays are woken after
  // it, coalesced (wakeOutboxRelays), so creations do not commit one at a time behind NOTIFY's
  // global lock. In a transaction the NOTIFY goes with it and is delivered at its commit.
  const standalone = isDb(db);
  const stamp = statusTimestampValue(at);
  const runStamps = JSON.stringify({ [statusTimestampKey("pending")]: stamp });
  const phaseStamps = JSON.stringify({ [phaseTimestampKey("pending")]: stamp });
  const outbox = runCreatedMessage(subjects, run, at, headers);
  // Run creation is the hottest write: its seven statements (run, plan, apply, workspace,
  // run event, outbox row, NOTIFY) go as one, where through Prisma each was compiled and sent
  // on its own. The same rows as before; enqueueOutbox's NOTIFY wakes the relays at commit.
  // The runs ahead are counted in the statement's snapshot, which the new run is not part of.
  const rows = await queryRows<Partial<RunModel> & { notified?: unknown; has_run_tasks: boolean; runs_ahead: bigint; written: boolean }>(
    db,
    Prisma.sql`
    WITH tasks AS (
      SELECT EXISTS (SELECT 1 FROM workspace_run_tasks wrt JOIN run_tasks t ON t.id = wrt.task_id
                     WHERE wrt.workspace_id = ${run.workspaceId} AND t.enabled) AS has
    ), new_run AS (
      INSERT INTO runs (id, organization_id, workspace_id, configuration_version_id, created_by_id, operation, source, message,
        is_destroy, refresh, refresh_only, plan_only, save_plan, auto_apply, allow_empty_apply, allow_config_generation,
        debugging_mode, terraform_version, target_addrs, replace_addrs, variables, agent_pool_name,
        status, status_timestamps, status_changed_at, created_at, updated_at)
      SELECT ${run.id}, ${run.organizationId}, ${run.workspaceId}, ${run.configurationVersionId}, ${run.createdById},
        ${run.operation}, ${run.source}, ${run.message}, ${run.isDestroy}, ${run.refresh}, ${run.refreshOnly}, ${run.planOnly},
        ${run.savePlan}, ${run.autoApply}, ${run.allowEmptyApply}, ${run.allowConfigGeneration}, ${run.debuggingMode},
        ${run.terraformVersion}, ${run.targetAddrs}::text[], ${run.replaceAddrs}::text[], ${JSON.stringify(run.variables)}::jsonb,
        -- The pool an agent-mode workspace runs on, by name: what filter[agent_pool_names] matches.
        (SELECT p.name FROM workspaces w JOIN agent_pools p ON p.id = w.agent_pool_id
         WHERE w.id = ${run.workspaceId} AND w.execution_mode = 'agent'),
        'pending', ${runStamps}::jsonb, ${at}::timestamptz, ${at}::timestamptz, ${at}::timestamptz
      FROM tasks WHERE NOT (${unlessRunTasks}::boolean AND tasks.has)
      RETURNING ${RUN_COLUMNS}
    ), new_plan AS (
      INSERT INTO plans (id, run_id, status_timestamps, created_at, updated_at)
      SELECT ${planIdFor(run.id)}, id, ${phaseStamps}::jsonb, ${at}, ${at} FROM new_run
    ), new_apply AS (
      INSERT INTO applies (id, run_id, status_timestamps, created_at, updated_at)
      SELECT ${applyIdFor(run.id)}, id, ${phaseStamps}::jsonb, ${at}, ${at} FROM new_run
    ), latest_cv AS (
      -- Only when it changes: an updated row stays locked until the commit, and runs created at
      -- once in one workspace would commit one after another.
      UPDATE workspaces SET latest_configuration_version_id = ${run.configurationVersionId}, updated_at = ${at}
      WHERE id = (SELECT "workspaceId" FROM new_run)
        AND latest_configuration_version_id IS DISTINCT FROM ${run.configurationVersionId}
    ), created_event AS (
      INSERT INTO run_events (id, run_id, action, description, actor_id, created_at)
      SELECT ${eventId}, id, 'created', 'Run created', ${run.createdById}, ${at} FROM new_run
    ), outbox AS (
      INSERT INTO outbox_events (msg_id, subject, payload, headers)
      SELECT ${outbox.msgId}, ${outbox.subject}, ${JSON.stringify(outbox.payload)}::jsonb, ${JSON.stringify(outbox.headers ?? {})}::jsonb
      FROM new_run
      ON CONFLICT (msg_id) DO NOTHING
    )
    SELECT new_run.*, new_run.id IS NOT NULL AS written, tasks.has AS has_run_tasks,
      CASE WHEN new_run.id IS NULL OR ${standalone}::boolean THEN NULL ELSE pg_notify(${outboxChannel(outbox.subject)}, '')::text END AS notified,
      CASE WHEN new_run.id IS NULL OR ${run.planOnly} OR ${run.savePlan} THEN 0 ELSE (
        -- The workspace's counter of waiting runs (queue-position.ts), in the statement's
        -- snapshot: the insert's own trigger adds the new run after this reads it.
        SELECT coalesce(sum(c.runs_ahead), 0) FROM workspace_run_counts c WHERE c.workspace_id = new_run."workspaceId"
      ) END AS runs_ahead
    FROM tasks LEFT JOIN new_run ON true`,
    // Parsed and planned once per connection (not through a transaction-mode pooler; queryRows).
    { prepareAs: "tarmac_insert_run" },
  );
  const { notified: _notified, has_run_tasks: hasRunTasks, runs_ahead: runsAhead, written, ...row } = rows[0]!;
  if (written && standalone) wakeOutboxRelays(db, outboxChannel(outbox.subject));
  return { run: written ? (row as RunModel) : null, hasRunTasks, runsAhead: Number(runsAhead) };
}

/**
 * Inserts a pending run (insertRun) in the caller's transaction, with its task stages when the
 * workspace has run tasks.
 */
/** `headers`: the writer's trace context (traceparent), so the scheduler continues the request's trace. */
export async function createRun(
  tx: Tx,
  run: NewRun,
  at: Date,
  subjects: Subjects,
  eventId: string,
  headers?: Record<string, string>,
): Promise<RunModel> {
  const { run: row, hasRunTasks } = await insertRun(tx, run, at, subjects, eventId, headers);
  // Task stages exist from the start: the terraform CLI reads them right after creating the run.
  // Most workspaces have no run tasks; the statement above says so, sparing their queries.
  if (hasRunTasks) await createPendingStages(tx, { runId: run.id, workspaceId: run.workspaceId, at });
  return row!;
}

/** The run row locked for the rest of the transaction, so two actions on one run serialize. */
export async function lockRunForUpdate(tx: Tx, runId: string): Promise<RunModel | null> {
  const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM runs WHERE id = ${runId} FOR UPDATE`;
  if (rows.length === 0) return null;
  return tx.run.findUnique({ where: { id: runId } });
}

/**
 * Records a cancel request on a run whose plan or apply is executing (compare-and-set on its
 * status). The first request fixes force-cancel-available-at; later ones keep it.
 */
export async function requestCancel(
  tx: Tx,
  input: { runId: string; expected: RunStatus; at: Date; forceCancelAvailableAt: Date; canceledById: string | null },
): Promise<boolean> {
  const changed = await executeRows(
    tx,
    Prisma.sql`UPDATE runs SET
      cancel_requested_at = COALESCE(cancel_requested_at, ${input.at}),
      force_cancel_available_at = COALESCE(force_cancel_available_at, ${input.forceCancelAvailableAt}),
      canceled_by_id = COALESCE(${input.canceledById}, canceled_by_id),
      updated_at = ${input.at}
    WHERE id = ${input.runId} AND status = ${input.expected}::"RunStatus"`,
  );
  return changed === 1;
}

/**
 * Once a run ended early, its phases that never started become `unreachable`; with `forced`, a
 * phase still running is marked canceled too (terraform is being killed).
 */
export async function settlePhasesOfEndedRun(tx: Tx, runId: string, at: Date, forced: boolean): Promise<void> {
  const stamp = statusTimestampValue(at);
  const unreachable = JSON.stringify({ [phaseTimestampKey("unreachable")]: stamp });
  // Both phases in one statement past Prisma (executeRows): every run that ends comes here.
  await executeRows(
    tx,
    Prisma.sql`WITH plan AS (
      UPDATE plans SET status = 'unreachable', status_timestamps = status_timestamps || ${unreachable}::jsonb, updated_at = ${at}
      WHERE run_id = ${runId} AND status IN ('pending', 'managed_queued', 'queued') RETURNING 1
    )
    UPDATE applies SET status = 'unreachable', status_timestamps = status_timestamps || ${unreachable}::jsonb, updated_at = ${at}
    WHERE run_id = ${runId} AND status IN ('pending', 'managed_queued', 'queued')`,
  );
  if (!forced) return;
  const canceled = JSON.stringify({ [phaseTimestampKey("canceled")]: stamp, "force-canceled-at": stamp });
  await executeRows(
    tx,
    Prisma.sql`UPDATE plans SET status = 'canceled', status_timestamps = status_timestamps || ${canceled}::jsonb, finished_at = ${at}, updated_at = ${at}
    WHERE run_id = ${runId} AND status = 'running'`,
  );
  await executeRows(
    tx,
    Prisma.sql`UPDATE applies SET status = 'canceled', status_timestamps = status_timestamps || ${canceled}::jsonb, finished_at = ${at}, updated_at = ${at}
    WHERE run_id = ${runId} AND status = 'running'`,
  );
}

/** Unfinished non-speculative runs created before `seq` in a workspace, oldest first. */
export async function unfinishedRunsAhead(tx: Tx, workspaceId: string, seq: bigint): Promise<RunModel[]> {
  return queryRows<RunModel>(
    tx,
    Prisma.sql`SELECT ${RUN_COLUMNS} FROM runs
    WHERE workspace_id = ${workspaceId} AND seq < ${seq} AND plan_only = false AND status <> ALL(${[...FINAL_STATUSES]}::"RunStatus"[])
    ORDER BY seq`,
  );
}

export async function enqueueQueueChanged(
  tx: Tx,
  subjects: Subjects,
  input: { workspaceId: string; reason: string; at: Date; requestId: string },
): Promise<void> {
  await enqueueOutbox(tx, workspaceQueueChangedMessage(subjects, input));
}
