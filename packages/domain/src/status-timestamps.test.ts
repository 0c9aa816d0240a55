import { PHASE_STATUSES, RUN_STATUSES } from "./statuses";
import { phaseTimestampKey, statusTimestampKey } from "./status-timestamps";

describe("status timestamp keys", () => {
  it("name a key for each of the 31 run statuses", () => {
    const keys = Object.fromEntries(RUN_STATUSES.map((s) => [s, statusTimestampKey(s)]));
    expect(keys).toEqual({
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
    });
    expect(new Set(Object.values(keys)).size).toBe(31);
  });

  it("name a key for each phase status, running as started-at", () => {
    expect(PHASE_STATUSES.map(phaseTimestampKey)).toEqual([
      "pending-at",
      "managed-queued-at",
      "queued-at",
      "started-at",
      "errored-at",
      "canceled-at",
      "finished-at",
      "unreachable-at",
    ]);
  });
});
