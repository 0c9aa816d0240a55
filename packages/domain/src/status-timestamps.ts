import type { PhaseStatus, RunStatus } from "./statuses";

/**
 * The `status-timestamps` key recorded when a run enters each status (notes §2.4, OpenAPI spec).
 * Two are irregular: pending's is `plan-queueable-at` and fetching_completed's is `fetched-at`. The
 * spec gives policy_checking and policy_override no key; they follow the `<status>-at` rule.
 */
const RUN_STATUS_TIMESTAMP_KEYS = {
  pending: "plan-queueable-at",
  fetching: "fetching-at",
  fetching_completed: "fetched-at",
  pre_plan_running: "pre-plan-running-at",
  pre_plan_completed: "pre-plan-completed-at",
  queuing: "queuing-at",
  plan_queued: "plan-queued-at",
  planning: "planning-at",
  planned: "planned-at",
  cost_estimating: "cost-estimating-at",
  cost_estimated: "cost-estimated-at",
  policy_checking: "policy-checking-at",
  policy_override: "policy-override-at",
  policy_soft_failed: "policy-soft-failed-at",
  policy_checked: "policy-checked-at",
  confirmed: "confirmed-at",
  post_plan_running: "post-plan-running-at",
  post_plan_completed: "post-plan-completed-at",
  planned_and_finished: "planned-and-finished-at",
  planned_and_saved: "planned-and-saved-at",
  pre_apply_running: "pre-apply-running-at",
  pre_apply_completed: "pre-apply-completed-at",
  apply_queued: "apply-queued-at",
  applying: "applying-at",
  post_apply_running: "post-apply-running-at",
  post_apply_completed: "post-apply-completed-at",
  applied: "applied-at",
  discarded: "discarded-at",
  errored: "errored-at",
  canceled: "canceled-at",
  force_canceled: "force-canceled-at",
} as const satisfies Record<RunStatus, string>;

export type RunStatusTimestampKey = (typeof RUN_STATUS_TIMESTAMP_KEYS)[RunStatus];

export function statusTimestampKey(status: RunStatus): RunStatusTimestampKey {
  return RUN_STATUS_TIMESTAMP_KEYS[status];
}

/** Plan/apply `status-timestamps` keys; `running` is recorded as `started-at` (OpenAPI spec). */
const PHASE_STATUS_TIMESTAMP_KEYS = {
  pending: "pending-at",
  managed_queued: "managed-queued-at",
  queued: "queued-at",
  running: "started-at",
  errored: "errored-at",
  canceled: "canceled-at",
  finished: "finished-at",
  unreachable: "unreachable-at",
} as const satisfies Record<PhaseStatus, string>;

export type PhaseStatusTimestampKey = (typeof PHASE_STATUS_TIMESTAMP_KEYS)[PhaseStatus];

export function phaseTimestampKey(status: PhaseStatus): PhaseStatusTimestampKey {
  return PHASE_STATUS_TIMESTAMP_KEYS[status];
}

/** Phases record a force-cancel under its own key though their status is just `canceled`. */
export const PHASE_FORCE_CANCELED_AT_KEY = "force-canceled-at";
