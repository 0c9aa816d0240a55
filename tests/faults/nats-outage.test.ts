import { waitFor } from "@tarmac/testing";
import { queueRuns, settleAndReport, startFaultStack, statusesOf, timedConfiguration, waitForStatuses, type FaultStack } from "./fault-stack";

/**
 * NATS carries every event, worker heartbeats included. An outage must fail nothing that is
 * running (liveness comes from the BullMQ job lock in Redis; final events are retried until
 * acknowledged), and a broker that comes back with an empty store must be repaired without
 * restarting anything (stream and durables re-created, reconcile re-derives the rest).
 */

let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack();
}, 240_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

const OUTAGE_MS = 60_000;

describe("NATS faults", () => {
  it("errors no running phase during a 60 s NATS outage, and every run still applies", async () => {
    // Plans outlast the outage's start and end during it: their final events wait for NATS.
    const runs = await queueRuns(stack, 3, timedConfiguration(15));
    await waitForStatuses(stack, runs, (s) => s === "planning", 90_000, "every run planning");

    await stack.infra.nats.stop();
    const erroredDuring = new Set<string>();
    // The outage lasts a fixed time (the fault itself); the runs are watched meanwhile.
    const outageEnds = Date.now() + OUTAGE_MS;
    while (Date.now() < outageEnds) {
      const statuses = await statusesOf(stack, runs);
      statuses.forEach((s, i) => s === "errored" && erroredDuring.add(runs[i]!));
      await new Promise((r) => setTimeout(r, 2_000));
    }
    await stack.infra.nats.start();
    const figures = await settleAndReport(stack, "nats-down-60s", runs, Date.now(), 120_000);

    expect(erroredDuring.size).toBe(0);
    expect(stack.improperErrors).toEqual([]);
    expect(figures.runsLost).toBe(0);
    expect(figures.runsErrored).toBe(0);
    expect(figures.statuses).toEqual(runs.map(() => "applied"));
  }, 300_000);

  it("completes every run when NATS restarts with an empty store, without restarting any process", async () => {
    const processes = [stack.gateway, ...stack.schedulers, ...stack.workers];
    const runs = await queueRuns(stack, 3, timedConfiguration(6));
    await waitFor(async () => ((await statusesOf(stack, runs)).includes("planning") ? true : undefined), {
      timeoutMs: 90_000,
      intervalMs: 300,
      what: "a run planning",
    });

    await stack.infra.nats.stop();
    await stack.infra.nats.wipeStore();
    await stack.infra.nats.start();
    const figures = await settleAndReport(stack, "nats-restarted-empty", runs, Date.now(), 150_000);

    expect(figures.runsLost).toBe(0);
    expect(figures.runsErrored).toBe(0);
    expect(figures.statuses).toEqual(runs.map(() => "applied"));
    for (const p of processes) expect(p.child.exitCode).toBeNull();

    // The repaired stream carries new work as before.
    const after = await queueRuns(stack, 1, timedConfiguration(0));
    await waitForStatuses(stack, after, (s) => s === "applied", 60_000, "a run after the repair to apply");
  }, 300_000);
});
