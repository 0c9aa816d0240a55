import { TarmacError, TRANSITION_NOT_ALLOWED } from "./errors";
import { isInFlight, isInStatusGroup, isPostApply, type RunStatus } from "./statuses";

/** The run facts the action predicates read; a repository builds it from a row. */
export interface RunFacts {
  status: RunStatus;
  planOnly: boolean;
  savePlan: boolean;
  refreshOnly: boolean;
  isDestroy: boolean;
  allowEmptyApply: boolean;
  /** False until the plan has finished. */
  hasChanges: boolean;
  /** Set when a non-forceful cancel is first requested, null before: it doubles as "cancel requested". */
  forceCancelAvailableAt: Date | null;
}

/** The facts the action rules read, picked from a run as any layer holds it. */
export function runFactsOf(run: Omit<RunFacts, "status"> & { status: string }): RunFacts {
  return {
    status: run.status as RunStatus,
    planOnly: run.planOnly,
    savePlan: run.savePlan,
    refreshOnly: run.refreshOnly,
    isDestroy: run.isDestroy,
    allowEmptyApply: run.allowEmptyApply,
    hasChanges: run.hasChanges,
    forceCancelAvailableAt: run.forceCancelAvailableAt,
  };
}

export const RUN_ACTIONS = ["apply", "discard", "cancel", "force-cancel", "force-execute"] as const;
export type RunAction = (typeof RUN_ACTIONS)[number];

/**
 * The status each action moves its run to once carried out. Force-execute moves other runs (it
 * discards the one holding the workspace), not its target.
 */
export const ACTION_TARGET_STATUS = {
  apply: "confirmed",
  discard: "discarded",
  cancel: "canceled",
  "force-cancel": "force_canceled",
} as const satisfies Record<Exclude<RunAction, "force-execute">, RunStatus>;

/** Why an action is refused, as the HTTP answer the Runs API documents for it. */
export interface ActionRefusal {
  ok: false;
  status: 403 | 409;
  title: string;
  detail: string;
}

export type ActionCheck = { ok: true } | ActionRefusal;

const ALLOWED: ActionCheck = { ok: true };

function refuse(status: 403 | 409, title: string, detail: string): ActionRefusal {
  return { ok: false, status, title, detail };
}

export function refusalToError(refusal: ActionRefusal): TarmacError {
  return new TarmacError(refusal.status === 403 ? "forbidden" : "conflict", {
    title: refusal.title,
    detail: refusal.detail,
  });
}

/** Statuses in which a run is paused for confirmation (notes §7.3). */
export const CONFIRMABLE_STATUSES = [
  "planned",
  "cost_estimated",
  "policy_checked",
  "post_plan_completed",
  "planned_and_saved",
] as const satisfies readonly RunStatus[];

export function canApply(run: Pick<RunFacts, "status" | "planOnly" | "hasChanges" | "allowEmptyApply">): ActionCheck {
  if (run.planOnly) {
    return refuse(409, TRANSITION_NOT_ALLOWED, "Plan-only runs cannot be applied.");
  }
  if (run.status === "policy_override") {
    return refuse(409, TRANSITION_NOT_ALLOWED, "A soft-failed policy check must be overridden before the run can be applied.");
  }
  if (!(CONFIRMABLE_STATUSES as readonly RunStatus[]).includes(run.status)) {
    return refuse(409, TRANSITION_NOT_ALLOWED, "Run was not paused for confirmation; apply not allowed.");
  }
  if (!run.hasChanges && !run.allowEmptyApply) {
    return refuse(409, TRANSITION_NOT_ALLOWED, "The plan has no changes to apply; apply not allowed.");
  }
  return ALLOWED;
}

/** Pending runs (waiting for priority) and the reference's discardable group. */
export function canDiscard(run: Pick<RunFacts, "status">): ActionCheck {
  if (run.status === "pending" || isInStatusGroup(run.status, "discardable")) return ALLOWED;
  return refuse(409, TRANSITION_NOT_ALLOWED, "Run was not paused for confirmation or priority; discard not allowed.");
}

/**
 * Any run the system is working on (queued, fetching, a stage running, planning, applying, or
 * between two of those) can be cancelled; pending runs too, as go-tfe's tests do. A repeated cancel
 * is allowed: it interrupts terraform again. Runs waiting for a person are discarded instead.
 */
export function canCancel(run: Pick<RunFacts, "status">): ActionCheck {
  // After the apply (post-apply tasks running) there is nothing left to cancel.
  if (isInFlight(run.status) && !isPostApply(run.status)) return ALLOWED;
  return refuse(409, TRANSITION_NOT_ALLOWED, "Run was not planning or applying; cancel not allowed.");
}

/** Statuses in which terraform may be executing: a cancel must reach the worker and wait for it. */
export const EXECUTING_STATUSES = ["planning", "applying"] as const satisfies readonly RunStatus[];

export function isExecuting(status: RunStatus): boolean {
  return (EXECUTING_STATUSES as readonly RunStatus[]).includes(status);
}

/** The actions carried out on their own run (force-execute moves the runs ahead of it instead). */
export type RunStatusAction = Exclude<RunAction, "force-execute">;

/**
 * What carrying out an allowed action does to its run: move it to a status, or (a cancel while
 * terraform executes) ask the worker to interrupt terraform; the run then ends `canceled` when
 * terraform stops, or `force_canceled` by a later force-cancel.
 */
export type ActionOutcome = { ok: true; kind: "transition"; to: RunStatus } | { ok: true; kind: "interrupt" };

export type ActionDecision = ActionOutcome | ActionRefusal;

/**
 * The one decision for an action on a run: the gateway answers the request from it (a refusal
 * is the HTTP answer) and the scheduler carries the accepted request out from it again when it
 * applies it, refusing it when the run moved on in the meantime.
 */
export function decideRunAction(run: RunFacts, action: RunStatusAction, now: Date): ActionDecision {
  switch (action) {
    case "apply": {
      const check = canApply(run);
      return check.ok ? { ok: true, kind: "transition", to: ACTION_TARGET_STATUS.apply } : check;
    }
    case "discard": {
      const check = canDiscard(run);
      return check.ok ? { ok: true, kind: "transition", to: ACTION_TARGET_STATUS.discard } : check;
    }
    case "cancel": {
      // Terraform running is interrupted and the run ends when it stops; anything else ends at once.
      const check = canCancel(run);
      if (!check.ok) return check;
      return isExecuting(run.status) ? { ok: true, kind: "interrupt" } : { ok: true, kind: "transition", to: ACTION_TARGET_STATUS.cancel };
    }
    case "force-cancel": {
      const check = canForceCancel(run, now);
      return check.ok ? { ok: true, kind: "transition", to: ACTION_TARGET_STATUS["force-cancel"] } : check;
    }
  }
}

/**
 * The run's facts once an accepted action is carried out: how the gateway judges a request that
 * arrives while earlier ones still wait for the scheduler, so it answers as if they were applied.
 * `forceCancelAvailableAt` is the value a cancel records unless the run already has one.
 */
export function afterAction(run: RunFacts, action: RunStatusAction, outcome: ActionOutcome, forceCancelAvailableAt: Date): RunFacts {
  const next: RunFacts = outcome.kind === "transition" ? { ...run, status: outcome.to } : { ...run };
  if (action === "cancel") next.forceCancelAvailableAt = run.forceCancelAvailableAt ?? forceCancelAvailableAt;
  return next;
}

/** An action accepted earlier and not yet carried out, as the gateway reads it back. */
export interface PendingAction {
  action: string;
  requestedAt: Date;
  forceCancelAvailableAt: Date | null;
}

/**
 * The run's facts as they will be once the actions still pending for it are carried out in
 * order (one the scheduler will refuse changes nothing), so that a request is answered as if the
 * earlier ones had already been applied: a second apply is refused, a second cancel accepted.
 */
export function projectPendingActions(run: RunFacts, pending: readonly PendingAction[]): RunFacts {
  let facts = run;
  for (const p of pending) {
    if (!(RUN_ACTIONS as readonly string[]).includes(p.action) || p.action === "force-execute") continue;
    const action = p.action as RunStatusAction;
    const decision = decideRunAction(facts, action, p.requestedAt);
    if (!decision.ok) continue;
    facts = afterAction(facts, action, decision, p.forceCancelAvailableAt ?? forceCancelAvailableAt(p.requestedAt));
  }
  return facts;
}

/** OTF's value; HCP does not publish its own (notes §7.3). */
export const DEFAULT_FORCE_CANCEL_COOL_OFF_MS = 10_000;

/** When force-cancel becomes available after the first cancel request (keep it on later requests). */
export function forceCancelAvailableAt(
  cancelRequestedAt: Date,
  coolOffMs: number = DEFAULT_FORCE_CANCEL_COOL_OFF_MS,
): Date {
  return new Date(cancelRequestedAt.getTime() + coolOffMs);
}

export function canForceCancel(run: Pick<RunFacts, "status" | "forceCancelAvailableAt">, now: Date): ActionCheck {
  if (!isInFlight(run.status) || isPostApply(run.status)) {
    return refuse(409, TRANSITION_NOT_ALLOWED, "Run was not planning or applying; force-cancel not allowed.");
  }
  if (run.forceCancelAvailableAt === null) {
    return refuse(409, TRANSITION_NOT_ALLOWED, "Run has not been canceled non-forcefully; force-cancel not allowed.");
  }
  if (now.getTime() < run.forceCancelAvailableAt.getTime()) {
    return refuse(
      409,
      TRANSITION_NOT_ALLOWED,
      `The cool-off period has not yet passed; force-cancel is available at ${run.forceCancelAvailableAt.toISOString()}.`,
    );
  }
  return ALLOWED;
}

export interface IdentifiedRun {
  id: string;
  status: RunStatus;
}

/**
 * Force-execute's prerequisites, in the reference's order and with its status codes: the target is
 * pending (403), the workspace is held by another run (403; a workspace locked by a user or team
 * passes `null`), and that run can be discarded (409).
 */
export function canForceExecute(target: IdentifiedRun, lockingRun: IdentifiedRun | null): ActionCheck {
  if (target.status !== "pending") {
    return refuse(403, "forbidden", "Run is not pending; force-execute not allowed.");
  }
  if (lockingRun === null || lockingRun.id === target.id) {
    return refuse(403, "forbidden", "The run's workspace is not locked by another run; force-execute not allowed.");
  }
  if (!canDiscard(lockingRun).ok) {
    return refuse(409, "conflict", "The run locking the workspace was not in a discardable state.");
  }
  return ALLOWED;
}

export interface RunActions {
  "is-cancelable": boolean;
  "is-confirmable": boolean;
  "is-discardable": boolean;
  "is-force-cancelable": boolean;
}

/** The run's `actions` attribute, from the same predicates that guard the actions. */
export function runActions(run: RunFacts, now: Date): RunActions {
  return {
    "is-cancelable": canCancel(run).ok,
    "is-confirmable": canApply(run).ok,
    "is-discardable": canDiscard(run).ok,
    "is-force-cancelable": canForceCancel(run, now).ok,
  };
}
