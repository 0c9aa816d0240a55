import { jobIdFor } from "@tarmac/contracts";
import { createPhaseWorker, getPhaseJobState } from "@tarmac/queues";
import { schedulerRepo } from "@tarmac/db";
import { waitFor } from "@tarmac/testing";
import { handleWorkspaceChanged, reconcileOnce } from "../src/engine";
import {
  completePlan,
  createOrganization,
  createRun,
  createWorkspace,
  currentRunOf,
  progress,
  REDIS_URL,
  startHarness,
  statusesOf,
  statusOf,
  type Harness,
} from "./fixtures";

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ heartbeatTimeoutMs: 30_000, reconcileGraceMs: 0 });
});

afterAll(async () => {
  await h.close();
});

describe("reconcile", () => {
  it("re-enqueues a queued run whose job Redis lost", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws);
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    await h.queues.plan.remove(jobIdFor("plan", run));
    expect(await getPhaseJobState(h.queues, "plan", run)).toBeNull();

    const report = await reconcileOnce(h.ctx);
    expect(report.reenqueued).toBeGreaterThanOrEqual(1);
    expect(await getPhaseJobState(h.queues, "plan", run)).toBe("waiting");
    const job = await h.queues.plan.getJob(jobIdFor("plan", run));
    // A fresh job URL for the plan phase, with its expiry and MAC in the path.
    expect(job?.data.jobUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:9/_jobs/${run}/plan/[0-9a-z]+\\.[A-Za-z0-9_-]{43}$`));
  });

  it("errors a phase whose worker stopped heartbeating and starts the next run", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const stuck = await createRun(h, ws);
    const next = await createRun(h, ws);
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    await progress(h, stuck, "plan", "started");
    await progress(h, stuck, "plan", "heartbeat");

    await reconcileOnce(h.ctx);
    expect(await statusOf(h.db, stuck)).toBe("planning"); // heartbeat is fresh

    const longAgo = new Date(Date.now() - 5 * 60_000);
    await h.db.plan.update({ where: { runId: stuck }, data: { heartbeatAt: longAgo } });
    const report = await reconcileOnce(h.ctx);
    expect(report.stalePhases).toBe(1);
    expect(await statusesOf(h.db, [stuck, next])).toEqual(["errored", "plan_queued"]);
    const plan = await h.db.plan.findUniqueOrThrow({ where: { runId: stuck } });
    expect(plan.status).toBe("errored");
    expect(await currentRunOf(h.db, ws.workspaceId)).toBe(next);

    // A late heartbeat or finish from the lost worker changes nothing.
    await progress(h, stuck, "plan", "heartbeat");
    await progress(h, stuck, "plan", "finished", { hasChanges: true });
    expect(await statusOf(h.db, stuck)).toBe("errored");
  });

  it("keeps a phase whose heartbeat events stopped while its worker still holds the job's lock", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws);
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let picked = false;
    // A live worker whose heartbeat events cannot reach the scheduler (NATS is down).
    const worker = createPhaseWorker({
      connection: REDIS_URL,
      prefix: h.queuePrefix,
      phase: "plan",
      concurrency: 1,
      processor: async (job) => {
        if (job.data.runId !== run) return; // earlier tests' queued runs
        picked = true;
        await held;
      },
    });
    try {
      await waitFor(async () => (picked ? true : undefined), { what: "job picked up" });
      await progress(h, run, "plan", "started");
      const longAgo = new Date(Date.now() - 5 * 60_000);
      await h.db.plan.update({ where: { runId: run }, data: { heartbeatAt: longAgo } });

      const report = await reconcileOnce(h.ctx);
      expect(report.stalePhases).toBe(0);
      expect(report.alivePhases).toBe(1);
      expect(await statusOf(h.db, run)).toBe("planning");
      const plan = await h.db.plan.findUniqueOrThrow({ where: { runId: run } });
      expect(plan.heartbeatAt!.getTime()).toBeGreaterThan(longAgo.getTime());
    } finally {
      release();
      await worker.close(5_000);
    }
  });

  it("replays the outcome a completed job kept when NATS lost the worker's events", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws);
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    // A worker whose started and finished events never reached the scheduler.
    const worker = createPhaseWorker({
      connection: REDIS_URL,
      prefix: h.queuePrefix,
      phase: "plan",
      concurrency: 1,
      processor: async (job) =>
        job.data.runId !== run
          ? null
          : { type: "phase.progress", runId: run, phase: "plan", kind: "finished", attempt: 1, sequence: 1, workerId: "w", at: new Date().toISOString(), hasChanges: false },
    });
    try {
      await waitFor(async () => ((await getPhaseJobState(h.queues, "plan", run)) === "completed" ? true : undefined), { what: "completed job" });
    } finally {
      await worker.close(5_000);
    }
    expect(await statusOf(h.db, run)).toBe("plan_queued");
    const report = await reconcileOnce(h.ctx);
    expect(report.replayedOutcomes).toBeGreaterThanOrEqual(1);
    expect(await statusOf(h.db, run)).toBe("planned_and_finished");
    expect((await h.db.plan.findUniqueOrThrow({ where: { runId: run } })).status).toBe("finished");
  });

  it("errors an apply that ran past its timeout", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws, { autoApply: true });
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    await completePlan(h, run, true);
    await progress(h, run, "apply", "started");
    const ctx = { ...h.ctx, settings: { ...h.ctx.settings, applyTimeoutMs: 1 } };
    await new Promise((r) => setTimeout(r, 5));
    await reconcileOnce(ctx);
    expect(await statusOf(h.db, run)).toBe("errored");
  });

  it("starts the head of an idle workspace whose run.created event was lost", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws);
    expect(await statusOf(h.db, run)).toBe("pending");
    await reconcileOnce(h.ctx);
    expect(await statusOf(h.db, run)).toBe("plan_queued");
    expect(await getPhaseJobState(h.queues, "plan", run)).toBe("waiting");
  });

  it("leaves a locked workspace's queue alone once its head shows as the current run", async () => {
    const org = await createOrganization(h.db);
    const locked = await createWorkspace(h.db, org, { locked: true });
    const queue = [await createRun(h, locked), await createRun(h, locked), await createRun(h, locked)];
    const idle = await createWorkspace(h.db, org);
    const idleRun = await createRun(h, idle);
    const bypassing = await createWorkspace(h.db, org, { locked: true });
    await createRun(h, bypassing);
    const speculative = await createRun(h, bypassing, { planOnly: true });
    const listed = () => schedulerRepo.listIdleWorkspacesWithWaitingRuns(h.db, 10_000);

    // Behind the lock, the head has not been shown as the current run yet: that is still to do.
    expect(await listed()).toEqual(expect.arrayContaining([locked.workspaceId, idle.workspaceId, bypassing.workspaceId]));
    await reconcileOnce(h.ctx);
    expect(await currentRunOf(h.db, locked.workspaceId)).toBe(queue[0]);
    expect(await statusesOf(h.db, queue)).toEqual(["pending", "pending", "pending"]);
    expect(await statusOf(h.db, idleRun)).toBe("plan_queued");
    expect(await statusOf(h.db, speculative)).toBe("plan_queued");

    // Now every one of them waits for the unlock, or is started: none is read again.
    const after = await listed();
    expect(after).not.toContain(locked.workspaceId);
    expect(after).not.toContain(idle.workspaceId);
    expect(after).not.toContain(bypassing.workspaceId);

    // Unlocked without its event reaching the scheduler: the head starts on the next round.
    await h.db.workspace.update({ where: { id: locked.workspaceId }, data: { locked: false } });
    expect(await listed()).toContain(locked.workspaceId);
    await reconcileOnce(h.ctx);
    expect(await statusesOf(h.db, queue)).toEqual(["plan_queued", "pending", "pending"]);
    expect(await listed()).not.toContain(locked.workspaceId);
  });

  it("errors an apply whose job failed before it reported anything", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws, { autoApply: true });
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    await completePlan(h, run, true);
    // A worker that dies on the job: BullMQ fails it (no retries, see @tarmac/queues defaults).
    const worker = createPhaseWorker({
      connection: REDIS_URL,
      prefix: h.queuePrefix,
      phase: "apply",
      concurrency: 1,
      processor: async () => {
        throw new Error("worker died");
      },
    });
    try {
      await waitFor(async () => ((await getPhaseJobState(h.queues, "apply", run)) === "failed" ? true : undefined), { what: "failed job" });
    } finally {
      await worker.close(5_000);
    }
    await reconcileOnce(h.ctx);
    expect(await statusOf(h.db, run)).toBe("errored");
  });
});

describe("outbox pruning", () => {
  it("deletes published outbox rows older than a day and keeps the rest", async () => {
    const old = new Date(Date.now() - 2 * 24 * 3600_000);
    await h.db.outboxEvent.createMany({
      data: [
        { msgId: "prune-old-published", subject: "x", payload: {}, publishedAt: old, createdAt: old },
        { msgId: "prune-old-unpublished", subject: "x", payload: {}, createdAt: old },
        { msgId: "prune-new-published", subject: "x", payload: {}, publishedAt: new Date() },
      ],
    });
    await reconcileOnce(h.ctx);
    const left = await h.db.outboxEvent.findMany({ where: { msgId: { startsWith: "prune-" } }, select: { msgId: true } });
    expect(left.map((r) => r.msgId).sort()).toEqual(["prune-new-published", "prune-old-unpublished"]);
  });
});
