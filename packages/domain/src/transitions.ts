import { isFinalStatus, type PhaseStatus, type RunStatus } from "./statuses";

/**
 * How an in-flight run ends abnormally: a failure (or the reconcile loop failing a lost phase), a
 * cancel, a force-cancel. Runs waiting for a person end by discard instead.
 */
const INTERRUPTED = ["errored", "canceled", "force_canceled"] as const;

/**
 * Every status a run may move to from each status. This table is the only definition of a legal
 * move; the scheduler applies it as a compare-and-set (DESIGN invariant 1).
 *
 * The optional stages after the plan run in HCP's order: post-plan run tasks, then cost estimation,
 * then the Sentinel policy check. A stage's `*_completed`/`cost_estimated`/`policy_checked` status
 * is where the run rests when it needs confirmation, and the point from which the next stage or the
 * plan's outcome is decided (see plan-outcome.ts). `planning` may jump straight to that outcome.
 */
export const RUN_TRANSITIONS: Readonly<Record<RunStatus, readonly RunStatus[]>> = {
  pending: ["fetching", "pre_plan_running", "queuing", "plan_queued", "discarded", ...INTERRUPTED],
  fetching: ["fetching_completed", ...INTERRUPTED],
  fetching_completed: ["pre_plan_running", "queuing", "plan_queued", ...INTERRUPTED],
  pre_plan_running: ["pre_plan_completed", ...INTERRUPTED],
  pre_plan_completed: ["queuing", "plan_queued", ...INTERRUPTED],
  queuing: ["plan_queued", ...INTERRUPTED],
  plan_queued: ["planning", ...INTERRUPTED],
  planning: [
    "planned",
    "post_plan_running",
    "cost_estimating",
    "policy_checking",
    "planned_and_finished",
    "planned_and_saved",
    "confirmed",
    ...INTERRUPTED,
  ],
  planned: [
    "post_plan_running",
    "cost_estimating",
    "policy_checking",
    "planned_and_finished",
    "planned_and_saved",
    "confirmed",
    "discarded",
  ],
  post_plan_running: ["post_plan_completed", "discarded", ...INTERRUPTED],
  post_plan_completed: [
    "cost_estimating",
    "policy_checking",
    "planned_and_finished",
    "planned_and_saved",
    "confirmed",
    "discarded",
  ],
  cost_estimating: ["cost_estimated", ...INTERRUPTED],
  cost_estimated: ["policy_checking", "planned_and_finished", "planned_and_saved", "confirmed", "discarded"],
  policy_checking: ["policy_checked", "policy_override", "policy_soft_failed", ...INTERRUPTED],
  // Overriding a soft-failed check lets the run continue as if the check had passed.
  policy_override: ["policy_checked", "discarded"],
  policy_checked: ["planned_and_finished", "planned_and_saved", "confirmed", "discarded"],
  planned_and_saved: ["confirmed", "discarded"],
  // Pre-apply run tasks sit between the confirmation and the apply queue; a failed mandatory task
  // errors the run before terraform applies (or waits in pre_apply_running for an override).
  confirmed: ["pre_apply_running", "apply_queued", ...INTERRUPTED],
  pre_apply_running: ["pre_apply_completed", ...INTERRUPTED],
  pre_apply_completed: ["apply_queued", ...INTERRUPTED],
  apply_queued: ["applying", ...INTERRUPTED],
  applying: ["post_apply_running", "applied", ...INTERRUPTED],
  // Post-apply tasks cannot undo the apply: whatever they report, the run ends applied (HCP).
  // `errored` stays for the reconcile loop's last resort on a run it cannot drive any more.
  post_apply_running: ["post_apply_completed", "errored"],
  post_apply_completed: ["applied", "errored"],
  policy_soft_failed: [],
  planned_and_finished: [],
  applied: [],
  discarded: [],
  errored: [],
  canceled: [],
  force_canceled: [],
};

export type TransitionResult =
  | { ok: true; from: RunStatus; to: RunStatus }
  | { ok: false; from: RunStatus; to: RunStatus; reason: string };

export function canTransition(from: RunStatus, to: RunStatus): boolean {
  return RUN_TRANSITIONS[from].includes(to);
}

/** Decides one move of the run state machine; a refusal says why, for logs and 409 details. */
export function transition(from: RunStatus, to: RunStatus): TransitionResult {
  if (canTransition(from, to)) return { ok: true, from, to };
  if (isFinalStatus(from)) return { ok: false, from, to, reason: `run is ${from}, a final status` };
  if (from === to) return { ok: false, from, to, reason: `run is already ${from}` };
  return { ok: false, from, to, reason: `a run cannot move from ${from} to ${to}` };
}

/** Statuses from which `to` is reachable in one move: the `expected` set of a compare-and-set. */
export function statusesLeadingTo(to: RunStatus): RunStatus[] {
  return (Object.keys(RUN_TRANSITIONS) as RunStatus[]).filter((from) => canTransition(from, to));
}

/**
 * Moves of a plan or apply phase. A phase that never started becomes `unreachable` when its run
 * ends early (cancel, discard, error before it); one that ran ends `finished`, `errored` or `canceled`.
 */
export const PHASE_TRANSITIONS: Readonly<Record<PhaseStatus, readonly PhaseStatus[]>> = {
  pending: ["managed_queued", "queued", "errored", "canceled", "unreachable"],
  managed_queued: ["queued", "running", "errored", "canceled", "unreachable"],
  queued: ["running", "errored", "canceled", "unreachable"],
  running: ["finished", "errored", "canceled"],
  errored: [],
  canceled: [],
  finished: [],
  unreachable: [],
};

export function canTransitionPhase(from: PhaseStatus, to: PhaseStatus): boolean {
  return PHASE_TRANSITIONS[from].includes(to);
}
