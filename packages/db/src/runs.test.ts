import { subjectsFor } from "@tarmac/contracts";
import { createTestDatabase, type TestDatabase } from "@tarmac/testing";
import { Client } from "pg";
import { createDb, inTransaction, type Db } from "./client";
import { seedWorkspace } from "./test-seed";
import { finishPhase, startQueuedPhase } from "./repositories/phases";
import { transitionRun } from "./runs";

/** DESIGN invariant 1: one writer per decision, by compare-and-set. */
describe("transitionRun", () => {
  let database: TestDatabase;
  let db: Db;
  const subjects = subjectsFor("tcas");

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, poolSize: 4 });
    await seedWorkspace(db);
  });
  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  const newRun = (id: string) =>
    db.run.create({
      data: { id, organizationId: "org-1", workspaceId: "ws-1", configurationVersionId: "cv-1", operation: "plan_and_apply", terraformVersion: "1.9.8" },
    });

  it("moves the status, stamps the timestamp and records the event in one transaction", async () => {
    await newRun("run-a");
    const at = new Date("2026-11-27T10:00:00.123Z");
    const result = await inTransaction(db, (tx) => transitionRun(tx, { runId: "run-a", from: "pending", to: "plan_queued", at, subjects }));
    expect(result).toEqual({ ok: true, workspaceId: "ws-1" });
    const run = await db.run.findUniqueOrThrow({ where: { id: "run-a" } });
    expect(run.status).toBe("plan_queued");
    expect(run.statusTimestamps).toEqual({ "plan-queued-at": "2026-11-27T10:00:00+00:00" });
    const events = await db.outboxEvent.findMany({ where: { subject: "tcas.runs.run-a.status" } });
    expect(events).toHaveLength(1);
    expect(events[0]?.payload).toMatchObject({ type: "run.status_changed", from: "pending", to: "plan_queued" });
  });

  it("is a no-op when the run is no longer in the expected status (a late or repeated event)", async () => {
    const result = await inTransaction(db, (tx) => transitionRun(tx, { runId: "run-a", from: "pending", to: "plan_queued", subjects }));
    expect(result).toEqual({ ok: false, reason: "stale" });
    expect(await db.outboxEvent.count({ where: { subject: "tcas.runs.run-a.status" } })).toBe(1);
  });

  it("refuses a move the state machine does not allow, and writes nothing", async () => {
    await newRun("run-b");
    const result = await inTransaction(db, (tx) => transitionRun(tx, { runId: "run-b", from: "pending", to: "applied", subjects }));
    expect(result).toEqual({ ok: false, reason: "not_allowed" });
    expect((await db.run.findUniqueOrThrow({ where: { id: "run-b" } })).status).toBe("pending");
  });

  it("lets exactly one of many concurrent writers win", async () => {
    await newRun("run-c");
    const attempts = await Promise.all(
      Array.from({ length: 8 }, () =>
        inTransaction(db, (tx) => transitionRun(tx, { runId: "run-c", from: "pending", to: "plan_queued", subjects })),
      ),
    );
    expect(attempts.filter((r) => r.ok)).toHaveLength(1);
    expect(await db.outboxEvent.count({ where: { subject: "tcas.runs.run-c.status" } })).toBe(1);
  });

  it("rolls the status back when the surrounding transaction fails", async () => {
    await newRun("run-d");
    await expect(
      inTransaction(db, async (tx) => {
        await transitionRun(tx, { runId: "run-d", from: "pending", to: "plan_queued", subjects });
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect((await db.run.findUniqueOrThrow({ where: { id: "run-d" } })).status).toBe("pending");
    expect(await db.outboxEvent.count({ where: { subject: "tcas.runs.run-d.status" } })).toBe(0);
  });

  describe("with the run's workspace and organization known (one statement)", () => {
    const owner = { workspaceId: "ws-1", organizationId: "org-1" };

    it("moves the status and records the event, as the two-statement form does", async () => {
      await newRun("run-e");
      const at = new Date("2026-11-27T10:00:00.123Z");
      const result = await inTransaction(db, (tx) => transitionRun(tx, { runId: "run-e", from: "pending", to: "plan_queued", at, subjects, owner }));
      expect(result).toEqual({ ok: true, workspaceId: "ws-1" });
      const run = await db.run.findUniqueOrThrow({ where: { id: "run-e" } });
      expect(run.status).toBe("plan_queued");
      expect(run.statusTimestamps).toEqual({ "plan-queued-at": "2026-11-27T10:00:00+00:00" });
      expect(run.statusChangedAt).toEqual(at);
      const events = await db.outboxEvent.findMany({ where: { subject: "tcas.runs.run-e.status" } });
      expect(events).toHaveLength(1);
      expect(events[0]?.payload).toEqual({
        type: "run.status_changed",
        runId: "run-e",
        workspaceId: "ws-1",
        organizationId: "org-1",
        from: "pending",
        to: "plan_queued",
        at: at.toISOString(),
      });
    });

    it("writes nothing when the run is no longer in the expected status", async () => {
      const result = await inTransaction(db, (tx) => transitionRun(tx, { runId: "run-e", from: "pending", to: "plan_queued", subjects, owner }));
      expect(result).toEqual({ ok: false, reason: "stale" });
      expect(await db.outboxEvent.count({ where: { subject: "tcas.runs.run-e.status" } })).toBe(1);
    });

    it("writes the patch's columns in the same statement, in both forms, and none of them when stale", async () => {
      await db.user.create({ data: { id: "user-p", username: "patcher", email: "patcher@example.com" } });
      const at = new Date("2026-11-27T11:00:00.456Z");
      const requested = new Date("2026-11-27T10:59:00.000Z");
      const patch = { canceledAt: at, canceledById: "user-p", cancelRequestedAt: requested, forceCancelAvailableAt: null, hasChanges: true };
      for (const [id, withOwner] of [["run-patch-1", true], ["run-patch-2", false]] as const) {
        await newRun(id);
        const result = await inTransaction(db, (tx) =>
          transitionRun(tx, { runId: id, from: "pending", to: "canceled", at, subjects, patch, ...(withOwner ? { owner } : {}) }),
        );
        expect(result).toEqual({ ok: true, workspaceId: "ws-1" });
        const run = await db.run.findUniqueOrThrow({ where: { id } });
        expect(run).toMatchObject({ status: "canceled", canceledAt: at, canceledById: "user-p", cancelRequestedAt: requested, forceCancelAvailableAt: null, hasChanges: true, confirmedById: null });
      }
      await newRun("run-patch-3");
      for (const owned of [{ owner }, {}]) {
        const stale = await inTransaction(db, (tx) => transitionRun(tx, { runId: "run-patch-3", from: "planning", to: "canceled", at, subjects, patch, ...owned }));
        expect(stale).toEqual({ ok: false, reason: "stale" });
      }
      expect(await db.run.findUniqueOrThrow({ where: { id: "run-patch-3" } })).toMatchObject({ status: "pending", canceledAt: null, canceledById: null, hasChanges: false });
    });

    it("is a statement prepared once per connection inside transactions, except through a transaction-mode pooler", async () => {
      const prepared = async (client: Db) =>
        (await client.$queryRaw<{ name: string }[]>`SELECT name FROM pg_prepared_statements ORDER BY name`).map((r) => r.name);
      const direct = createDb({ databaseUrl: database.url, poolSize: 1 });
      const url = new URL(database.url);
      url.searchParams.set("pgbouncer", "true");
      const pooler = createDb({ databaseUrl: url.toString(), poolSize: 1 });
      try {
        for (const [i, client] of [direct, pooler].entries()) {
          const id = `run-p${i}`;
          await newRun(id);
          // Each form twice on the one connection: the second use binds the prepared statement.
          const steps = [["pending", "plan_queued"], ["plan_queued", "planning"], ["planning", "planned"], ["planned", "confirmed"]] as const;
          for (const [k, [from, to]] of steps.entries()) {
            const runEvent = k % 2 === 1 ? { runEvent: { id: `re-${id}-${k}`, action: "confirmed", description: "step", actorId: null } } : {};
            await expect(inTransaction(client, (tx) => transitionRun(tx, { runId: id, from, to, subjects, owner, ...runEvent }))).resolves.toEqual({ ok: true, workspaceId: "ws-1" });
          }
          await expect(inTransaction(client, (tx) => transitionRun(tx, { runId: id, from: "pending", to: "plan_queued", subjects, owner }))).resolves.toEqual({ ok: false, reason: "stale" });
          expect((await db.run.findUniqueOrThrow({ where: { id } })).status).toBe("confirmed");
          expect(await db.outboxEvent.count({ where: { subject: `tcas.runs.${id}.status` } })).toBe(4);
          expect(await db.runEvent.count({ where: { runId: id } })).toBe(2);
        }
        expect(await prepared(direct)).toEqual(["tarmac_transition_run", "tarmac_transition_run_event"]);
        expect(await prepared(pooler)).toEqual([]);
      } finally {
        await direct.$disconnect();
        await pooler.$disconnect();
      }
    });

    it("lets exactly one of many concurrent writers win, and rolls back with its transaction", async () => {
      await newRun("run-f");
      const attempts = await Promise.all(
        Array.from({ length: 8 }, () => inTransaction(db, (tx) => transitionRun(tx, { runId: "run-f", from: "pending", to: "plan_queued", subjects, owner }))),
      );
      expect(attempts.filter((r) => r.ok)).toHaveLength(1);
      expect(await db.outboxEvent.count({ where: { subject: "tcas.runs.run-f.status" } })).toBe(1);

      await expect(
        inTransaction(db, async (tx) => {
          await transitionRun(tx, { runId: "run-f", from: "plan_queued", to: "planning", subjects, owner });
          throw new Error("boom");
        }),
      ).rejects.toThrow("boom");
      expect((await db.run.findUniqueOrThrow({ where: { id: "run-f" } })).status).toBe("plan_queued");
      expect(await db.outboxEvent.count({ where: { subject: "tcas.runs.run-f.status" } })).toBe(1);
    });
  });

  it.each([
    ["two statements", undefined],
    ["one statement", { workspaceId: "ws-1", organizationId: "org-1" }],
  ])("records the run's history entry with the change, and none for a stale move (%s)", async (_form, owner) => {
    const id = owner ? "run-h1" : "run-h2";
    await newRun(id);
    const at = new Date("2026-11-28T08:00:00.000Z");
    const runEvent = { id: `re-${id}`, action: "discarded", description: "Run discarded", actorId: null };
    const move = () =>
      inTransaction(db, (tx) => transitionRun(tx, { runId: id, from: "pending", to: "discarded", at, subjects, runEvent, ...(owner ? { owner } : {}) }));
    expect(await move()).toEqual({ ok: true, workspaceId: "ws-1" });
    const history = await db.runEvent.findMany({ where: { runId: id } });
    expect(history).toEqual([expect.objectContaining({ id: `re-${id}`, action: "discarded", description: "Run discarded", actorId: null, createdAt: at })]);
    await expect(move()).resolves.toEqual({ ok: false, reason: "stale" });
    expect(await db.runEvent.count({ where: { runId: id } })).toBe(1);
  });

  it.each([
    ["two statements", undefined],
    ["one statement", { workspaceId: "ws-1", organizationId: "org-1" }],
  ])("queues the phase's row and takes the workspace with the change, and neither for a stale move (%s)", async (_form, owner) => {
    const id = owner ? "run-q1" : "run-q2";
    await newRun(id);
    await db.plan.create({ data: { id: `plan-${id}`, runId: id } });
    await db.apply.create({ data: { id: `apply-${id}`, runId: id } });
    const at = new Date("2026-12-02T08:00:00.000Z");
    const move = () =>
      inTransaction(db, (tx) =>
        transitionRun(tx, { runId: id, from: "pending", to: "plan_queued", at, subjects, queuePhase: "plan", takeWorkspace: true, ...(owner ? { owner } : {}) }),
      );
    expect(await move()).toEqual({ ok: true, workspaceId: "ws-1" });
    expect(await db.plan.findUniqueOrThrow({ where: { runId: id } })).toMatchObject({ status: "queued", statusTimestamps: { "queued-at": "2026-12-02T08:00:00+00:00" } });
    expect((await db.apply.findUniqueOrThrow({ where: { runId: id } })).status).toBe("pending");
    expect((await db.workspace.findUniqueOrThrow({ where: { id: "ws-1" } })).currentRunId).toBe(id);

    // Stale: the workspace's current run and the phase stay as another decision left them.
    await db.workspace.update({ where: { id: "ws-1" }, data: { currentRunId: null } });
    await db.plan.update({ where: { runId: id }, data: { status: "running" } });
    await expect(move()).resolves.toEqual({ ok: false, reason: "stale" });
    expect((await db.workspace.findUniqueOrThrow({ where: { id: "ws-1" } })).currentRunId).toBeNull();
    expect((await db.plan.findUniqueOrThrow({ where: { runId: id } })).status).toBe("running");
  });

  /** A worker's `started` for a queued phase: one statement under the workspace's lock. */
  describe("startQueuedPhase", () => {
    const at = new Date("2026-12-02T10:00:00.500Z");
    const startedAt = new Date("2026-12-02T10:00:00.250Z");

    const newQueuedRun = async (id: string, status: "plan_queued" | "apply_queued" | "planning" | "canceled", phaseStatus: "queued" | "running" = "queued") => {
      await db.run.create({
        data: { id, organizationId: "org-1", workspaceId: "ws-1", configurationVersionId: "cv-1", operation: "plan_and_apply", terraformVersion: "1.9.8", status },
      });
      await db.plan.create({ data: { id: `plan-${id}`, runId: id, status: status === "apply_queued" ? "finished" : phaseStatus } });
      await db.apply.create({ data: { id: `apply-${id}`, runId: id, status: status === "apply_queued" ? "queued" : "pending" } });
    };
    const start = (runId: string, phase: "plan" | "apply" = "plan") =>
      startQueuedPhase(db, { runId, phase, workerId: "worker-1", startedAt, at, subjects, headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } });
    const statusEvents = (runId: string) => db.outboxEvent.findMany({ where: { subject: `tcas.runs.${runId}.status` } });

    it("moves the run to planning with its event and the plan to running with its worker", async () => {
      await newQueuedRun("run-sa", "plan_queued");
      expect(await start("run-sa")).toEqual({ workspaceId: "ws-1", organizationId: "org-1" });

      const run = await db.run.findUniqueOrThrow({ where: { id: "run-sa" } });
      expect(run.status).toBe("planning");
      expect(run.statusTimestamps).toEqual({ "planning-at": "2026-12-02T10:00:00+00:00" });
      expect(run.statusChangedAt).toEqual(at);
      const plan = await db.plan.findUniqueOrThrow({ where: { runId: "run-sa" } });
      expect(plan).toMatchObject({ status: "running", workerId: "worker-1", startedAt, heartbeatAt: startedAt });
      expect(plan.statusTimestamps).toEqual({ "started-at": "2026-12-02T10:00:00+00:00" });

      const events = await statusEvents("run-sa");
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        msgId: "run-status:run-sa:plan_queued:planning",
        payload: { type: "run.status_changed", runId: "run-sa", workspaceId: "ws-1", organizationId: "org-1", from: "plan_queued", to: "planning", at: at.toISOString() },
        headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
      });
    });

    it("moves an apply_queued run to applying", async () => {
      await newQueuedRun("run-sb", "apply_queued");
      expect(await start("run-sb", "apply")).not.toBeNull();
      expect((await db.run.findUniqueOrThrow({ where: { id: "run-sb" } })).status).toBe("applying");
      expect(await db.apply.findUniqueOrThrow({ where: { runId: "run-sb" } })).toMatchObject({ status: "running", workerId: "worker-1" });
      expect((await db.plan.findUniqueOrThrow({ where: { runId: "run-sb" } })).status).toBe("finished");
    });

    it("writes nothing when the run is not queued for the phase (a repeated event, a canceled run, the other phase)", async () => {
      expect(await start("run-sa")).toBeNull();
      await newQueuedRun("run-sc", "canceled");
      expect(await start("run-sc")).toBeNull();
      await newQueuedRun("run-sd", "plan_queued");
      expect(await start("run-sd", "apply")).toBeNull();
      expect(await start("run-missing")).toBeNull();

      expect(await statusEvents("run-sa")).toHaveLength(1);
      expect(await statusEvents("run-sc")).toHaveLength(0);
      expect(await statusEvents("run-sd")).toHaveLength(0);
      expect((await db.plan.findUniqueOrThrow({ where: { runId: "run-sc" } })).status).toBe("queued");
      expect((await db.apply.findUniqueOrThrow({ where: { runId: "run-sd" } })).status).toBe("pending");
    });

    it("waits for a decision holding the workspace's lock and sees what it committed", async () => {
      await newQueuedRun("run-se", "plan_queued");
      const other = new Client({ connectionString: database.url });
      await other.connect();
      try {
        // A decision in progress: the workspace locked, the run read as plan_queued, not yet changed.
        await other.query("BEGIN");
        await other.query("SELECT id FROM workspaces WHERE id = 'ws-1' FOR UPDATE");
        let settled = false;
        const started = start("run-se").finally(() => (settled = true));
        await new Promise((resolve) => setTimeout(resolve, 300));
        expect(settled).toBe(false);
        // The decision cancels the run (its compare-and-set from the status it read) and commits.
        const canceled = await other.query("UPDATE runs SET status = 'canceled' WHERE id = 'run-se' AND status = 'plan_queued'");
        expect(canceled.rowCount).toBe(1);
        await other.query("COMMIT");
        expect(await started).toBeNull();
      } finally {
        await other.end();
      }
      expect((await db.run.findUniqueOrThrow({ where: { id: "run-se" } })).status).toBe("canceled");
      expect((await db.plan.findUniqueOrThrow({ where: { runId: "run-se" } })).status).toBe("queued");
      expect(await statusEvents("run-se")).toHaveLength(0);
    });

    it("lets exactly one of repeated concurrent events move the run", async () => {
      await newQueuedRun("run-sf", "plan_queued");
      const results = await Promise.all(Array.from({ length: 6 }, () => start("run-sf")));
      expect(results.filter((r) => r !== null)).toHaveLength(1);
      expect(await statusEvents("run-sf")).toHaveLength(1);
    });
  });

  /** A worker's end of a phase: its status and counts, and its start when that event was lost. */
  describe("finishPhase", () => {
    const startedAt = new Date("2026-12-02T11:00:00.100Z");
    const at = new Date("2026-12-02T11:00:07.900Z");
    const newRunWithPlan = async (id: string, plan: { status: "queued" | "running" | "finished"; workerId?: string; startedAt?: Date }) => {
      await db.run.create({
        data: { id, organizationId: "org-1", workspaceId: "ws-1", configurationVersionId: "cv-1", operation: "plan_and_apply", terraformVersion: "1.9.8", status: "planning" },
      });
      await db.plan.create({
        data: {
          id: `plan-${id}`,
          runId: id,
          status: plan.status,
          workerId: plan.workerId ?? null,
          startedAt: plan.startedAt ?? null,
          heartbeatAt: plan.startedAt ?? null,
          statusTimestamps: plan.startedAt ? { "started-at": "2026-12-02T11:00:00+00:00" } : {},
        },
      });
    };
    const finish = (runId: string) =>
      inTransaction(db, (tx) =>
        finishPhase(tx, "plan", runId, { status: "finished", at, counts: { resourceAdditions: 2 }, hasChanges: true, startedBy: "worker-2" }),
      );

    it("records the end of a running phase and keeps its worker and start", async () => {
      await newRunWithPlan("run-fa", { status: "running", workerId: "worker-1", startedAt });
      expect(await finish("run-fa")).toBe(true);
      const plan = await db.plan.findUniqueOrThrow({ where: { runId: "run-fa" } });
      expect(plan).toMatchObject({ status: "finished", workerId: "worker-1", startedAt, heartbeatAt: startedAt, finishedAt: at, hasChanges: true, resourceAdditions: 2 });
      expect(plan.statusTimestamps).toEqual({ "started-at": "2026-12-02T11:00:00+00:00", "finished-at": "2026-12-02T11:00:07+00:00" });
    });

    it("records the start with the end when the phase was still queued (its started event lost)", async () => {
      await newRunWithPlan("run-fb", { status: "queued" });
      expect(await finish("run-fb")).toBe(true);
      const plan = await db.plan.findUniqueOrThrow({ where: { runId: "run-fb" } });
      expect(plan).toMatchObject({ status: "finished", workerId: "worker-2", startedAt: at, heartbeatAt: at, finishedAt: at, hasChanges: true, resourceAdditions: 2 });
      expect(plan.statusTimestamps).toEqual({ "started-at": "2026-12-02T11:00:07+00:00", "finished-at": "2026-12-02T11:00:07+00:00" });
    });

    it("does not finish a phase twice", async () => {
      await newRunWithPlan("run-fc", { status: "finished", workerId: "worker-1", startedAt });
      expect(await finish("run-fc")).toBe(false);
      expect(await db.plan.findUniqueOrThrow({ where: { runId: "run-fc" } })).toMatchObject({ workerId: "worker-1", finishedAt: null, resourceAdditions: 0 });
    });
  });
});
