import { isPhase, PHASE_QUEUED_STATUS, PHASE_RUNNING_STATUS, PHASES } from "./phases";
import {
  CAPACITY_STATUSES,
  IN_FLIGHT_STATUSES,
  isInFlight,
  NOT_STARTED_STATUSES,
  ORG_QUEUE_RUNNING_STATUSES,
  ORG_QUEUE_WAITING_STATUSES,
  PHASE_QUEUED_STATUSES,
  type RunStatus,
} from "./statuses";

describe("phases", () => {
  it("recognises exactly plan and apply", () => {
    expect(PHASES.filter(isPhase)).toEqual(["plan", "apply"]);
    expect(isPhase("destroy")).toBe(false);
    expect(isPhase("")).toBe(false);
  });

  it("occupies a capacity slot exactly while a phase is queued or running", () => {
    const phaseStatuses = PHASES.flatMap((p) => [PHASE_QUEUED_STATUS[p], PHASE_RUNNING_STATUS[p]]);
    expect([...phaseStatuses].sort()).toEqual([...CAPACITY_STATUSES].sort());
    expect(PHASES.map((p) => PHASE_QUEUED_STATUS[p])).toEqual([...PHASE_QUEUED_STATUSES]);
  });
});

describe("scheduling status lists", () => {
  const all: readonly (readonly RunStatus[])[] = [CAPACITY_STATUSES, NOT_STARTED_STATUSES, ORG_QUEUE_WAITING_STATUSES, ORG_QUEUE_RUNNING_STATUSES];

  it("hold only in-flight statuses, which a cancel is honoured in", () => {
    for (const list of all) for (const s of list) expect(isInFlight(s)).toBe(true);
  });

  it("split the organization queue into waiting and running runs with no overlap", () => {
    const waiting: readonly RunStatus[] = ORG_QUEUE_WAITING_STATUSES;
    for (const s of ORG_QUEUE_RUNNING_STATUSES) expect(waiting).not.toContain(s);
    expect(IN_FLIGHT_STATUSES).toEqual(expect.arrayContaining([...ORG_QUEUE_WAITING_STATUSES, ...ORG_QUEUE_RUNNING_STATUSES]));
  });

  it("treat a phase that runs terraform as started", () => {
    const notStarted: readonly RunStatus[] = NOT_STARTED_STATUSES;
    for (const p of PHASES) {
      expect(notStarted).toContain(PHASE_QUEUED_STATUS[p]);
      expect(notStarted).not.toContain(PHASE_RUNNING_STATUS[p]);
    }
  });
});
