import { RUN_STATUSES, PHASE_STATUSES, type RunStatus, type PhaseStatus } from "./statuses";
import { canTransition, canTransitionPhase, statusesLeadingTo, transition } from "./transitions";

// The expected machine, written out independently of RUN_TRANSITIONS: "from: every allowed target".
// Unlisted statuses have no way out.
const EXPECTED = `
pending:             fetching pre_plan_running queuing plan_queued discarded errored canceled force_canceled
fetching:            fetching_completed errored canceled force_canceled
fetching_completed:  pre_plan_running queuing plan_queued errored canceled force_canceled
pre_plan_running:    pre_plan_completed errored canceled force_canceled
pre_plan_completed:  queuing plan_queued errored canceled force_canceled
queuing:             plan_queued errored canceled force_canceled
plan_queued:         planning errored canceled force_canceled
planning:            planned post_plan_running cost_estimating policy_checking planned_and_finished planned_and_saved confirmed errored canceled force_canceled
planned:             post_plan_running cost_estimating policy_checking planned_and_finished planned_and_saved confirmed discarded
post_plan_running:   post_plan_completed discarded errored canceled force_canceled
post_plan_completed: cost_estimating policy_checking planned_and_finished planned_and_saved confirmed discarded
cost_estimating:     cost_estimated errored canceled force_canceled
cost_estimated:      policy_checking planned_and_finished planned_and_saved confirmed discarded
policy_checking:     policy_checked policy_override policy_soft_failed errored canceled force_canceled
policy_override:     policy_checked discarded
policy_checked:      planned_and_finished planned_and_saved confirmed discarded
planned_and_saved:   confirmed discarded
confirmed:           pre_apply_running apply_queued errored canceled force_canceled
pre_apply_running:   pre_apply_completed errored canceled force_canceled
pre_apply_completed: apply_queued errored canceled force_canceled
apply_queued:        applying errored canceled force_canceled
applying:            post_apply_running applied errored canceled force_canceled
post_apply_running:  post_apply_completed errored
post_apply_completed: applied errored
`;

const expectedEdges = new Set<string>();
for (const line of EXPECTED.trim().split("\n")) {
  const [from, targets] = line.split(":") as [string, string];
  for (const to of targets.trim().split(/\s+/)) expectedEdges.add(`${from.trim()}>${to}`);
}

const FINALS = ["applied", "planned_and_finished", "policy_soft_failed", "discarded", "errored", "canceled", "force_canceled"];

describe("run state machine", () => {
  it("names only real statuses in the expected table", () => {
    for (const edge of expectedEdges) {
      const [from, to] = edge.split(">") as [RunStatus, RunStatus];
      expect(RUN_STATUSES).toContain(from);
      expect(RUN_STATUSES).toContain(to);
    }
  });

  describe.each(RUN_STATUSES.map((s) => [s]))("from %s", (from) => {
    it.each(RUN_STATUSES.map((s) => [s]))("to %s moves exactly as the table says, or is refused", (to) => {
      const allowed = expectedEdges.has(`${from}>${to}`);
      const result = transition(from, to);
      expect(result.ok).toBe(allowed);
      expect(canTransition(from, to)).toBe(allowed);
      expect(result.from).toBe(from);
      expect(result.to).toBe(to);
      if (!result.ok) expect(result.reason).toMatch(/\S/);
    });
  });

  it("has no way out of a final status, and says so", () => {
    for (const from of FINALS as RunStatus[]) {
      for (const to of RUN_STATUSES) {
        const result = transition(from, to);
        expect(result).toEqual({ ok: false, from, to, reason: `run is ${from}, a final status` });
      }
    }
  });

  it("refuses to stay in place", () => {
    for (const s of RUN_STATUSES) expect(transition(s, s).ok).toBe(false);
    expect(transition("planning", "planning")).toMatchObject({ reason: "run is already planning" });
  });

  it("explains a refused move between two live statuses", () => {
    expect(transition("planned", "applying")).toEqual({
      ok: false,
      from: "planned",
      to: "applying",
      reason: "a run cannot move from planned to applying",
    });
  });

  it("lists the statuses a compare-and-set may expect before a target", () => {
    expect(statusesLeadingTo("apply_queued")).toEqual(["confirmed", "pre_apply_completed"]);
    expect(statusesLeadingTo("applied")).toEqual(["applying", "post_apply_completed"]);
    expect(new Set(statusesLeadingTo("confirmed"))).toEqual(
      new Set(["planning", "planned", "post_plan_completed", "cost_estimated", "policy_checked", "planned_and_saved"]),
    );
    expect(statusesLeadingTo("pending")).toEqual([]);
  });

  it("reaches every status from pending", () => {
    const seen = new Set<RunStatus>(["pending"]);
    const frontier: RunStatus[] = ["pending"];
    while (frontier.length > 0) {
      const from = frontier.pop() as RunStatus;
      for (const to of RUN_STATUSES) {
        if (canTransition(from, to) && !seen.has(to)) {
          seen.add(to);
          frontier.push(to);
        }
      }
    }
    expect(seen.size).toBe(RUN_STATUSES.length);
  });
});

const EXPECTED_PHASE = `
pending:        managed_queued queued errored canceled unreachable
managed_queued: queued running errored canceled unreachable
queued:         running errored canceled unreachable
running:        finished errored canceled
`;
const expectedPhaseEdges = new Set<string>();
for (const line of EXPECTED_PHASE.trim().split("\n")) {
  const [from, targets] = line.split(":") as [string, string];
  for (const to of targets.trim().split(/\s+/)) expectedPhaseEdges.add(`${from.trim()}>${to}`);
}

describe("phase state machine", () => {
  it.each(PHASE_STATUSES.flatMap((from) => PHASE_STATUSES.map((to) => [from, to] as [PhaseStatus, PhaseStatus])))(
    "%s to %s moves exactly as the table says",
    (from, to) => {
      expect(canTransitionPhase(from, to)).toBe(expectedPhaseEdges.has(`${from}>${to}`));
    },
  );
});
