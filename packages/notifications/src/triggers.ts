import type { RunStatus } from "@tarmac/domain";

/** HCP's destination types (notification-configurations `destination-type`). */
export const DESTINATION_TYPES = ["generic", "slack", "microsoft-teams", "email"] as const;
export type DestinationType = (typeof DESTINATION_TYPES)[number];

/** Destinations reached over HTTP: they need a `url` and are verified with a request. */
export function isHttpDestination(type: DestinationType): boolean {
  return type !== "email";
}

/** The run triggers HCP documents, which Tarmac fires. */
export const RUN_TRIGGERS = ["run:created", "run:planning", "run:needs_attention", "run:applying", "run:completed", "run:errored"] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

/**
 * Triggers HCP accepts beyond the run ones. Tarmac stores them (a configuration written for
 * HCP saves unchanged) but has no health assessments or auto-destroy, so they never fire.
 */
export const STORED_ONLY_TRIGGERS = [
  "assessment:drifted",
  "assessment:check_failure",
  "assessment:failed",
  "workspace:auto_destroy_reminder",
  "workspace:auto_destroy_run_results",
] as const;

export const ACCEPTED_TRIGGERS: readonly string[] = [...RUN_TRIGGERS, ...STORED_ONLY_TRIGGERS];

/** What one status change of a run notifies, with HCP's human-readable message. */
export interface TriggerOfStatus {
  trigger: RunTrigger;
  message: string;
}

/**
 * Statuses where a finished plan stage may stop for a person or move on by itself (the
 * scheduler decides in the same transaction): whether the run waited there is told apart by
 * `needsAttention` in `triggerForStatus`.
 */
export const DECISION_POINT_STATUSES = ["cost_estimated", "policy_checked", "post_plan_completed"] as const satisfies readonly RunStatus[];

export function isDecisionPoint(status: RunStatus): boolean {
  return (DECISION_POINT_STATUSES as readonly RunStatus[]).includes(status);
}

/**
 * The trigger a run's arrival in `status` fires, or null. HCP's messages as its payloads show
 * them ("Run Planned - Needs Confirmation", "Run Planned and Finished"); a canceled run is
 * `run:errored` ("A run terminates early due to error or cancellation"). `needsAttention` says
 * whether the run stopped at a decision point (cost estimated, policy checked, post-plan
 * completed) for a person rather than moving on by itself.
 */
export function triggerForStatus(status: RunStatus, needsAttention = true): TriggerOfStatus | null {
  switch (status) {
    case "pending":
      return { trigger: "run:created", message: "Run Created" };
    case "planning":
      return { trigger: "run:planning", message: "Run Planning" };
    case "planned":
      return { trigger: "run:needs_attention", message: "Run Planned - Needs Confirmation" };
    case "policy_override":
      return { trigger: "run:needs_attention", message: "Run Policy Check Soft Failed - Needs Override" };
    case "cost_estimated":
      return needsAttention ? { trigger: "run:needs_attention", message: "Run Cost Estimated - Needs Confirmation" } : null;
    case "policy_checked":
      return needsAttention ? { trigger: "run:needs_attention", message: "Run Policy Checked - Needs Confirmation" } : null;
    case "post_plan_completed":
      return needsAttention ? { trigger: "run:needs_attention", message: "Run Post-Plan Tasks Completed - Needs Confirmation" } : null;
    case "applying":
      return { trigger: "run:applying", message: "Run Applying" };
    case "applied":
      return { trigger: "run:completed", message: "Run Applied" };
    case "planned_and_finished":
      return { trigger: "run:completed", message: "Run Planned and Finished" };
    case "policy_soft_failed":
      return { trigger: "run:completed", message: "Run Policy Check Soft Failed" };
    case "discarded":
      return { trigger: "run:completed", message: "Run Discarded" };
    case "errored":
      return { trigger: "run:errored", message: "Run Errored" };
    case "canceled":
    case "force_canceled":
      return { trigger: "run:errored", message: "Run Canceled" };
    case "fetching":
    case "fetching_completed":
    case "pre_plan_running":
    case "pre_plan_completed":
    case "queuing":
    case "plan_queued":
    case "cost_estimating":
    case "policy_checking":
    case "confirmed":
    case "post_plan_running":
    case "planned_and_saved":
    case "pre_apply_running":
    case "pre_apply_completed":
    case "apply_queued":
    case "post_apply_running":
    case "post_apply_completed":
      return null;
  }
}
