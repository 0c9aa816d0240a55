import { randomUUID } from "node:crypto";
import { jobIdFor, type PhaseJob } from "@tarmac/contracts";
import { waitFor } from "@tarmac/testing";
import { createPhaseQueues, createPhaseWorker, enqueuePhaseJob, getPhaseJobState, removePhaseJob, type PhaseWorker } from "./index";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const prefix = `tq${randomUUID().slice(0, 8)}`;
const queues = createPhaseQueues({ connection: REDIS_URL, prefix });
const workers: PhaseWorker[] = [];

const jobFor = (runId: string, phase: PhaseJob["phase"] = "plan"): PhaseJob => ({
  runId,
  phase,
  jobUrl: `http://127.0.0.1:1/_jobs/${runId}/secret`,
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.close(5_000)));
  await queues.plan.obliterate({ force: true });
  await queues.apply.obliterate({ force: true });
  await queues.close();
});

describe("phase queues", () => {
  it("enqueues a run's phase once however often it is asked", async () => {
    const runId = `run-${randomUUID()}`;
    const first = await enqueuePhaseJob(queues, jobFor(runId));
    const second = await enqueuePhaseJob(queues, jobFor(runId));
    expect(first).toEqual({ jobId: jobIdFor("plan", runId), added: true });
    expect(second).toEqual({ jobId: jobIdFor("plan", runId), added: false });
    expect(await queues.plan.getWaitingCount()).toBeGreaterThanOrEqual(1);
    const waiting = await queues.plan.getWaiting();
    expect(waiting.filter((j) => j.id === jobIdFor("plan", runId))).toHaveLength(1);
    expect(await getPhaseJobState(queues, "plan", runId)).toBe("waiting");
    expect(await getPhaseJobState(queues, "apply", runId)).toBeNull();
  });

  it("puts the job on the queue of its phase", async () => {
    const runId = `run-${randomUUID()}`;
    await enqueuePhaseJob(queues, jobFor(runId, "apply"));
    expect(await getPhaseJobState(queues, "apply", runId)).toBe("waiting");
    expect(await getPhaseJobState(queues, "plan", runId)).toBeNull();
    expect(await removePhaseJob(queues, "apply", runId)).toBe(true);
    expect(await getPhaseJobState(queues, "apply", runId)).toBeNull();
  });

  it("refuses a payload that breaks the job contract", async () => {
    await expect(enqueuePhaseJob(queues, { runId: "run-x", phase: "plan", jobUrl: "not a url" })).rejects.toThrow();
  });

  it("processes a job, and runs it again when re-enqueued after it completed or failed", async () => {
    const runId = `run-${randomUUID()}`;
    const seen: Array<{ runId: string; attemptsMade: number }> = [];
    let failNext = false;
    const w = createPhaseWorker({
      connection: REDIS_URL,
      prefix,
      phase: "apply",
      concurrency: 1,
      processor: async (job) => {
        seen.push({ runId: job.data.runId, attemptsMade: job.attemptsMade });
        if (failNext) throw new Error("terraform exploded");
      },
    });
    workers.push(w);

    await enqueuePhaseJob(queues, jobFor(runId, "apply"));
    await waitFor(async () => ((await getPhaseJobState(queues, "apply", runId)) === "completed" ? true : undefined), {
      what: "first job completed",
    });
    expect(seen).toEqual([{ runId, attemptsMade: 0 }]);

    failNext = true;
    const again = await enqueuePhaseJob(queues, jobFor(runId, "apply"));
    expect(again.added).toBe(true);
    await waitFor(async () => ((await getPhaseJobState(queues, "apply", runId)) === "failed" ? true : undefined), {
      what: "second job failed",
    });
    expect(seen).toHaveLength(2);

    // Failed jobs are not retried by BullMQ: the scheduler owns retries.
    const failed = await queues.apply.getJob(jobIdFor("apply", runId));
    expect(failed?.attemptsMade).toBe(1);

    failNext = false;
    await enqueuePhaseJob(queues, jobFor(runId, "apply"));
    await waitFor(async () => ((await getPhaseJobState(queues, "apply", runId)) === "completed" ? true : undefined), {
      what: "third job completed",
    });
    expect(seen).toHaveLength(3);
  });

  it("closes within its deadline, aborting a job that would run forever", async () => {
    const runId = `run-${randomUUID()}`;
    let started = false;
    let aborted = false;
    const w = createPhaseWorker({
      connection: REDIS_URL,
      prefix,
      phase: "plan",
      concurrency: 1,
      processor: (_job, signal) =>
        new Promise<void>((resolve) => {
          started = true;
          signal.addEventListener("abort", () => {
            aborted = true;
            resolve();
          });
        }),
    });
    await enqueuePhaseJob(queues, jobFor(runId));
    await waitFor(() => (started ? true : undefined), { what: "job started" });
    const t0 = Date.now();
    const finishedInTime = await w.close(300, 2_000);
    expect(finishedInTime).toBe(false);
    expect(aborted).toBe(true);
    expect(Date.now() - t0).toBeLessThan(3_000);
  });

  it("fails a job whose worker died instead of running it again", async () => {
    // Its own prefix: the stalled checker runs at most once per interval per queue, and the
    // other tests' workers use the default interval.
    const ownPrefix = `${prefix}s`;
    const own = createPhaseQueues({ connection: REDIS_URL, prefix: ownPrefix });
    const runId = `run-${randomUUID()}`;
    const runs: string[] = [];
    const dying = createPhaseWorker({
      connection: REDIS_URL,
      prefix: ownPrefix,
      phase: "plan",
      concurrency: 1,
      lockDuration: 1_000,
      stalledInterval: 500,
      processor: (job) => {
        runs.push(`dying:${job.data.runId}`);
        return new Promise<void>(() => undefined);
      },
    });
    await enqueuePhaseJob(own, jobFor(runId));
    await waitFor(() => (runs.length === 1 ? true : undefined), { what: "the job to start" });
    // A crash: the worker's connections go away without finishing or renewing the lock.
    await dying.worker.close(true);

    const survivor = createPhaseWorker({
      connection: REDIS_URL,
      prefix: ownPrefix,
      phase: "plan",
      concurrency: 1,
      lockDuration: 1_000,
      stalledInterval: 500,
      processor: async (job) => {
        runs.push(`survivor:${job.data.runId}`);
      },
    });
    workers.push(survivor);
    await waitFor(async () => ((await getPhaseJobState(own, "plan", runId)) === "failed" ? true : undefined), {
      timeoutMs: 15_000,
      what: "the stalled job to fail",
    });
    expect(runs).toEqual([`dying:${runId}`]);
    await survivor.close(5_000);
    await own.plan.obliterate({ force: true });
    await own.close();
  }, 30_000);
});
