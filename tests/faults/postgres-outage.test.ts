import { waitFor } from "@tarmac/testing";
import { queueRuns, settleAndReport, startFaultStack, statusesOf, timedConfiguration, type FaultStack } from "./fault-stack";

/**
 * PostgreSQL is the truth; while it is away the gateway cannot answer job URLs and the
 * scheduler cannot decide. Workers retry their requests (5xx, 503 + Retry-After, refused
 * connections) within a budget and consumers redeliver, so a short outage errors no run.
 */

let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack();
}, 240_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

const OUTAGE_MS = 20_000;

describe("PostgreSQL faults", () => {
  it("errors no run during a 20 s PostgreSQL outage", async () => {
    // Plans end during the outage: their uploads (plan file, JSON plan, log) meet a gateway without a database.
    const runs = await queueRuns(stack, 3, timedConfiguration(5));
    await waitFor(async () => ((await statusesOf(stack, runs)).every((s) => s === "planning") ? true : undefined), {
      timeoutMs: 90_000,
      intervalMs: 200,
      what: "every run planning",
    });
    await stack.infra.pg.stop();
    // The outage lasts a fixed time (the fault itself); API reads meanwhile count the 5xx answers.
    const outageEnds = Date.now() + OUTAGE_MS;
    while (Date.now() < outageEnds) {
      await statusesOf(stack, runs);
      await new Promise((r) => setTimeout(r, 2_000));
    }
    await stack.infra.pg.start();
    const figures = await settleAndReport(stack, "postgres-down-20s", runs, Date.now(), 150_000);
    expect(figures.runsLost).toBe(0);
    expect(figures.runsErrored).toBe(0);
    expect(figures.statuses).toEqual(runs.map(() => "applied"));
  }, 300_000);
});
