import {
  nextStatusAfterPlanStage,
  PLAN_DECISION_POINTS,
  statusAfterPlan,
  statusAfterPolicyCheck,
  type PlanOutcomeFacts,
} from "./plan-outcome";
import { canTransition } from "./transitions";

const base: PlanOutcomeFacts = {
  hasChanges: true,
  planOnly: false,
  savePlan: false,
  allowEmptyApply: false,
  autoApply: false,
  canAutoApply: true,
};

function allFactCombinations(): PlanOutcomeFacts[] {
  const keys = [
    "hasChanges",
    "planOnly",
    "savePlan",
    "allowEmptyApply",
    "autoApply",
    "canAutoApply",
    "postPlanEnabled",
    "costEstimationEnabled",
    "policyCheckEnabled",
  ] as const;
  const combos: PlanOutcomeFacts[] = [];
  for (let mask = 0; mask < 1 << keys.length; mask++) {
    const facts = { ...base };
    keys.forEach((key, i) => {
      facts[key] = (mask & (1 << i)) !== 0;
    });
    combos.push(facts);
  }
  return combos;
}

describe("status after a plan", () => {
  it("waits for confirmation when the plan has changes and the run does not auto-apply", () => {
    expect(statusAfterPlan(base)).toBe("planned");
  });

  it("finishes a plan-only run, changes or not", () => {
    expect(statusAfterPlan({ ...base, planOnly: true })).toBe("planned_and_finished");
    expect(statusAfterPlan({ ...base, planOnly: true, autoApply: true })).toBe("planned_and_finished");
    expect(statusAfterPlan({ ...base, planOnly: true, hasChanges: false, allowEmptyApply: true })).toBe("planned_and_finished");
  });

  it("finishes a plan without changes unless allow-empty-apply is set", () => {
    expect(statusAfterPlan({ ...base, hasChanges: false })).toBe("planned_and_finished");
    expect(statusAfterPlan({ ...base, hasChanges: false, autoApply: true })).toBe("planned_and_finished");
  });

  it("auto-applies an empty apply without changes even when auto-apply is off", () => {
    expect(statusAfterPlan({ ...base, hasChanges: false, allowEmptyApply: true })).toBe("confirmed");
  });

  it("saves a saved-plan run and never auto-applies it", () => {
    expect(statusAfterPlan({ ...base, savePlan: true })).toBe("planned_and_saved");
    expect(statusAfterPlan({ ...base, savePlan: true, autoApply: true })).toBe("planned_and_saved");
    expect(statusAfterPlan({ ...base, savePlan: true, hasChanges: false })).toBe("planned_and_finished");
  });

  it("auto-applies only when whoever queued the run may apply", () => {
    expect(statusAfterPlan({ ...base, autoApply: true })).toBe("confirmed");
    expect(statusAfterPlan({ ...base, autoApply: true, canAutoApply: false })).toBe("planned");
    expect(statusAfterPlan({ ...base, hasChanges: false, allowEmptyApply: true, canAutoApply: false })).toBe("planned");
  });

  it("runs the enabled stages first, in HCP's order, even for plan-only and no-change plans", () => {
    const all = { postPlanEnabled: true, costEstimationEnabled: true, policyCheckEnabled: true };
    expect(statusAfterPlan({ ...base, ...all })).toBe("post_plan_running");
    expect(statusAfterPlan({ ...base, costEstimationEnabled: true, policyCheckEnabled: true })).toBe("cost_estimating");
    expect(statusAfterPlan({ ...base, planOnly: true, policyCheckEnabled: true })).toBe("policy_checking");
    expect(statusAfterPlan({ ...base, hasChanges: false, costEstimationEnabled: true })).toBe("cost_estimating");
    expect(nextStatusAfterPlanStage("post_plan_completed", { ...base, ...all })).toBe("cost_estimating");
    expect(nextStatusAfterPlanStage("cost_estimated", { ...base, ...all })).toBe("policy_checking");
    expect(nextStatusAfterPlanStage("policy_checked", { ...base, ...all })).toBe("policy_checked");
  });

  it("continues the same decision after cost estimation", () => {
    const facts = { ...base, costEstimationEnabled: true };
    expect(nextStatusAfterPlanStage("cost_estimated", facts)).toBe("cost_estimated");
    expect(nextStatusAfterPlanStage("cost_estimated", { ...facts, autoApply: true })).toBe("confirmed");
    expect(nextStatusAfterPlanStage("cost_estimated", { ...facts, hasChanges: false })).toBe("planned_and_finished");
    expect(nextStatusAfterPlanStage("cost_estimated", { ...facts, savePlan: true })).toBe("planned_and_saved");
  });

  it("always names a legal move from its decision point, or the decision point itself to wait there", () => {
    for (const point of PLAN_DECISION_POINTS) {
      for (const facts of allFactCombinations()) {
        const next = nextStatusAfterPlanStage(point, facts);
        if (next === point) {
          expect(point).not.toBe("planning");
        } else {
          expect({ point, facts, next, legal: canTransition(point, next) }).toMatchObject({ legal: true });
        }
      }
    }
  });
});

describe("status after a policy check", () => {
  it("passes, waits for an override, ends a plan-only run, or errors", () => {
    expect(statusAfterPolicyCheck("passed", false)).toBe("policy_checked");
    expect(statusAfterPolicyCheck("passed", true)).toBe("policy_checked");
    expect(statusAfterPolicyCheck("soft_failed", false)).toBe("policy_override");
    expect(statusAfterPolicyCheck("soft_failed", true)).toBe("policy_soft_failed");
    expect(statusAfterPolicyCheck("hard_failed", false)).toBe("errored");
    expect(statusAfterPolicyCheck("hard_failed", true)).toBe("errored");
  });

  it("names legal moves from policy_checking", () => {
    for (const result of ["passed", "soft_failed", "hard_failed"] as const) {
      for (const planOnly of [false, true]) {
        expect(canTransition("policy_checking", statusAfterPolicyCheck(result, planOnly))).toBe(true);
      }
    }
  });
});
