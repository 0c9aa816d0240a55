import { transitionRun, type RunPatch, type TransitionInput, type Tx } from "@tarmac/db";
import { newId, type RunStatus } from "@tarmac/domain";
import { injectTraceContext } from "@tarmac/telemetry";
import type { SchedulerContext } from "./context";
import { rememberWorkspaceOf } from "./run-workspaces";

/**
 * Statuses the scheduler reaches that the run's history (run-events) records, one event per
 * status change as tfe-client-notes §6.1 suggests. A status reached by carrying out a person's
 * action records that action instead (see run-actions.ts).
 */
const RECORDED: Partial<Record<RunStatus, string>> = {
  planned: "Plan finished; waiting for confirmation",
  planned_and_finished: "Plan finished; nothing to apply",
  planned_and_saved: "Plan finished and saved",
  cost_estimated: "Cost estimated",
  confirmed: "Run confirmed automatically",
  applied: "Apply finished",
  errored: "Run errored",
  canceled: "Run canceled",
  discarded: "Run discarded",
};

export interface MovableRun {
  id: string;
  status: RunStatus;
  /** Known for a run read in full: its change and outbox event are then one statement. */
  workspaceId?: string;
  organizationId?: string;
}

/** W3C trace context of the active span, carried into outbox events and jobs. */
export function traceHeaders(): Record<string, string> {
  return injectTraceContext({});
}

/** The run event a status change made on a person's behalf records instead of the automatic one. */
export interface RecordedAction {
  action: string;
  description: string;
  actorId: string | null;
  commentId?: string | null;
}

/**
 * Moves a run through transitionRun (domain-checked compare-and-set with its outbox event,
 * DESIGN invariant 1) and keeps the caller's copy in step. False when the run was not in
 * the expected status any more: a repeated or late event, which is a no-op.
 */
export async function moveRun(
  tx: Tx,
  ctx: SchedulerContext,
  run: MovableRun,
  to: RunStatus,
  patch?: RunPatch,
  recorded?: RecordedAction,
  /** Written with the change: the phase row queued, the run made its workspace's current run. */
  also?: Pick<TransitionInput, "queuePhase" | "takeWorkspace">,
): Promise<boolean> {
  const description = RECORDED[to];
  const runEvent = recorded
    ? { id: newId("re"), ...recorded }
    : description
      ? { id: newId("re"), action: to, description, actorId: null }
      : undefined;
  const result = await transitionRun(tx, {
    runId: run.id,
    from: run.status,
    to,
    at: ctx.now(),
    subjects: ctx.subjects,
    headers: traceHeaders(),
    ...(patch ? { patch } : {}),
    ...(runEvent ? { runEvent } : {}),
    ...also,
    ...(run.workspaceId && run.organizationId ? { owner: { workspaceId: run.workspaceId, organizationId: run.organizationId } } : {}),
  });
  if (!result.ok) {
    ctx.logger.debug({ runId: run.id, from: run.status, to, reason: result.reason }, "run transition skipped");
    return false;
  }
  run.status = to;
  // The run's next event (often a worker's, on a run this process just queued) needs no read to find its workspace.
  if (run.workspaceId) rememberWorkspaceOf(ctx, { id: run.id, workspaceId: run.workspaceId });
  return true;
}
