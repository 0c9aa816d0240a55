import { Redis } from "ioredis";
import { waitFor } from "@tarmac/testing";
import { queueRuns, settleAndReport, startFaultStack, statusesOf, timedConfiguration, type FaultStack } from "./fault-stack";

/**
 * Redis holds the job queues, locks and live logs: transport, not truth (DESIGN invariant 3).
 * Losing all of it mid-pipeline must lose no run: the reconcile loop re-derives the jobs.
 */

let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack();
}, 240_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

describe("Redis faults", () => {
  it("loses no run when Redis is flushed mid-pipeline", async () => {
    const runs = await queueRuns(stack, 4, timedConfiguration(4, 2));
    // Some running, some still queued or already applying: every stage of the pipeline.
    await waitFor(async () => ((await statusesOf(stack, runs)).includes("planning") ? true : undefined), {
      timeoutMs: 90_000,
      intervalMs: 200,
      what: "a run planning",
    });
    const redis = new Redis(stack.infra.redis.url);
    try {
      await redis.flushall();
    } finally {
      await redis.quit();
    }
    const figures = await settleAndReport(stack, "redis-flushall", runs, Date.now(), 150_000);
    expect(figures.runsLost).toBe(0);
    expect(figures.runsErrored).toBe(0);
    expect(figures.statuses).toEqual(runs.map(() => "applied"));
  }, 240_000);
});
