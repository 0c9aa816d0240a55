import {
  DISCARDABLE_STATUSES,
  FINAL_STATUSES,
  IN_FLIGHT_STATUSES,
  isFinalStatus,
  isInStatusGroup,
  isPhaseFinal,
  isRunStatus,
  PHASE_STATUSES,
  RUN_STATUSES,
  runStatusSchema,
  STATUS_GROUPS,
  statusesInGroup,
  statusGroupSchema,
} from "./statuses";

// Copied from the "Run States" table of the Runs API reference, in its order.
const REFERENCE_STATES = `
pending fetching fetching_completed pre_plan_running pre_plan_completed queuing plan_queued planning
planned cost_estimating cost_estimated policy_checking policy_override policy_soft_failed policy_checked
confirmed post_plan_running post_plan_completed planned_and_finished planned_and_saved apply_queued
applying applied discarded errored canceled force_canceled
`.trim().split(/\s+/);
// The run task stages around the apply, from the OpenAPI spec's run status enum.
const APPLY_STAGE_STATES = ["pre_apply_running", "pre_apply_completed", "post_apply_running", "post_apply_completed"];
const ALL_STATES = [
  ...REFERENCE_STATES.slice(0, REFERENCE_STATES.indexOf("apply_queued")),
  "pre_apply_running",
  "pre_apply_completed",
  "apply_queued",
  "applying",
  "post_apply_running",
  "post_apply_completed",
  ...REFERENCE_STATES.slice(REFERENCE_STATES.indexOf("applied")),
];

const REFERENCE_FINAL = ["applied", "planned_and_finished", "policy_soft_failed", "discarded", "errored", "canceled", "force_canceled"];
// The reference's discardable group, verbatim.
const REFERENCE_DISCARDABLE = [
  "planned",
  "planned_and_saved",
  "cost_estimated",
  "policy_checked",
  "policy_override",
  "post_plan_running",
  "post_plan_completed",
];

const sorted = (xs: readonly string[]) => [...xs].sort();

describe("run statuses", () => {
  it("are the 27 states of the reference and the four apply task stage states, in run order", () => {
    expect(REFERENCE_STATES).toHaveLength(27);
    expect([...RUN_STATUSES]).toEqual(ALL_STATES);
    expect(ALL_STATES).toHaveLength(31);
  });

  it("recognises run statuses and rejects others", () => {
    for (const s of ALL_STATES) expect(isRunStatus(s)).toBe(true);
    for (const s of ["queuing_apply", "PENDING", "", "assessed", 3, null]) expect(isRunStatus(s)).toBe(false);
    expect(runStatusSchema.safeParse("planned_and_saved").success).toBe(true);
    expect(runStatusSchema.safeParse("post_apply_running").success).toBe(true);
  });

  it("has exactly the seven final statuses of the docs, planned_and_saved excluded", () => {
    expect(sorted(FINAL_STATUSES)).toEqual(sorted(REFERENCE_FINAL));
    expect(isFinalStatus("planned_and_saved")).toBe(false);
    for (const s of RUN_STATUSES) expect(isFinalStatus(s)).toBe(REFERENCE_FINAL.includes(s));
  });
});

describe("status groups", () => {
  it("are the three groups of the reference", () => {
    expect([...STATUS_GROUPS]).toEqual(["non_final", "final", "discardable"]);
    expect(statusGroupSchema.safeParse("discardable").success).toBe(true);
    expect(statusGroupSchema.safeParse("running").success).toBe(false);
  });

  it("final holds the final statuses", () => {
    expect(sorted(statusesInGroup("final"))).toEqual(sorted(REFERENCE_FINAL));
  });

  it("non_final holds every other status", () => {
    expect(sorted(statusesInGroup("non_final"))).toEqual(sorted(ALL_STATES.filter((s) => !REFERENCE_FINAL.includes(s))));
    expect(statusesInGroup("non_final")).toHaveLength(24);
    for (const s of APPLY_STAGE_STATES) expect(isInStatusGroup(s as never, "discardable")).toBe(false);
  });

  it("discardable is the reference's list verbatim", () => {
    expect(sorted(statusesInGroup("discardable"))).toEqual(sorted(REFERENCE_DISCARDABLE));
    expect(sorted(DISCARDABLE_STATUSES)).toEqual(sorted(REFERENCE_DISCARDABLE));
  });

  it("answers membership for every status and group", () => {
    for (const s of RUN_STATUSES) {
      expect(isInStatusGroup(s, "final")).toBe(REFERENCE_FINAL.includes(s));
      expect(isInStatusGroup(s, "non_final")).toBe(!REFERENCE_FINAL.includes(s));
      expect(isInStatusGroup(s, "discardable")).toBe(REFERENCE_DISCARDABLE.includes(s));
    }
  });

  it("splits non-final statuses into in-flight ones and those awaiting a person", () => {
    const awaiting = ["planned", "planned_and_saved", "cost_estimated", "policy_checked", "policy_override", "post_plan_completed"];
    const expected = ALL_STATES.filter((s) => !REFERENCE_FINAL.includes(s) && !awaiting.includes(s));
    expect(sorted(IN_FLIGHT_STATUSES)).toEqual(sorted(expected));
  });
});

describe("phase statuses", () => {
  it("are the plan/apply enum with four final values", () => {
    expect([...PHASE_STATUSES]).toEqual(["pending", "managed_queued", "queued", "running", "errored", "canceled", "finished", "unreachable"]);
    const finals = PHASE_STATUSES.filter(isPhaseFinal);
    expect(finals).toEqual(["errored", "canceled", "finished", "unreachable"]);
  });
});
