import { Redis } from "ioredis";
import { waitFor } from "@tarmac/testing";
import { queueRuns, settleAndReport, startFaultStack, statusesOf, timedConfiguration, waitForStatuses, type FaultStack } from "./fault-stack";

/**
 * Redis holds the job queues, their locks, the rate limiter's counters and live logs: transport,
 * not truth (DESIGN invariant 3). Losing all of it mid-pipeline must lose no run: the reconcile
 * loop re-derives the jobs. Down for 60 s and back with its data, it must error no run: running phases keep running (their job locks may lapse meanwhile), the
 * API keeps answering (rate limits fail open), and work queued meanwhile is dispatched once
 * Redis is back.
 */

let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack();
}, 240_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

const OUTAGE_MS = 60_000;

describe("Redis faults", () => {
  it("errors no run during a 60 s Redis outage, and runs created meanwhile apply once it is back", async () => {
    // Plans outlast the outage's start and end during it: their job locks cannot be renewed.
    const planning = await queueRuns(stack, 3, timedConfiguration(15));
    await waitForStatuses(stack, planning, (s) => s === "planning", 90_000, "every run planning");

    await stack.infra.redis.stop();
    const outageEnds = Date.now() + OUTAGE_MS;
    // Created during the outage: the API needs only PostgreSQL; the job waits for Redis.
    const createdDuring = await queueRuns(stack, 1, timedConfiguration(1));
    const runs = [...planning, ...createdDuring];
    const erroredDuring = new Set<string>();
    while (Date.now() < outageEnds) {
      const statuses = await statusesOf(stack, runs);
      statuses.forEach((s, i) => s === "errored" && erroredDuring.add(runs[i]!));
      await new Promise((r) => setTimeout(r, 2_000));
    }
    await stack.infra.redis.start();
    const figures = await settleAndReport(stack, "redis-down-60s", runs, Date.now(), 150_000);

    expect(erroredDuring.size).toBe(0);
    expect(figures.runsLost).toBe(0);
    expect(figures.runsErrored).toBe(0);
    expect(figures.statuses).toEqual(runs.map(() => "applied"));
    expect(figures.internalErrors).toBe(0);
    expect(stack.improperErrors).toEqual([]);
    for (const p of [stack.gateway, ...stack.schedulers, ...stack.workers]) expect(p.child.exitCode).toBeNull();
  }, 330_000);

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
