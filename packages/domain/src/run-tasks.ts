import type { RunStatus } from "./statuses";

/** The run stages a workspace task can be attached to (HCP's `stages`). */
export const TASK_STAGES = ["pre_plan", "post_plan", "pre_apply", "post_apply"] as const;
export type TaskStageName = (typeof TASK_STAGES)[number];

/**
 * The stages Tarmac runs tasks in: all four, each with run statuses of its own (statuses.ts), so no
 * task the API accepts is ever skipped.
 */
export const RUNNABLE_TASK_STAGES = TASK_STAGES;
export type RunnableTaskStage = (typeof RUNNABLE_TASK_STAGES)[number];

export function isRunnableTaskStage(stage: string): stage is RunnableTaskStage {
  return (RUNNABLE_TASK_STAGES as readonly string[]).includes(stage);
}

export const ENFORCEMENT_LEVELS = ["mandatory", "advisory"] as const;
export type EnforcementLevel = (typeof ENFORCEMENT_LEVELS)[number];

export const TASK_STAGE_STATUSES = ["pending", "running", "passed", "failed", "awaiting_override", "errored", "canceled", "unreachable"] as const;
export type TaskStageStatus = (typeof TASK_STAGE_STATUSES)[number];

export const TASK_RESULT_STATUSES = ["pending", "running", "passed", "failed", "errored", "canceled", "unreachable"] as const;
export type TaskResultStatus = (typeof TASK_RESULT_STATUSES)[number];

/** What an integration may report on its callback (run tasks integration API). */
export const TASK_CALLBACK_STATUSES = ["running", "passed", "failed"] as const;
export type TaskCallbackStatus = (typeof TASK_CALLBACK_STATUSES)[number];

const FINAL_RESULT_STATUSES: readonly TaskResultStatus[] = ["passed", "failed", "errored", "canceled", "unreachable"];

export function isTaskResultFinal(status: string): boolean {
  return (FINAL_RESULT_STATUSES as readonly string[]).includes(status);
}

const FINAL_STAGE_STATUSES: readonly TaskStageStatus[] = ["passed", "failed", "errored", "canceled", "unreachable"];

export function isTaskStageFinal(status: string): boolean {
  return (FINAL_STAGE_STATUSES as readonly string[]).includes(status);
}

/** The run statuses of a stage: where the run waits while its tasks run, and where it goes after. */
export function taskStageRunStatuses(stage: RunnableTaskStage): { running: RunStatus; completed: RunStatus } {
  switch (stage) {
    case "pre_plan":
      return { running: "pre_plan_running", completed: "pre_plan_completed" };
    case "post_plan":
      return { running: "post_plan_running", completed: "post_plan_completed" };
    case "pre_apply":
      return { running: "pre_apply_running", completed: "pre_apply_completed" };
    case "post_apply":
      return { running: "post_apply_running", completed: "post_apply_completed" };
  }
}

/** The stage a run's status puts it in, if any. */
export function taskStageOfRunStatus(status: RunStatus): RunnableTaskStage | null {
  for (const stage of RUNNABLE_TASK_STAGES) if (taskStageRunStatuses(stage).running === status) return stage;
  return null;
}

/**
 * Whether a stage's failed mandatory task stops the run. After the apply nothing can be stopped:
 * a post-apply stage fails on record and the run still ends applied (HCP: "a failed outcome does not
 * halt the run since HCP Terraform has already provisioned infrastructure").
 */
export function taskStageFailureStopsRun(stage: RunnableTaskStage): boolean {
  return stage !== "post_apply";
}

/**
 * Whether a failed mandatory task in this stage may be overridden instead of stopping the run:
 * only after a plan that can still be applied, while the run waits for its confirmation (post-plan).
 * Before the plan there is nothing to look at, and a plan-only run can never apply (like a
 * soft-failed policy on a plan-only run, plan-outcome.ts). A failed pre-apply stage errors the run
 * ("the run skips to completion (Plan Errored state)", HCP's run states), and after the apply there
 * is nothing left to stop.
 */
export function canOverrideTaskStage(stage: RunnableTaskStage, planOnly: boolean): boolean {
  return stage === "post_plan" && !planOnly;
}

export interface StageResultFacts {
  status: string;
  enforcementLevel: string;
}

/**
 * A stage's status from its results. It runs while any result is not final; it passes when every
 * mandatory task passed (advisory failures are only reported); otherwise it fails, or awaits an
 * override where one is allowed.
 */
export function taskStageStatusOf(results: readonly StageResultFacts[], overridable: boolean): TaskStageStatus {
  if (results.some((r) => !isTaskResultFinal(r.status))) return "running";
  const mandatoryFailed = results.some((r) => r.enforcementLevel === "mandatory" && r.status !== "passed");
  if (!mandatoryFailed) return "passed";
  return overridable ? "awaiting_override" : "failed";
}
