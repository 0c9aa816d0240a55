import type { PhaseProgressEvent } from "@tarmac/contracts";
import { phasesRepo, schedulerRepo, type Tx } from "@tarmac/db";
import { isFinalStatus, PHASE_QUEUED_STATUS, PHASE_RUNNING_STATUS } from "@tarmac/domain";
import type { Effects, SchedulerContext } from "./context";
import { withRunWorkspace } from "./effects";
import { decideAfterPlanStage, driveRun, finishApply } from "./lifecycle";
import { rememberWorkspaceOf } from "./run-workspaces";
import { moveRun, traceHeaders } from "./transitions";

type SchedulingRun = schedulerRepo.SchedulingRun;

/** A progress event's time, never later than now (a worker's clock may run ahead). */
function eventTime(ctx: SchedulerContext, at: string): Date {
  const now = ctx.now();
  const t = new Date(at);
  return Number.isNaN(t.getTime()) || t > now ? now : t;
}

/** queued → running for the run; true when the run is (now) in the phase's running status. */
async function ensureRunRunning(tx: Tx, ctx: SchedulerContext, run: SchedulingRun, event: PhaseProgressEvent): Promise<boolean> {
  if (run.status === PHASE_QUEUED_STATUS[event.phase]) {
    if (!(await moveRun(tx, ctx, run, PHASE_RUNNING_STATUS[event.phase]))) return false;
  }
  return run.status === PHASE_RUNNING_STATUS[event.phase];
}

/** queued → running for the run and its phase; true when the run is (now) in the running status. */
async function ensureRunning(tx: Tx, ctx: SchedulerContext, run: SchedulingRun, event: PhaseProgressEvent): Promise<boolean> {
  if (!(await ensureRunRunning(tx, ctx, run, event))) return false;
  await phasesRepo.markPhaseRunning(tx, event.phase, run.id, { workerId: event.workerId, at: eventTime(ctx, event.at) });
  return true;
}

/**
 * Records a worker's progress on a phase and moves the run accordingly. Events may repeat
 * or arrive late; each step is a compare-and-set, so they are no-ops then.
 */
export async function handlePhaseProgress(ctx: SchedulerContext, event: PhaseProgressEvent): Promise<void> {
  if (event.kind === "heartbeat") {
    await phasesRepo.recordHeartbeat(ctx.db, event.phase, event.runId, eventTime(ctx, event.at));
    return;
  }
  if (event.kind === "started" && (await startQueued(ctx, event))) return;
  await withRunWorkspace(ctx, event.runId, async (tx, run, effects) => {
    if (isFinalStatus(run.status) && (event.kind === "finished" || event.kind === "errored" || event.kind === "canceled")) {
      // The run ended without waiting for terraform (canceled by force-execute, failed by the
      // reconcile loop): still record how the phase itself ended.
      const status = event.kind === "finished" ? "finished" : event.kind;
      await phasesRepo.finishPhase(tx, event.phase, run.id, { status, at: eventTime(ctx, event.at) });
      return;
    }
    switch (event.kind) {
      case "started":
        if (isFinalStatus(run.status)) {
          // The run ended (canceled while queued) but a worker picked its job up anyway.
          effects.add({ kind: "signal", phase: event.phase, runId: run.id, signal: "SIGINT" });
          return;
        }
        await ensureRunning(tx, ctx, run, event);
        return;
      case "finished":
        await onFinished(tx, ctx, run, event, effects);
        return;
      case "errored":
      case "canceled": {
        // A phase whose `started` was lost still records its worker (finishPhase's startedBy).
        if (!(await ensureRunRunning(tx, ctx, run, event))) return;
        const at = eventTime(ctx, event.at);
        await phasesRepo.finishPhase(tx, event.phase, run.id, { status: event.kind, at, startedBy: event.workerId });
        const patch = event.kind === "canceled" ? { canceledAt: at } : undefined;
        if (await moveRun(tx, ctx, run, event.kind, patch)) await driveRun(tx, ctx, run, effects);
        return;
      }
    }
  });
}

/**
 * The usual `started`: the run waits in the phase's queued status, and moving it on decides
 * nothing else. One statement taking the workspace's lock (phasesRepo.startQueuedPhase), not a
 * transaction: the next run of a workspace starts planning a few round trips sooner. False when
 * the run is elsewhere; the event is then handled under the lock like any other.
 */
async function startQueued(ctx: SchedulerContext, event: PhaseProgressEvent): Promise<boolean> {
  const moved = await phasesRepo.startQueuedPhase(ctx.db, {
    runId: event.runId,
    phase: event.phase,
    workerId: event.workerId,
    startedAt: eventTime(ctx, event.at),
    at: ctx.now(),
    subjects: ctx.subjects,
    headers: traceHeaders(),
  });
  if (!moved) return false;
  rememberWorkspaceOf(ctx, { id: event.runId, workspaceId: moved.workspaceId });
  return true;
}

async function onFinished(tx: Tx, ctx: SchedulerContext, run: SchedulingRun, event: PhaseProgressEvent, effects: Effects): Promise<void> {
  // A phase whose `started` was lost still records its worker (finishPhase's startedBy).
  if (!(await ensureRunRunning(tx, ctx, run, event))) return;
  const at = eventTime(ctx, event.at);
  const counts = {
    resourceAdditions: event.resourceAdditions,
    resourceChanges: event.resourceChanges,
    resourceDestructions: event.resourceDestructions,
    resourceImports: event.resourceImports,
  };
  if (event.phase === "plan") {
    const hasChanges =
      event.hasChanges ??
      (event.resourceAdditions ?? 0) + (event.resourceChanges ?? 0) + (event.resourceDestructions ?? 0) + (event.resourceImports ?? 0) > 0;
    await phasesRepo.finishPhase(tx, "plan", run.id, { status: "finished", at, counts, hasChanges, startedBy: event.workerId });
    run.hasChanges = hasChanges;
    await decideAfterPlanStage(tx, ctx, run, "planning", effects, { hasChanges });
    return;
  }
  await phasesRepo.finishPhase(tx, "apply", run.id, { status: "finished", at, counts, startedBy: event.workerId });
  await finishApply(tx, ctx, run, effects);
}
