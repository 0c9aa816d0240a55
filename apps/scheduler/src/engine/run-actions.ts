import { runActionsRepo, runEventsRepo, runsWrite, schedulerRepo, phasesRepo, type RunActionRequestModel, type Tx } from "@tarmac/db";
import {
  canDiscard,
  canForceExecute,
  decideRunAction,
  forceCancelAvailableAt,
  holdsWorkspace,
  isExecuting,
  newId,
  RUN_ACTIONS,
  runFactsOf,
  TRANSITION_NOT_ALLOWED,
  type ActionRefusal,
  type RunAction,
  type RunStatus,
  type RunStatusAction,
} from "@tarmac/domain";
import type { Effects, SchedulerContext } from "./context";
import { driveRun } from "./lifecycle";
import { moveRun, type RecordedAction } from "./transitions";

type SchedulingRun = schedulerRepo.SchedulingRun;

/** The run event each carried-out action records (its comment replaces the description). */
const ACTION_EVENTS: Record<RunAction, { action: string; description: string }> = {
  apply: { action: "confirmed", description: "Run confirmed" },
  discard: { action: "discarded", description: "Run discarded" },
  cancel: { action: "canceled", description: "Run canceled" },
  "force-cancel": { action: "force_canceled", description: "Run force-canceled" },
  "force-execute": { action: "force_executed", description: "Run force-executed" },
};


function isRunAction(action: string): action is RunAction {
  return (RUN_ACTIONS as readonly string[]).includes(action);
}

function lostRace(detail: string): ActionRefusal {
  return { ok: false, status: 409, title: TRANSITION_NOT_ALLOWED, detail };
}

/** Carries out apply, discard, cancel or force-cancel on the run, or says why not (the domain's answer). */
async function carryOut(
  tx: Tx,
  ctx: SchedulerContext,
  run: SchedulingRun,
  request: RunActionRequestModel,
  action: RunStatusAction,
  recorded: RecordedAction,
  effects: Effects,
): Promise<ActionRefusal | null> {
  const now = ctx.now();
  const decision = decideRunAction(runFactsOf(run), action, now);
  if (!decision.ok) return decision;
  const availableAt = request.forceCancelAvailableAt ?? forceCancelAvailableAt(request.requestedAt);
  if (decision.kind === "interrupt") {
    // Terraform is running: the worker interrupts it and the run ends canceled when it stops.
    // A repeated cancel interrupts again; the first one fixed force-cancel-available-at.
    const phase = run.status === "planning" ? "plan" : "apply";
    const expected = run.status;
    const ok = await runsWrite.requestCancel(tx, {
      runId: run.id,
      expected,
      at: request.requestedAt,
      forceCancelAvailableAt: availableAt,
      canceledById: request.actorId,
    });
    if (!ok) return lostRace(`Run was not ${expected}; cancel not allowed.`);
    run.cancelRequestedAt ??= request.requestedAt;
    run.forceCancelAvailableAt ??= availableAt;
    await runEventsRepo.insertRunEvent(tx, {
      id: newId("re"),
      runId: run.id,
      ...recorded,
      action: "cancel_requested",
      description: recorded.description === ACTION_EVENTS.cancel.description ? "Run cancel requested" : recorded.description,
      at: now,
    });
    effects.add({ kind: "signal", phase, runId: run.id, signal: "SIGINT" });
    return null;
  }
  const patch =
    decision.to === "confirmed"
      ? { confirmedById: request.actorId }
      : decision.to === "canceled"
        ? {
            // go-tfe's tests expect force-cancel-available-at in the future right after cancelling a
            // pending run (notes §7.3): a cancel records the request timestamps whatever it ends.
            canceledAt: now,
            canceledById: request.actorId,
            cancelRequestedAt: run.cancelRequestedAt ?? request.requestedAt,
            forceCancelAvailableAt: run.forceCancelAvailableAt ?? availableAt,
          }
        : decision.to === "force_canceled"
          ? { canceledAt: now, canceledById: request.actorId }
          : {};
  const from = run.status;
  if (!(await moveRun(tx, ctx, run, decision.to, patch, recorded))) {
    return lostRace(`run is ${from}; it cannot become ${decision.to}`);
  }
  if (decision.to === "force_canceled") {
    effects.add({ kind: "signal", phase: "plan", runId: run.id, signal: "SIGKILL" });
    effects.add({ kind: "signal", phase: "apply", runId: run.id, signal: "SIGKILL" });
  }
  return null;
}

/**
 * Discards (or cancels) every unfinished non-speculative run ahead of the target in its
 * workspace, so the target runs next. The run holding the workspace must be discardable.
 */
async function forceExecute(
  tx: Tx,
  ctx: SchedulerContext,
  run: SchedulingRun,
  request: RunActionRequestModel,
  recorded: RecordedAction,
  effects: Effects,
): Promise<ActionRefusal | null> {
  const ahead = await runsWrite.unfinishedRunsAhead(tx, run.workspaceId, run.seq);
  const holder = ahead.find((r) => holdsWorkspace({ status: r.status as RunStatus, planOnly: r.planOnly, savePlan: r.savePlan })) ?? null;
  const check = canForceExecute({ id: run.id, status: run.status }, holder ? { id: holder.id, status: holder.status as RunStatus } : null);
  if (!check.ok) return check;
  const ended: SchedulingRun[] = [];
  for (const row of ahead) {
    const other = await schedulerRepo.findSchedulingRun(tx, row.id);
    if (!other) continue;
    const by = { actorId: request.actorId, commentId: null };
    if (canDiscard(other).ok) {
      await moveRun(tx, ctx, other, "discarded", {}, { ...by, action: "discarded", description: `Discarded to force-execute ${run.id}` });
    } else {
      const canceled = { canceledAt: ctx.now(), canceledById: request.actorId };
      if (await moveRun(tx, ctx, other, "canceled", canceled, { ...by, action: "canceled", description: `Canceled to force-execute ${run.id}` })) {
        for (const phase of ["plan", "apply"] as const) {
          if ((await phasesRepo.findPhase(tx, phase, other.id))?.status === "running") {
            effects.add({ kind: "signal", phase, runId: other.id, signal: "SIGINT" });
          }
        }
      }
    }
    ended.push(other);
  }
  // Only once every run ahead has ended: releasing one starts the workspace's next run.
  for (const other of ended) await driveRun(tx, ctx, other, effects);
  await runEventsRepo.insertRunEvent(tx, { id: newId("re"), runId: run.id, ...recorded, at: ctx.now() });
  return null;
}

/**
 * Carries out, in the order they were accepted, every action request pending for the run, and
 * marks each applied, or refused (with a run event saying why) when the run moved on since the
 * gateway accepted it. Idempotent: a repeated or late event finds nothing pending. Call with
 * the workspace locked.
 */
export async function applyPendingActions(tx: Tx, ctx: SchedulerContext, run: SchedulingRun, effects: Effects): Promise<number> {
  const pending = await runActionsRepo.listPendingActionRequests(tx, [run.id]);
  if (pending.length === 0) return 0;
  const comments = new Map((await runEventsRepo.findComments(tx, pending.flatMap((r) => (r.commentId ? [r.commentId] : [])))).map((c) => [c.id, c.body]));
  for (const request of pending) {
    const action = request.action;
    let refusal: ActionRefusal | null;
    if (!isRunAction(action)) {
      refusal = lostRace(`unknown action ${action}`);
    } else {
      const comment = request.commentId ? comments.get(request.commentId) : undefined;
      const recorded: RecordedAction = {
        action: ACTION_EVENTS[action].action,
        description: comment ?? ACTION_EVENTS[action].description,
        actorId: request.actorId,
        commentId: request.commentId,
      };
      refusal =
        action === "force-execute"
          ? await forceExecute(tx, ctx, run, request, recorded, effects)
          : await carryOut(tx, ctx, run, request, action, recorded, effects);
    }
    if (refusal) {
      ctx.logger.info({ runId: run.id, action, status: run.status, detail: refusal.detail }, "run action refused: the run moved on");
      await runEventsRepo.insertRunEvent(tx, {
        id: newId("re"),
        runId: run.id,
        action: `${action.replace(/-/g, "_")}_refused`,
        description: refusal.detail,
        actorId: request.actorId,
        commentId: request.commentId,
        at: ctx.now(),
      });
    }
    await runActionsRepo.decideActionRequest(tx, ctx.subjects, { id: request.id, at: ctx.now(), refusal });
  }
  await driveRun(tx, ctx, run, effects);
  return pending.length;
}
