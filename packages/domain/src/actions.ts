import { TarmacError, TRANSITION_NOT_ALLOWED } from "./errors";
import { isInFlight, isInStatusGroup, type RunStatus } from "./statuses";

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
  if (isInFlight(run.status)) return ALLOWED;
  return refuse(409, TRANSITION_NOT_ALLOWED, "Run was not planning or applying; cancel not allowed.");
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
  if (!isInFlight(run.status)) {
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
