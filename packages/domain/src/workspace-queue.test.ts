import { RUN_STATUSES } from "./statuses";
import { bypassesWorkspaceQueue, holdsWorkspace } from "./workspace-queue";

const FINALS = ["applied", "planned_and_finished", "policy_soft_failed", "discarded", "errored", "canceled", "force_canceled"];

describe("workspace holding", () => {
  it.each(RUN_STATUSES.map((s) => [s]))("a normal run in %s holds the workspace once past pending and until final", (status) => {
    expect(holdsWorkspace({ status, planOnly: false, savePlan: false })).toBe(status !== "pending" && !FINALS.includes(status));
  });

  it("keeps the workspace while a run waits for confirmation", () => {
    expect(holdsWorkspace({ status: "planned", planOnly: false, savePlan: false })).toBe(true);
    expect(holdsWorkspace({ status: "policy_override", planOnly: false, savePlan: false })).toBe(true);
  });

  it("never lets a plan-only run hold the workspace", () => {
    for (const status of RUN_STATUSES) expect(holdsWorkspace({ status, planOnly: true, savePlan: false })).toBe(false);
  });

  it("lets a saved-plan run hold the workspace only once its apply is confirmed", () => {
    const holding = RUN_STATUSES.filter((status) => holdsWorkspace({ status, planOnly: false, savePlan: true }));
    expect(holding).toEqual(["confirmed", "apply_queued", "applying"]);
  });

  it("lets plan-only and saved-plan runs skip the queue", () => {
    expect(bypassesWorkspaceQueue({ planOnly: true, savePlan: false })).toBe(true);
    expect(bypassesWorkspaceQueue({ planOnly: false, savePlan: true })).toBe(true);
    expect(bypassesWorkspaceQueue({ planOnly: false, savePlan: false })).toBe(false);
  });
});
