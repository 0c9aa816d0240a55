import { subjects as defaultSubjects, type Subjects } from "@tarmac/contracts";
import { phaseTimestampKey, statusTimestampKey, transition, type Phase, type RunStatus } from "@tarmac/domain";
import { Prisma } from "./generated/prisma/client";
import { executeRows, queryRows, type Tx } from "./client";
import { enqueueOutbox, outboxChannel } from "./outbox";
import { runStatusChangedMessage } from "./outbox-messages";
import { insertRunEvent, type NewRunEvent } from "./repositories/run-events";

export interface TransitionInput {
  runId: string;
  from: RunStatus;
  to: RunStatus;
  at?: Date;
  /** Further columns changed together with the status (has-changes, canceled-by, …). */
  patch?: RunPatch;
  /** Trace context to carry into the event. */
  headers?: Record<string, string>;
  /** The deployment's subjects (TARMAC_NATS_PREFIX); the default prefix when omitted. */
  subjects?: Subjects;
  /**
   * The run's workspace and organization, when the caller read them (a run never changes
   * either): the status change and its outbox event are then one statement, one round trip.
   */
  owner?: { workspaceId: string; organizationId: string };
  /** The run's history entry for this change (at the change's time), written with it. */
  runEvent?: Omit<NewRunEvent, "runId" | "at">;
  /** The phase whose row goes to `queued` with the change (its job is enqueued after the commit). */
  queuePhase?: Phase;
  /** The run becomes its workspace's current run with the change (call with the workspace locked). */
  takeWorkspace?: boolean;
}

/** What a status change may write besides the status; undefined leaves a column as it is. */
export interface RunPatch {
  hasChanges?: boolean;
  confirmedById?: string | null;
  canceledById?: string | null;
  canceledAt?: Date | null;
  cancelRequestedAt?: Date | null;
  forceCancelAvailableAt?: Date | null;
}

const PATCH_COLUMNS: Record<keyof RunPatch, string> = {
  hasChanges: "has_changes",
  confirmedById: "confirmed_by_id",
  canceledById: "canceled_by_id",
  canceledAt: "canceled_at",
  cancelRequestedAt: "cancel_requested_at",
  forceCancelAvailableAt: "force_cancel_available_at",
};

/**
 * The patch's assignments, in the status change's own UPDATE: a second UPDATE of the row in the
 * same transaction is a round trip more, and makes PostgreSQL re-check every foreign key of the
 * row (a row version this transaction wrote is checked whatever changed). `shape` names the
 * columns written (as a bit mask), for the prepared statement's name.
 */
const PATCH_KEYS = Object.keys(PATCH_COLUMNS) as Array<keyof RunPatch>;

function patchAssignments(patch: RunPatch | undefined): { sql: Prisma.Sql; shape: string } {
  const keys = PATCH_KEYS.filter((k) => patch?.[k] !== undefined);
  if (keys.length === 0) return { sql: Prisma.empty, shape: "" };
  return {
    sql: Prisma.join(keys.map((k) => Prisma.sql`, ${Prisma.raw(PATCH_COLUMNS[k])} = ${patch![k]}`), ""),
    // A bit per column: statement names are cut at 63 characters by PostgreSQL.
    shape: keys.reduce((mask, k) => mask | (1 << PATCH_KEYS.indexOf(k)), 0).toString(),
  };
}

/**
 * The compare-and-set's expected status, as an expression the planner cannot match to a partial
 * index's predicate: a text parameter cast to the enum (its input function is only stable). The
 * row is found by its primary key. With the status as a constant (a plan made for the
 * parameter's value), the pending runs' partial indexes matched `status = 'pending'`, and with
 * statistics older than a burst of creations (they put pending runs at none) the planner took
 * one of them: every change of a pending run read every pending run of the database and filtered
 * them by id (15,263 rows, 37-69 ms per change after the benchmark's scenario 2).
 */
function fromStatus(from: RunStatus): Prisma.Sql {
  return Prisma.sql`${from}::text::"RunStatus"`;
}

export type TransitionResult =
  | { ok: true; workspaceId: string }
  | { ok: false; reason: "not_allowed" | "stale" };

/** RFC 3339 with offset and second precision, as HCP writes status-timestamps values. */
export function statusTimestampValue(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, "+00:00");
}

/**
 * The one way a run's status changes (DESIGN invariant 1): the domain table
 * must allow it, and the row must still be in `from` (compare-and-set), so a
 * repeated or late event is a no-op instead of a corruption. The status
 * timestamp and the outbox event commit in the same transaction.
 */
export async function transitionRun(tx: Tx, input: TransitionInput): Promise<TransitionResult> {
  const { runId, from, to } = input;
  if (!transition(from, to).ok) return { ok: false, reason: "not_allowed" };
  const at = input.at ?? new Date();
  const key = statusTimestampKey(to);
  const stamp = JSON.stringify({ [key]: statusTimestampValue(at) });
  const patch = patchAssignments(input.patch);
  if (input.owner) {
    // The compare-and-set, its outbox row and the relays' NOTIFY (delivered at commit) in one
    // statement: no row comes back, and nothing is written, when the run was not in `from`.
    const { owner } = input;
    const message = runStatusChangedMessage(input.subjects ?? defaultSubjects, { id: runId, ...owner }, from, to, at, input.headers);
    const [moved] = await queryRows<{ workspaceId: string }>(
      tx,
      Prisma.sql`WITH moved AS (
        UPDATE runs SET status = ${to}::"RunStatus",
          status_timestamps = status_timestamps || ${stamp}::jsonb,
          status_changed_at = ${at}, updated_at = ${at}${patch.sql}
        WHERE id = ${runId} AND status = ${fromStatus(from)}
        RETURNING workspace_id
      ), written AS (
        INSERT INTO outbox_events (msg_id, subject, payload, headers)
        SELECT ${message.msgId}, ${message.subject}, ${JSON.stringify(message.payload)}::jsonb, ${JSON.stringify(message.headers ?? {})}::jsonb
        FROM moved
        ON CONFLICT (msg_id) DO NOTHING
      )${
        input.runEvent
          ? Prisma.sql`, recorded AS (
        INSERT INTO run_events (id, run_id, action, description, actor_id, comment_id, created_at)
        SELECT ${input.runEvent.id}, ${runId}, ${input.runEvent.action}, ${input.runEvent.description}, ${input.runEvent.actorId},
          ${input.runEvent.commentId ?? null}, ${at}
        FROM moved
      )`
          : Prisma.empty
      }${
        input.queuePhase
          ? Prisma.sql`, queued AS (${queuePhaseSql(input.queuePhase, runId, at, Prisma.sql`FROM moved`)})`
          : Prisma.empty
      }${
        input.takeWorkspace
          ? Prisma.sql`, current AS (
        UPDATE workspaces w SET current_run_id = ${runId}, updated_at = ${at} FROM moved WHERE w.id = moved.workspace_id
      )`
          : Prisma.empty
      }
      SELECT workspace_id AS "workspaceId", pg_notify(${outboxChannel(message.subject)}, '')::text AS notified FROM moved`,
      // Every status change of every run: parsed and planned once per connection (a name per shape).
      {
        prepareAs: `tarmac_transition_run${input.runEvent ? "_event" : ""}${input.queuePhase ? `_queue_${input.queuePhase}` : ""}${input.takeWorkspace ? "_current" : ""}${patch.shape ? `_p${patch.shape}` : ""}`,
      },
    );
    return moved ? { ok: true, workspaceId: moved.workspaceId } : { ok: false, reason: "stale" };
  }
  // Past Prisma's query compiler (the scheduler's hottest statement).
  const [run] = await queryRows<{ workspaceId: string; organizationId: string }>(
    tx,
    Prisma.sql`UPDATE runs SET status = ${to}::"RunStatus",
      status_timestamps = status_timestamps || ${stamp}::jsonb,
      status_changed_at = ${at}, updated_at = ${at}${patch.sql}
    WHERE id = ${runId} AND status = ${fromStatus(from)}
    RETURNING workspace_id AS "workspaceId", organization_id AS "organizationId"`,
  );
  if (!run) return { ok: false, reason: "stale" };
  await enqueueOutbox(
    tx,
    runStatusChangedMessage(input.subjects ?? defaultSubjects, { id: runId, workspaceId: run.workspaceId, organizationId: run.organizationId }, from, to, at, input.headers),
  );
  if (input.runEvent) await insertRunEvent(tx, { ...input.runEvent, runId, at });
  if (input.queuePhase) {
    await executeRows(tx, queuePhaseSql(input.queuePhase, runId, at));
  }
  if (input.takeWorkspace) {
    await executeRows(tx, Prisma.sql`UPDATE workspaces SET current_run_id = ${runId}, updated_at = ${at} WHERE id = ${run.workspaceId}`);
  }
  return { ok: true, workspaceId: run.workspaceId };
}

const PHASE_TABLES: Record<Phase, "plans" | "applies"> = { plan: "plans", apply: "applies" };

/** The phase's row → queued (its job is enqueued after the commit); `from` joins the moved run in a CTE. */
function queuePhaseSql(phase: Phase, runId: string, at: Date, from: Prisma.Sql = Prisma.empty): Prisma.Sql {
  const stamp = JSON.stringify({ [phaseTimestampKey("queued")]: statusTimestampValue(at) });
  return Prisma.sql`UPDATE ${Prisma.raw(PHASE_TABLES[phase])} p SET status = 'queued', status_timestamps = p.status_timestamps || ${stamp}::jsonb, updated_at = ${at}
    ${from} WHERE p.run_id = ${runId} AND p.status IN ('pending', 'managed_queued')`;
}

/**
 * Serializes decisions about one workspace across scheduler replicas and
 * gateway writes (DESIGN invariant 2): a row lock held until the transaction ends.
 */
export async function lockWorkspaceForUpdate(tx: Tx, workspaceId: string): Promise<boolean> {
  const rows = await queryRows<{ id: string }>(tx, Prisma.sql`SELECT id FROM workspaces WHERE id = ${workspaceId} FOR UPDATE`);
  return rows.length === 1;
}

/**
 * lockWorkspaceForUpdate for the scheduler's decisions, returning where the workspace's phases
 * run as of the lock (null when the workspace does not exist): the jobs its decisions enqueue
 * need no read of their own after the commit.
 */
export async function lockWorkspaceForScheduling(tx: Tx, workspaceId: string): Promise<{ agentMode: boolean } | null> {
  const [row] = await queryRows<{ agentMode: boolean }>(
    tx,
    Prisma.sql`SELECT execution_mode = 'agent' AS "agentMode" FROM workspaces WHERE id = ${workspaceId} FOR UPDATE`,
    { prepareAs: "tarmac_lock_workspace_for_scheduling" },
  );
  return row ?? null;
}
