import { RUN_OPERATIONS, RUN_SOURCES, runOperation, runOperationSchema, runSourceSchema, type OperationFacts } from "./operations";

const none: OperationFacts = { planOnly: false, savePlan: false, refreshOnly: false, isDestroy: false, allowEmptyApply: false };

describe("run operations", () => {
  it("are the six of the reference", () => {
    expect([...RUN_OPERATIONS].sort()).toEqual(
      ["plan_only", "plan_and_apply", "save_plan", "refresh_only", "destroy", "empty_apply"].sort(),
    );
    expect(runOperationSchema.safeParse("destroy").success).toBe(true);
    expect(runOperationSchema.safeParse("apply").success).toBe(false);
  });

  it("derives each operation from the attribute that names it", () => {
    expect(runOperation(none)).toBe("plan_and_apply");
    expect(runOperation({ ...none, planOnly: true })).toBe("plan_only");
    expect(runOperation({ ...none, savePlan: true })).toBe("save_plan");
    expect(runOperation({ ...none, refreshOnly: true })).toBe("refresh_only");
    expect(runOperation({ ...none, isDestroy: true })).toBe("destroy");
    expect(runOperation({ ...none, allowEmptyApply: true })).toBe("empty_apply");
  });

  it("resolves combinations by priority: plan_only, save_plan, refresh_only, destroy, empty_apply", () => {
    const all: OperationFacts = { planOnly: true, savePlan: true, refreshOnly: true, isDestroy: true, allowEmptyApply: true };
    expect(runOperation(all)).toBe("plan_only");
    expect(runOperation({ ...all, planOnly: false })).toBe("save_plan");
    expect(runOperation({ ...all, planOnly: false, savePlan: false })).toBe("refresh_only");
    expect(runOperation({ ...all, planOnly: false, savePlan: false, refreshOnly: false })).toBe("destroy");
    expect(runOperation({ ...none, isDestroy: true, allowEmptyApply: true })).toBe("destroy");
    expect(runOperation({ ...none, planOnly: true, isDestroy: true })).toBe("plan_only");
  });
});

describe("run sources", () => {
  it("are the three of the reference", () => {
    expect([...RUN_SOURCES]).toEqual(["tfe-ui", "tfe-api", "tfe-configuration-version"]);
    expect(runSourceSchema.safeParse("tfe-api").success).toBe(true);
    expect(runSourceSchema.safeParse("vcs").success).toBe(false);
  });
});
