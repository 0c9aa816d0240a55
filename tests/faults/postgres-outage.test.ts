import { queueRuns, settleAndReport, startFaultStack, statusesOf, timedConfiguration, waitForStatuses, type FaultStack } from "./fault-stack";

/**
 * PostgreSQL is the truth; while it is away the gateway cannot answer job URLs and the
 * scheduler cannot decide. Workers retry their requests (5xx, 503 + Retry-After, refused
 * connections) within a budget and consumers redeliver, so an outage of up to 60 s errors no
 * run, and every API answer meanwhile is a 503 with Retry-After, never a 500.
 */

let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack();
}, 240_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

const OUTAGE_MS = 60_000;

describe("PostgreSQL faults", () => {
  it("errors no run, and answers only 503 + Retry-After, during a 60 s PostgreSQL outage", async () => {
    // Phases end during the outage: plans' uploads (plan file, JSON plan, log) and applies'
    // uploads (state, log) meet a gateway without a database.
    const applying = await queueRuns(stack, 2, timedConfiguration(1, 15));
    const planning = await queueRuns(stack, 2, timedConfiguration(12));
    const runs = [...applying, ...planning];
    await waitForStatuses(stack, applying, (s) => s === "applying", 90_000, "runs applying");
    await waitForStatuses(stack, planning, (s) => s === "planning", 30_000, "runs planning");
    const before = stack.serverErrors;

    await stack.infra.pg.stop();
    const erroredDuring = new Set<string>();
    // The outage lasts a fixed time (the fault itself); API reads meanwhile are checked for 503s.
    const outageEnds = Date.now() + OUTAGE_MS;
    while (Date.now() < outageEnds) {
      const statuses = await statusesOf(stack, runs);
      statuses.forEach((s, i) => s === "errored" && erroredDuring.add(runs[i]!));
      await new Promise((r) => setTimeout(r, 2_000));
    }
    const duringOutage = stack.serverErrors - before;
    await stack.infra.pg.start();
    const figures = await settleAndReport(stack, "postgres-down-60s", runs, Date.now(), 150_000);

    // The API was read throughout, so the outage was seen as 5xx answers: all of them proper 503s.
    expect(duringOutage).toBeGreaterThan(0);
    expect(figures.internalErrors).toBe(0);
    expect(stack.improperErrors).toEqual([]);
    expect(erroredDuring.size).toBe(0);
    expect(figures.runsLost).toBe(0);
    expect(figures.runsErrored).toBe(0);
    expect(figures.statuses).toEqual(runs.map(() => "applied"));
    for (const p of [stack.gateway, ...stack.schedulers, ...stack.workers]) expect(p.child.exitCode).toBeNull();
  }, 330_000);
});
