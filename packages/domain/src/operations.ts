import { z } from "zod";

/** The reference's "Run Operations", usable in `filter[operation]`. */
export const RUN_OPERATIONS = [
  "plan_only",
  "plan_and_apply",
  "save_plan",
  "refresh_only",
  "destroy",
  "empty_apply",
] as const;

export type RunOperation = (typeof RUN_OPERATIONS)[number];
export const runOperationSchema = z.enum(RUN_OPERATIONS);

/** The reference's "Run Sources", usable in `filter[source]`. */
export const RUN_SOURCES = ["tfe-ui", "tfe-api", "tfe-configuration-version"] as const;

export type RunSource = (typeof RUN_SOURCES)[number];
export const runSourceSchema = z.enum(RUN_SOURCES);

export interface OperationFacts {
  planOnly: boolean;
  savePlan: boolean;
  refreshOnly: boolean;
  isDestroy: boolean;
  allowEmptyApply: boolean;
}

/**
 * Each run has exactly one operation although its attributes can combine (a speculative destroy, a
 * saved refresh-only plan). The first that applies wins, in this order:
 * 1. `plan_only`: whether the run can apply at all is what users filter on first, and
 *    `GET /workspaces/:id/runs` hides these by default;
 * 2. `save_plan`: a saved plan only applies if a user later chooses to;
 * 3. `refresh_only` and 4. `destroy`: the mode of the plan (the two are mutually exclusive);
 * 5. `empty_apply`: an apply allowed to change nothing;
 * 6. `plan_and_apply`: everything else.
 */
export function runOperation(facts: OperationFacts): RunOperation {
  if (facts.planOnly) return "plan_only";
  if (facts.savePlan) return "save_plan";
  if (facts.refreshOnly) return "refresh_only";
  if (facts.isDestroy) return "destroy";
  if (facts.allowEmptyApply) return "empty_apply";
  return "plan_and_apply";
}
