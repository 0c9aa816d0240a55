import { readdir } from "node:fs/promises";
import path from "node:path";
import { waitFor } from "@tarmac/testing";
import { queueRuns, sandboxDirs, settleAndReport, startFaultStack, statusesOf, timedConfiguration, waitForStatuses, type FaultStack } from "./fault-stack";

/**
 * kill -9 of a worker or a scheduler. A dead worker's phase is failed once its job lock
 * expires (the run settles, the next one may start) and its sandbox is removed by the next
 * worker to start on the machine; a dead scheduler costs nothing another one cannot redo.
 */

let stack: FaultStack;

beforeAll(async () => {
  stack = await startFaultStack();
}, 240_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

describe("process kills", () => {
  it("settles the run of a worker killed mid-plan and removes its sandbox when a worker starts again", async () => {
    const runs = await queueRuns(stack, 1, timedConfiguration(120));
    await waitForStatuses(stack, runs, (s) => s === "planning", 90_000, "the run planning");
    await waitFor(async () => ((await sandboxDirs(stack)).some((d) => path.basename(d).startsWith("plan-")) ? true : undefined), {
      timeoutMs: 30_000,
      what: "the plan's sandbox",
    });
    const left = await sandboxDirs(stack);

    await stack.workers[0]!.kill();
    const killedAt = Date.now();
    // Nothing removes a dead process's sandbox by itself.
    expect(await sandboxDirs(stack)).toEqual(left);

    await stack.startWorker();
    const root = path.join(stack.workDir, "sandboxes");
    const deadDirs = new Set(left.map((d) => d.split(path.sep)[0]!));
    await waitFor(async () => ((await readdir(root)).some((d) => deadDirs.has(d)) ? undefined : true), {
      timeoutMs: 30_000,
      what: "the dead worker's sandboxes to be removed",
    });

    // The phase's job lock expires (30 s) and the reconcile loop fails the phase.
    const figures = await settleAndReport(stack, "worker-kill-9-mid-plan", runs, killedAt, 120_000);
    expect(figures.runsLost).toBe(0);
    expect(figures.statuses).toEqual(["errored"]);

    // The restarted worker takes new work.
    const after = await queueRuns(stack, 1, timedConfiguration(0));
    await waitForStatuses(stack, after, (s) => s === "applied", 90_000, "a run after the restart to apply");
  }, 300_000);

  it("loses and errors no run when the scheduler is killed mid-pipeline and another starts", async () => {
    const runs = await queueRuns(stack, 3, timedConfiguration(3, 1));
    await waitFor(async () => ((await statusesOf(stack, runs)).includes("planning") ? true : undefined), {
      timeoutMs: 90_000,
      intervalMs: 200,
      what: "a run planning",
    });
    await stack.schedulers[0]!.kill();
    const killedAt = Date.now();
    await stack.startScheduler();
    const figures = await settleAndReport(stack, "scheduler-kill-9", runs, killedAt, 150_000);
    expect(figures.runsLost).toBe(0);
    expect(figures.runsErrored).toBe(0);
    expect(figures.statuses).toEqual(runs.map(() => "applied"));
  }, 300_000);
});
