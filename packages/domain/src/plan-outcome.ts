import type { RunStatus } from "./statuses";

/** What decides where a run goes once its plan (and any later stage) has completed. */
export interface PlanOutcomeFacts {
  hasChanges: boolean;
  planOnly: boolean;
  savePlan: boolean;
  allowEmptyApply: boolean;
  /** The run's own auto-apply (defaults to the workspace setting at creation). */
  autoApply: boolean;
  /** Queued by someone allowed to apply, or by a VCS commit (tfe-client-notes §7.2). */
  canAutoApply: boolean;
  postPlanEnabled?: boolean;
  costEstimationEnabled?: boolean;
  policyCheckEnabled?: boolean;
}

/** Statuses at which the plan's outcome is decided: the plan or one of the stages after it just completed. */
export const PLAN_DECISION_POINTS = [
  "planning",
  "planned",
  "post_plan_completed",
  "cost_estimated",
  "policy_checked",
] as const satisfies readonly RunStatus[];

export type PlanDecisionPoint = (typeof PLAN_DECISION_POINTS)[number];

type Stage = "post_plan" | "cost_estimation" | "policy_check";

/** HCP's order of the stages after the plan (run states docs: post-plan, cost estimation, policy check). */
const STAGE_ORDER: readonly Stage[] = ["post_plan", "cost_estimation", "policy_check"];

function stagesAfter(point: PlanDecisionPoint): readonly Stage[] {
  switch (point) {
    case "planning":
    case "planned":
      return STAGE_ORDER;
    case "post_plan_completed":
      return ["cost_estimation", "policy_check"];
    case "cost_estimated":
      return ["policy_check"];
    case "policy_checked":
      return [];
  }
}

function isStageEnabled(stage: Stage, facts: PlanOutcomeFacts): boolean {
  switch (stage) {
    case "post_plan":
      return facts.postPlanEnabled === true;
    case "cost_estimation":
      return facts.costEstimationEnabled === true;
    case "policy_check":
      return facts.policyCheckEnabled === true;
  }
}

function runningStatusOf(stage: Stage): RunStatus {
  switch (stage) {
    case "post_plan":
      return "post_plan_running";
    case "cost_estimation":
      return "cost_estimating";
    case "policy_check":
      return "policy_checking";
  }
}

/**
 * The status a run moves to from a decision point. When the run must wait there for confirmation
 * the result is the decision point itself (no move), except from `planning`, where it is `planned`.
 *
 * Stages still enabled come first, even for plan-only and no-change plans (notes §7.2: "if cost
 * estimation or policies run, it passes through them first"). Then:
 * - plan-only, or no changes without allow-empty-apply: `planned_and_finished`;
 * - saved plans never auto-apply: `planned_and_saved`;
 * - an empty apply auto-applies when the plan has no changes (modes-and-options docs), and any run
 *   auto-applies when its auto-apply is on; both only if whoever queued it may apply: `confirmed`;
 * - otherwise the run waits for confirmation.
 */
export function nextStatusAfterPlanStage(point: PlanDecisionPoint, facts: PlanOutcomeFacts): RunStatus {
  const nextStage = stagesAfter(point).find((stage) => isStageEnabled(stage, facts));
  if (nextStage !== undefined) return runningStatusOf(nextStage);
  if (facts.planOnly) return "planned_and_finished";
  if (!facts.hasChanges && !facts.allowEmptyApply) return "planned_and_finished";
  if (facts.savePlan) return "planned_and_saved";
  const appliesItself = facts.autoApply || (!facts.hasChanges && facts.allowEmptyApply);
  if (appliesItself && facts.canAutoApply) return "confirmed";
  return point === "planning" ? "planned" : point;
}

/** The status right after `planning` ends successfully. */
export function statusAfterPlan(facts: PlanOutcomeFacts): RunStatus {
  return nextStatusAfterPlanStage("planning", facts);
}

export type PolicyCheckResult = "passed" | "soft_failed" | "hard_failed";

/**
 * A soft failure waits for an override, except on a plan-only run, which can never be applied and so
 * ends in `policy_soft_failed` (a final status). A hard failure errors the run.
 */
export function statusAfterPolicyCheck(result: PolicyCheckResult, planOnly: boolean): RunStatus {
  switch (result) {
    case "passed":
      return "policy_checked";
    case "soft_failed":
      return planOnly ? "policy_soft_failed" : "policy_override";
    case "hard_failed":
      return "errored";
  }
}
