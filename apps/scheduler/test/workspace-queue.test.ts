import { getPhaseJobState } from "@tarmac/queues";
import { Client } from "pg";
import { advanceWorkspace, Effects, handleEvent, handleWorkspaceChanged, promoteQueuing, withWorkspace } from "../src/engine";
import {
  completePlan,
  createConfigurationVersion,
  createOrganization,
  createRun,
  createWorkspace,
  currentRunOf,
  requestAction,
  progress,
  startHarness,
  statusOf,
  statusesOf,
  type Harness,
} from "./fixtures";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

describe("per-workspace ordering", () => {
  it("starts runs one at a time in creation order", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const runs = [await createRun(h, ws), await createRun(h, ws), await createRun(h, ws)];

    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    expect(await statusesOf(h.db, runs)).toEqual(["plan_queued", "pending", "pending"]);
    expect(await currentRunOf(h.db, ws.workspaceId)).toBe(runs[0]);
    expect(await getPhaseJobState(h.queues, "plan", runs[0]!)).toBe("waiting");
    expect(await getPhaseJobState(h.queues, "plan", runs[1]!)).toBeNull();

    await completePlan(h, runs[0]!, false);
    expect(await statusesOf(h.db, runs)).toEqual(["planned_and_finished", "plan_queued", "pending"]);
    expect(await currentRunOf(h.db, ws.workspaceId)).toBe(runs[1]);
    const apply = await h.db.apply.findUniqueOrThrow({ where: { runId: runs[0]! } });
    expect(apply.status).toBe("unreachable");

    await progress(h, runs[1]!, "plan", "started");
    await progress(h, runs[1]!, "plan", "errored", { message: "boom" });
    expect(await statusesOf(h.db, runs)).toEqual(["planned_and_finished", "errored", "plan_queued"]);
    expect(await currentRunOf(h.db, ws.workspaceId)).toBe(runs[2]);
  });

  it("keeps a second run pending while the first awaits confirmation, then applies and moves on", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const first = await createRun(h, ws);
    const second = await createRun(h, ws);
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    await completePlan(h, first, true);
    expect(await statusesOf(h.db, [first, second])).toEqual(["planned", "pending"]);

    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    expect(await statusOf(h.db, second)).toBe("pending");

    // The user confirms (apply action); the scheduler carries it out.
    await requestAction(h, first, "apply");
    expect(await statusOf(h.db, first)).toBe("apply_queued");
    expect(await getPhaseJobState(h.queues, "apply", first)).toBe("waiting");
    expect(await statusOf(h.db, second)).toBe("pending");

    await progress(h, first, "apply", "started");
    expect(await statusOf(h.db, first)).toBe("applying");
    await progress(h, first, "apply", "finished", { resourceAdditions: 1 });
    expect(await statusesOf(h.db, [first, second])).toEqual(["applied", "plan_queued"]);
    const apply = await h.db.apply.findUniqueOrThrow({ where: { runId: first } });
    expect(apply.status).toBe("finished");
    expect(apply.resourceAdditions).toBe(1);
  });

  it("ignores repeated and late progress events", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws);
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    await completePlan(h, run, false);
    await progress(h, run, "plan", "started");
    await progress(h, run, "plan", "finished", { hasChanges: true });
    await progress(h, run, "plan", "errored");
    expect(await statusOf(h.db, run)).toBe("planned_and_finished");
    const statusEvents = await h.db.outboxEvent.count({ where: { subject: h.subjects.runStatusChanged(run) } });
    expect(statusEvents).toBe(3); // plan_queued, planning, planned_and_finished
    const history = await h.db.runEvent.findMany({ where: { runId: run }, orderBy: { createdAt: "asc" }, select: { action: true } });
    expect(history.map((e) => e.action)).toEqual(["created", "planned_and_finished"]);
  });

  it("auto-applies a run whose creator may apply", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws, { autoApply: true });
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    await completePlan(h, run, true);
    expect(await statusOf(h.db, run)).toBe("apply_queued");
    expect(await getPhaseJobState(h.queues, "apply", run)).toBe("waiting");
  });

  it("does not auto-apply a run queued by someone without apply access", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const outsider = "user-outsider0000000";
    await h.db.user.create({ data: { id: outsider, username: "outsider", email: "outsider@example.com" } });
    const run = await createRun(h, ws, { autoApply: true, createdById: outsider });
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    await completePlan(h, run, true);
    expect(await statusOf(h.db, run)).toBe("planned");
  });

  it("lets plan-only runs bypass the queue without taking the workspace", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const normal = await createRun(h, ws);
    const speculative = await createRun(h, ws, { planOnly: true });
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    await completePlan(h, normal, true); // now waits for confirmation, holding the workspace
    const later = await createRun(h, ws, { planOnly: true });
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    expect(await statusesOf(h.db, [normal, speculative, later])).toEqual(["planned", "plan_queued", "plan_queued"]);
    expect(await currentRunOf(h.db, ws.workspaceId)).toBe(normal);
    await completePlan(h, speculative, true);
    expect(await statusOf(h.db, speculative)).toBe("planned_and_finished");
  });

  it("plans a saved-plan run at once, and applies it only when it takes the workspace", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const holder = await createRun(h, ws);
    const saved = await createRun(h, ws, { savePlan: true });
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    expect(await statusesOf(h.db, [holder, saved])).toEqual(["plan_queued", "plan_queued"]);
    await completePlan(h, saved, true);
    await completePlan(h, holder, true);
    expect(await statusesOf(h.db, [holder, saved])).toEqual(["planned", "planned_and_saved"]);

    await requestAction(h, saved, "apply");
    expect(await statusOf(h.db, saved)).toBe("confirmed");

    await requestAction(h, holder, "discard");
    expect(await statusOf(h.db, saved)).toBe("apply_queued");
    expect(await currentRunOf(h.db, ws.workspaceId)).toBe(saved);
  });

  it("discards saved plans made stale by another run's apply", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const saved = await createRun(h, ws, { savePlan: true });
    const applying = await createRun(h, ws, { autoApply: true });
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    await completePlan(h, saved, true);
    await completePlan(h, applying, true);
    await progress(h, applying, "apply", "started");
    await progress(h, applying, "apply", "finished");
    expect(await statusesOf(h.db, [saved, applying])).toEqual(["discarded", "applied"]);
  });

  it("keeps runs pending behind a user's lock, then starts them when unlocked", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org, { locked: true });
    const run = await createRun(h, ws);
    const speculative = await createRun(h, ws, { planOnly: true });
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    expect(await statusesOf(h.db, [run, speculative])).toEqual(["pending", "plan_queued"]);
    expect(await currentRunOf(h.db, ws.workspaceId)).toBe(run);

    await h.db.workspace.update({ where: { id: ws.workspaceId }, data: { locked: false } });
    await handleEvent(h.ctx, { type: "workspace.lock_changed", workspaceId: ws.workspaceId, locked: false, lockedBy: null, at: new Date().toISOString() });
    expect(await statusOf(h.db, run)).toBe("plan_queued");
  });

  it("waits for a run's configuration upload, keeping later runs behind it", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const cv = await createConfigurationVersion(h.db, ws.workspaceId, "pending");
    const waiting = await createRun(h, ws, { configurationVersionId: cv });
    const behind = await createRun(h, ws);
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    expect(await statusesOf(h.db, [waiting, behind])).toEqual(["pending", "pending"]);

    await h.db.configurationVersion.update({ where: { id: cv }, data: { status: "uploaded" } });
    await handleEvent(h.ctx, { type: "configuration_version.uploaded", configurationVersionId: cv, workspaceId: ws.workspaceId, status: "uploaded", at: new Date().toISOString() });
    expect(await statusesOf(h.db, [waiting, behind])).toEqual(["plan_queued", "pending"]);
  });
});

describe("organization concurrency", () => {
  /** An organization with one slot, taken by `first` (workspace a); `second` (b) is still pending. */
  async function oneSlotTwoWorkspaces() {
    const org = await createOrganization(h.db, { runConcurrency: 1 });
    const a = await createWorkspace(h.db, org);
    const b = await createWorkspace(h.db, org);
    const first = await createRun(h, a);
    const second = await createRun(h, b);
    await handleWorkspaceChanged(h.ctx, a.workspaceId);
    return { org, b, first, second };
  }

  it("puts runs beyond the organization's limit in queuing and promotes them as slots free", async () => {
    const { b, first, second } = await oneSlotTwoWorkspaces();
    await handleWorkspaceChanged(h.ctx, b.workspaceId);
    expect(await statusesOf(h.db, [first, second])).toEqual(["plan_queued", "queuing"]);
    expect(await currentRunOf(h.db, b.workspaceId)).toBe(second);
    expect(await getPhaseJobState(h.queues, "plan", second)).toBeNull();

    // Awaiting confirmation frees the slot (only queued and running phases count).
    await completePlan(h, first, true);
    expect(await statusesOf(h.db, [first, second])).toEqual(["planned", "plan_queued"]);
    expect(await getPhaseJobState(h.queues, "plan", second)).toBe("waiting");
  });

  it("promotes a run that entered queuing while the slot it waits for was freed", async () => {
    const { org, b, first, second } = await oneSlotTwoWorkspaces();
    await withWorkspace(h.ctx, b.workspaceId, async (tx, effects) => {
      await advanceWorkspace(tx, h.ctx, b.workspaceId, effects);
      // The first run frees its slot and commits while this decision is still open: the promotion
      // that follows its commit finds nobody queuing yet (`second` is not committed).
      await h.db.$executeRaw`UPDATE runs SET status = 'planned' WHERE id = ${first}`;
      expect(await promoteQueuing(h.ctx, org.organizationId, new Effects())).toBe(0);
    });
    // The promotion asked for by the move to queuing, after its commit, finds the free slot.
    expect(await statusesOf(h.db, [first, second])).toEqual(["planned", "plan_queued"]);
    expect(await getPhaseJobState(h.queues, "plan", second)).toBe("waiting");
  });
});

describe("several scheduler replicas", () => {
  it("never starts two runs of one workspace, however their decisions interleave", async () => {
    const org = await createOrganization(h.db);
    const replicas = [h.makeReplica(), h.makeReplica()];
    try {
      for (let round = 0; round < 5; round++) {
        const ws = await createWorkspace(h.db, org);
        const runs = [await createRun(h, ws), await createRun(h, ws), await createRun(h, ws)];
        await Promise.all(
          Array.from({ length: 8 }, (_, i) =>
            withWorkspace(replicas[i % 2]!, ws.workspaceId, (tx, fx) => advanceWorkspace(tx, replicas[i % 2]!, ws.workspaceId, fx)),
          ),
        );
        expect(await statusesOf(h.db, runs)).toEqual(["plan_queued", "pending", "pending"]);
        // Both replicas receive the plan's completion (a redelivery) at the same time.
        await progress(h, runs[0]!, "plan", "started");
        await Promise.all(replicas.map((r) => progress(h, runs[0]!, "plan", "finished", { hasChanges: false }, r)));
        expect(await statusesOf(h.db, runs)).toEqual(["planned_and_finished", "plan_queued", "pending"]);
      }
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });

  /** Holds the workspace's row lock from another connection, as a busy transaction would. */
  async function holdWorkspaceLock(workspaceId: string): Promise<{ release(): Promise<void> }> {
    const client = new Client({ connectionString: h.database.url });
    await client.connect();
    await client.query("BEGIN");
    await client.query("SELECT id FROM workspaces WHERE id = $1 FOR UPDATE", [workspaceId]);
    return {
      async release() {
        await client.query("ROLLBACK");
        await client.end();
      },
    };
  }

  /**
   * Whether `work` finishes within `waitMs` while the workspace's row lock is held elsewhere; the
   * lock is released then, and the work awaited to its end either way.
   */
  async function finishesUnderForeignLock(workspaceId: string, work: () => Promise<unknown>, waitMs = 10_000): Promise<boolean> {
    const lock = await holdWorkspaceLock(workspaceId);
    let running: Promise<unknown> | undefined;
    try {
      running = work();
      const outcome = await Promise.race([running.then(() => "done"), new Promise((r) => setTimeout(() => r("blocked"), waitMs))]);
      return outcome === "done";
    } finally {
      await lock.release();
      await running;
    }
  }

  describe("the created event of a run", () => {
    const created = (runId: string, ws: { workspaceId: string; organizationId: string }) =>
      handleEvent(h.ctx, { type: "run.created", runId, workspaceId: ws.workspaceId, organizationId: ws.organizationId, speculative: false, at: new Date().toISOString() });

    it("takes no workspace lock for a run that can only wait behind the run holding the workspace", async () => {
      const org = await createOrganization(h.db);
      const ws = await createWorkspace(h.db, org);
      const first = await createRun(h, ws);
      await handleWorkspaceChanged(h.ctx, ws.workspaceId);
      const second = await createRun(h, ws);
      expect(await finishesUnderForeignLock(ws.workspaceId, () => created(second, ws))).toBe(true);
      expect(await statusesOf(h.db, [first, second])).toEqual(["plan_queued", "pending"]);
    });

    it("still starts a plan-only run behind the queue, and shows a locked workspace's new head", async () => {
      const org = await createOrganization(h.db);
      const held = await createWorkspace(h.db, org);
      await createRun(h, held);
      await handleWorkspaceChanged(h.ctx, held.workspaceId);
      const speculative = await createRun(h, held, { planOnly: true });
      await created(speculative, held);
      expect(await statusOf(h.db, speculative)).toBe("plan_queued");

      const locked = await createWorkspace(h.db, org, { locked: true });
      const head = await createRun(h, locked);
      expect(await finishesUnderForeignLock(locked.workspaceId, () => created(head, locked), 1_000)).toBe(false);
      expect(await currentRunOf(h.db, locked.workspaceId)).toBe(head);
      const behind = await createRun(h, locked);
      expect(await finishesUnderForeignLock(locked.workspaceId, () => created(behind, locked))).toBe(true);
      expect(await currentRunOf(h.db, locked.workspaceId)).toBe(head);
      expect(await statusesOf(h.db, [head, behind])).toEqual(["pending", "pending"]);
    });
  });

  describe("the status event of a run that ended", () => {

    it("takes no workspace lock when the transaction that ended the run released the workspace", async () => {
      const org = await createOrganization(h.db);
      const ws = await createWorkspace(h.db, org);
      const first = await createRun(h, ws);
      const second = await createRun(h, ws);
      await handleWorkspaceChanged(h.ctx, ws.workspaceId);
      await completePlan(h, first, false);
      expect(await statusesOf(h.db, [first, second])).toEqual(["planned_and_finished", "plan_queued"]);

      // The next run's worker reports `started` while the ended run's status event is handled:
      // that event must not queue for the lock the worker's event needs.
      const handled = await finishesUnderForeignLock(ws.workspaceId, () =>
        handleEvent(h.ctx, {
          type: "run.status_changed",
          runId: first,
          workspaceId: ws.workspaceId,
          organizationId: org.organizationId,
          from: "planning",
          to: "planned_and_finished",
          at: new Date().toISOString(),
        }),
      );
      expect(handled).toBe(true);
      expect(await statusesOf(h.db, [first, second])).toEqual(["planned_and_finished", "plan_queued"]);
    });

    it("releases the workspace, under its lock, when the run ended without that", async () => {
      const org = await createOrganization(h.db);
      const ws = await createWorkspace(h.db, org);
      const first = await createRun(h, ws);
      const second = await createRun(h, ws);
      await handleWorkspaceChanged(h.ctx, ws.workspaceId);
      await progress(h, first, "plan", "started");
      // Ended behind the scheduler's back (as a lost final event repaired by hand would be):
      // nothing settled its plan or started the next run.
      await h.db.run.update({ where: { id: first }, data: { status: "errored" } });

      const lock = await holdWorkspaceLock(ws.workspaceId);
      let done = false;
      const handled = handleEvent(h.ctx, {
        type: "run.status_changed",
        runId: first,
        workspaceId: ws.workspaceId,
        organizationId: org.organizationId,
        from: "planning",
        to: "errored",
        at: new Date().toISOString(),
      }).then(() => (done = true));
      await new Promise((r) => setTimeout(r, 500));
      expect(done).toBe(false); // waits for the lock: there is a decision to make
      await lock.release();
      await handled;
      expect(await statusesOf(h.db, [first, second])).toEqual(["errored", "plan_queued"]);
    });
  });
});
