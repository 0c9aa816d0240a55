import { canOverrideTaskStage, isTaskResultFinal, TASK_STAGES, taskStageFailureStopsRun, taskStageOfRunStatus, taskStageRunStatuses, taskStageStatusOf } from "./run-tasks";
import { canTransition } from "./transitions";

describe("task stage status", () => {
  it("runs while any result is not final", () => {
    expect(taskStageStatusOf([{ status: "passed", enforcementLevel: "mandatory" }, { status: "running", enforcementLevel: "advisory" }], false)).toBe("running");
    expect(taskStageStatusOf([{ status: "pending", enforcementLevel: "advisory" }], true)).toBe("running");
  });

  it("passes when every mandatory task passed, whatever advisory tasks said", () => {
    expect(taskStageStatusOf([{ status: "passed", enforcementLevel: "mandatory" }, { status: "failed", enforcementLevel: "advisory" }, { status: "errored", enforcementLevel: "advisory" }], false)).toBe("passed");
  });

  it("fails on a failed or errored mandatory task, or awaits an override where allowed", () => {
    expect(taskStageStatusOf([{ status: "failed", enforcementLevel: "mandatory" }], false)).toBe("failed");
    expect(taskStageStatusOf([{ status: "errored", enforcementLevel: "mandatory" }], false)).toBe("failed");
    expect(taskStageStatusOf([{ status: "failed", enforcementLevel: "mandatory" }], true)).toBe("awaiting_override");
  });

  it("allows overrides only after a plan that can still apply", () => {
    expect(canOverrideTaskStage("post_plan", false)).toBe(true);
    expect(canOverrideTaskStage("post_plan", true)).toBe(false);
    expect(canOverrideTaskStage("pre_plan", false)).toBe(false);
    // A failed pre-apply stage errors the run (HCP's run states); after the apply nothing is stopped.
    expect(canOverrideTaskStage("pre_apply", false)).toBe(false);
    expect(canOverrideTaskStage("post_apply", false)).toBe(false);
  });

  it("stops the run on a failed stage everywhere but after the apply", () => {
    expect(TASK_STAGES.filter(taskStageFailureStopsRun)).toEqual(["pre_plan", "post_plan", "pre_apply"]);
  });

  it("finds the stage of each stage's running status, and of no other status", () => {
    for (const stage of TASK_STAGES) expect(taskStageOfRunStatus(taskStageRunStatuses(stage).running)).toBe(stage);
    expect(taskStageOfRunStatus("pre_apply_completed")).toBeNull();
    expect(taskStageOfRunStatus("applying")).toBeNull();
  });

  it("knows which result statuses are final", () => {
    expect(["passed", "failed", "errored", "canceled", "unreachable"].every(isTaskResultFinal)).toBe(true);
    expect(["pending", "running"].some(isTaskResultFinal)).toBe(false);
  });

  it("maps stages onto run statuses the transition table connects", () => {
    const pre = taskStageRunStatuses("pre_plan");
    expect(canTransition("pending", pre.running)).toBe(true);
    expect(canTransition(pre.running, pre.completed)).toBe(true);
    expect(canTransition(pre.completed, "plan_queued")).toBe(true);
    const post = taskStageRunStatuses("post_plan");
    expect(canTransition("planning", post.running)).toBe(true);
    expect(canTransition(post.running, post.completed)).toBe(true);
    expect(canTransition(post.running, "errored")).toBe(true);
    const preApply = taskStageRunStatuses("pre_apply");
    expect(canTransition("confirmed", preApply.running)).toBe(true);
    expect(canTransition(preApply.running, preApply.completed)).toBe(true);
    expect(canTransition(preApply.completed, "apply_queued")).toBe(true);
    expect(canTransition(preApply.running, "errored")).toBe(true);
    const postApply = taskStageRunStatuses("post_apply");
    expect(canTransition("applying", postApply.running)).toBe(true);
    expect(canTransition(postApply.running, postApply.completed)).toBe(true);
    expect(canTransition(postApply.completed, "applied")).toBe(true);
    expect(canTransition(postApply.running, "canceled")).toBe(false);
  });
});
