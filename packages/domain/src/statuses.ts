import { z } from "zod";

/**
 * The 27 run statuses of the Runs API reference ("Run States" table), in the order a run meets them,
 * and the four of the run task stages around the apply that the OpenAPI spec's run `status` enum
 * adds (`pre_apply_running`, `pre_apply_completed` after `confirmed`; `post_apply_running`,
 * `post_apply_completed` after `applying`). A run only meets those with pre-apply or post-apply
 * tasks. The spec's other extra statuses (queuing_apply, tf_policy_*, assessing) stay absent.
 */
export const RUN_STATUSES = [
  "pending",
  "fetching",
  "fetching_completed",
  "pre_plan_running",
  "pre_plan_completed",
  "queuing",
  "plan_queued",
  "planning",
  "planned",
  "cost_estimating",
  "cost_estimated",
  "policy_checking",
  "policy_override",
  "policy_soft_failed",
  "policy_checked",
  "confirmed",
  "post_plan_running",
  "post_plan_completed",
  "planned_and_finished",
  "planned_and_saved",
  "pre_apply_running",
  "pre_apply_completed",
  "apply_queued",
  "applying",
  "post_apply_running",
  "post_apply_completed",
  "applied",
  "discarded",
  "errored",
  "canceled",
  "force_canceled",
] as const;

export type RunStatus = (typeof RUN_STATUSES)[number];

export const runStatusSchema = z.enum(RUN_STATUSES);

export function isRunStatus(value: unknown): value is RunStatus {
  return typeof value === "string" && (RUN_STATUSES as readonly string[]).includes(value);
}

/**
 * Terminal statuses: nothing moves a run out of them. `planned_and_saved` is not here: a saved plan
 * waits for confirmation (tfe-client-notes §2.3).
 */
export const FINAL_STATUSES = [
  "applied",
  "planned_and_finished",
  "policy_soft_failed",
  "discarded",
  "errored",
  "canceled",
  "force_canceled",
] as const satisfies readonly RunStatus[];

export type FinalRunStatus = (typeof FINAL_STATUSES)[number];

export function isFinalStatus(status: RunStatus): status is FinalRunStatus {
  return (FINAL_STATUSES as readonly RunStatus[]).includes(status);
}

/** The reference's `discardable` group, verbatim. */
export const DISCARDABLE_STATUSES = [
  "planned",
  "planned_and_saved",
  "cost_estimated",
  "policy_checked",
  "policy_override",
  "post_plan_running",
  "post_plan_completed",
] as const satisfies readonly RunStatus[];

export const STATUS_GROUPS = ["non_final", "final", "discardable"] as const;
export type StatusGroup = (typeof STATUS_GROUPS)[number];
export const statusGroupSchema = z.enum(STATUS_GROUPS);

export const NON_FINAL_STATUSES: readonly RunStatus[] = RUN_STATUSES.filter((s) => !isFinalStatus(s));

export function statusesInGroup(group: StatusGroup): readonly RunStatus[] {
  switch (group) {
    case "non_final":
      return NON_FINAL_STATUSES;
    case "final":
      return FINAL_STATUSES;
    case "discardable":
      return DISCARDABLE_STATUSES;
  }
}

export function isInStatusGroup(status: RunStatus, group: StatusGroup): boolean {
  return statusesInGroup(group).includes(status);
}

/**
 * Statuses in which a run sits waiting for a person (confirm, discard, override). All of them are in
 * the discardable group; no worker or stage is busy with the run.
 */
export const AWAITING_USER_STATUSES = [
  "planned",
  "planned_and_saved",
  "cost_estimated",
  "policy_checked",
  "policy_override",
  "post_plan_completed",
] as const satisfies readonly RunStatus[];

export function isAwaitingUser(status: RunStatus): boolean {
  return (AWAITING_USER_STATUSES as readonly RunStatus[]).includes(status);
}

/**
 * Non-final statuses in which the system (not a person) owes the next step: queued, fetching,
 * a stage running, planning, applying, or between two of those. A cancel is honoured in every one,
 * and a run stuck in one can be errored by the reconcile loop.
 */
export const IN_FLIGHT_STATUSES: readonly RunStatus[] = NON_FINAL_STATUSES.filter((s) => !isAwaitingUser(s));

export function isInFlight(status: RunStatus): boolean {
  return IN_FLIGHT_STATUSES.includes(status);
}

/**
 * The post-apply stage: terraform has applied, the run only waits for its post-apply tasks and
 * ends `applied` whatever they report. Nothing is left to cancel (the changes are made), so these
 * in-flight statuses are not cancelable; the tasks' timeout bounds the wait.
 */
export const POST_APPLY_STATUSES = ["post_apply_running", "post_apply_completed"] as const satisfies readonly RunStatus[];

export function isPostApply(status: RunStatus): boolean {
  return (POST_APPLY_STATUSES as readonly RunStatus[]).includes(status);
}

/** Status of a plan or an apply (the phases), per the OpenAPI `plans`/`applies` enums. */
export const PHASE_STATUSES = [
  "pending",
  "managed_queued",
  "queued",
  "running",
  "errored",
  "canceled",
  "finished",
  "unreachable",
] as const;

export type PhaseStatus = (typeof PHASE_STATUSES)[number];
export const phaseStatusSchema = z.enum(PHASE_STATUSES);

/** go-tfe's log reader stops polling only once the phase reaches one of these (notes §0.8). */
export const PHASE_FINAL_STATUSES = ["errored", "canceled", "finished", "unreachable"] as const satisfies readonly PhaseStatus[];

export function isPhaseFinal(status: PhaseStatus): boolean {
  return (PHASE_FINAL_STATUSES as readonly PhaseStatus[]).includes(status);
}

/**
 * Statuses that occupy one of the organization's concurrent-run slots (HCP run concurrency): a
 * phase is queued for a worker or running on one.
 */
export const CAPACITY_STATUSES = ["plan_queued", "planning", "apply_queued", "applying"] as const satisfies readonly RunStatus[];

/**
 * Statuses in which a run waits for a worker to pick its phase job up. A run sitting here whose
 * job is gone is re-enqueued by the reconcile loop.
 */
export const PHASE_QUEUED_STATUSES = ["plan_queued", "apply_queued"] as const satisfies readonly RunStatus[];

/** Statuses in which no terraform runs yet for the run: a cancel ends the run at once. */
export const NOT_STARTED_STATUSES = [
  "pending",
  "fetching",
  "fetching_completed",
  "pre_plan_running",
  "pre_plan_completed",
  "queuing",
  "plan_queued",
  "confirmed",
  "pre_apply_running",
  "pre_apply_completed",
  "apply_queued",
] as const satisfies readonly RunStatus[];

export function isNotStarted(status: RunStatus): boolean {
  return (NOT_STARTED_STATUSES as readonly RunStatus[]).includes(status);
}

/**
 * The organization's execution queue (`GET /organizations/:name/runs/queue`): runs waiting for
 * execution capacity, then with {@link ORG_QUEUE_RUNNING_STATUSES} the runs using it.
 */
export const ORG_QUEUE_WAITING_STATUSES = ["queuing", "plan_queued", "apply_queued"] as const satisfies readonly RunStatus[];
export const ORG_QUEUE_RUNNING_STATUSES = ["planning", "applying"] as const satisfies readonly RunStatus[];
