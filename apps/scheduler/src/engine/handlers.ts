import type {
  ConfigurationUploadedEvent,
  RunActionRequestedEvent,
  TaskStageChangedEvent,
  RunCreatedEvent,
  RunStatusChangedEvent,
  TarmacEvent,
  WorkspaceLockChangedEvent,
  WorkspaceQueueChangedEvent,
} from "@tarmac/contracts";
import { schedulerRepo } from "@tarmac/db";
import { bypassesWorkspaceQueue, holdsWorkspace, isFinalStatus, type RunStatus } from "@tarmac/domain";
import type { SchedulerContext } from "./context";
import { performEffects, withRunWorkspace, withWorkspace } from "./effects";
import { Effects } from "./context";
import { addJobRemovals, driveRun } from "./lifecycle";
import { handlePhaseProgress } from "./progress";
import { readNewRunQueueFacts } from "./read-batches";
import { applyPendingActions } from "./run-actions";
import { onTaskStageChanged } from "./task-stages";
import { moveRun } from "./transitions";
import { advanceWorkspace } from "./workspace-queue";

/** A new run, a lock or unlock, a change of the queue, an upload: the workspace may start its next run. */
export async function handleWorkspaceChanged(ctx: SchedulerContext, workspaceId: string): Promise<void> {
  await withWorkspace(ctx, workspaceId, (tx, effects) => advanceWorkspace(tx, ctx, workspaceId, effects));
}

export async function handleRunCreated(ctx: SchedulerContext, event: RunCreatedEvent): Promise<void> {
  if (await waitsInQueue(ctx, event.runId)) return;
  await handleWorkspaceChanged(ctx, event.workspaceId);
}

/**
 * Whether a new run can only wait, read without the workspace's lock: it does not bypass the
 * queue, and another run holds the workspace, or a user's lock keeps it behind an earlier pending
 * run (which already shows as the current run). Whatever frees the workspace later (the holder
 * ending, the unlock) decides under the lock and sees this run, committed before its event. A
 * burst of creations behind a busy workspace so costs one read each, not a transaction reading
 * the queue, and the reads of events handled together are one statement (readNewRunQueueFacts).
 */
async function waitsInQueue(ctx: SchedulerContext, runId: string): Promise<boolean> {
  const facts = await readNewRunQueueFacts(ctx, runId);
  if (!facts) return false;
  if (facts.run.status !== "pending" || bypassesWorkspaceQueue(facts.run)) return false;
  if (facts.otherCurrentRun !== null && holdsWorkspace(facts.otherCurrentRun)) return true;
  return facts.locked && facts.queuedBehind;
}

/**
 * Statuses in which driveRun decides nothing: a worker or a person moves the run on. A status
 * event finding its run in one of them takes no workspace lock (a run's next status change brings
 * its own event), so it does not hold up the worker's progress event, which needs that lock.
 */
const DRIVEN_ELSEWHERE = new Set<RunStatus>(["fetching", "fetching_completed", "planning", "policy_checking", "applying"]);

/** Every status change: do whatever the run's status now requires. */
export async function handleRunStatusChanged(ctx: SchedulerContext, event: RunStatusChangedEvent): Promise<void> {
  // Nothing to decide in the status the event reports; had the run moved on since, the move
  // brought an event of its own. So the run is not even read.
  if ((DRIVEN_ELSEWHERE as ReadonlySet<string>).has(event.to)) return;
  const unlocked = await schedulerRepo.findSchedulingRun(ctx.db, event.runId);
  if (!unlocked || DRIVEN_ELSEWHERE.has(unlocked.status)) return;
  if (unlocked.status === "plan_queued" || unlocked.status === "apply_queued") {
    // driveRun only enqueues the phase's job, an idempotent effect performed after commit anyway
    // (a cancel may land between the two either way): no transaction, no workspace lock.
    const effects = new Effects();
    effects.add({
      kind: "enqueue",
      phase: unlocked.status === "plan_queued" ? "plan" : "apply",
      runId: unlocked.id,
      ...(unlocked.agentMode === false ? { toWorkers: true } : {}),
    });
    await performEffects(ctx, effects);
    return;
  }
  if (unlocked.status === "queuing") {
    // driveRun only asks for a promotion, which takes the organization's lock, not the workspace's.
    const effects = new Effects();
    effects.add({ kind: "promote", organizationId: unlocked.organizationId });
    await performEffects(ctx, effects);
    return;
  }
  if (isFinalStatus(unlocked.status) && (await releasedAlready(ctx, unlocked))) {
    // The transaction that ended the run released its workspace (the next run may be starting
    // and its worker's event needs the lock): only the effects of the release, which need no lock
    // and are idempotent, are performed again.
    const effects = new Effects();
    addJobRemovals(unlocked, effects);
    effects.add({ kind: "promote", organizationId: unlocked.organizationId });
    await performEffects(ctx, effects);
    return;
  }
  await withRunWorkspace(ctx, event.runId, (tx, run, effects) => driveRun(tx, ctx, run, effects), unlocked);
}

/**
 * Whether releasing an ended run's workspace has nothing left to decide: its phases and task
 * stages are settled (and the saved plans an apply made stale discarded), and no run waits for
 * the workspace or another run holds it. Read without the lock; anything else takes it.
 */
async function releasedAlready(ctx: SchedulerContext, run: schedulerRepo.SchedulingRun): Promise<boolean> {
  const state = await schedulerRepo.findEndedRunState(ctx.db, run);
  if (!state || state.unsettled) return false;
  if (!state.waiting) return true;
  return !state.waitingBypass && state.otherCurrentRun !== null && holdsWorkspace(state.otherCurrentRun);
}

/**
 * Actions the gateway accepted and recorded: the scheduler carries out every request pending for
 * the run, in order (see run-actions.ts). The event is only the wake-up; a repeated or late one
 * finds nothing pending.
 */
export async function handleRunActionRequested(ctx: SchedulerContext, event: RunActionRequestedEvent): Promise<void> {
  await withRunWorkspace(ctx, event.runId, (tx, run, effects) => applyPendingActions(tx, ctx, run, effects));
}

export async function handleLockChanged(ctx: SchedulerContext, event: WorkspaceLockChangedEvent): Promise<void> {
  await handleWorkspaceChanged(ctx, event.workspaceId);
}

export async function handleQueueChanged(ctx: SchedulerContext, event: WorkspaceQueueChangedEvent): Promise<void> {
  await handleWorkspaceChanged(ctx, event.workspaceId);
}

export async function handleConfigurationUploaded(ctx: SchedulerContext, event: ConfigurationUploadedEvent): Promise<void> {
  // Runs created after the upload are started by their own run.created event, in the trace of
  // the request that created them; the upload only starts runs that were waiting for it.
  if (event.status === "uploaded" && !(await schedulerRepo.hasRunWaitingForUpload(ctx.db, event.configurationVersionId, new Date(event.at)))) return;
  await handleWorkspaceChanged(ctx, event.workspaceId);
}

/** An integration reported a task result, or someone overrode a stage. */
export async function handleTaskStageChanged(ctx: SchedulerContext, event: TaskStageChangedEvent): Promise<void> {
  await withRunWorkspace(ctx, event.runId, (tx, run, effects) => onTaskStageChanged(tx, ctx, run, event.taskStageId, effects));
}

/** One entry point for every event the scheduler consumes. */
export async function handleEvent(ctx: SchedulerContext, event: TarmacEvent): Promise<void> {
  switch (event.type) {
    case "run.created":
      return handleRunCreated(ctx, event);
    case "run.status_changed":
      return handleRunStatusChanged(ctx, event);
    case "run.action_requested":
      return handleRunActionRequested(ctx, event);
    case "phase.progress":
      return handlePhaseProgress(ctx, event);
    case "workspace.lock_changed":
      return handleLockChanged(ctx, event);
    case "workspace.queue_changed":
      return handleQueueChanged(ctx, event);
    case "configuration_version.uploaded":
      return handleConfigurationUploaded(ctx, event);
    case "task_stage.changed":
      return handleTaskStageChanged(ctx, event);
  }
}
