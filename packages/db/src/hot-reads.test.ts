import { createTestDatabase, type TestDatabase } from "@tarmac/testing";
import { Client } from "pg";
import { createDb, executeRows, inTransaction, queryRows, type Db } from "./client";
import { Prisma } from "./generated/prisma/client";
import { listWorkspaceRuns } from "./repositories/run-lists";
import { findRun, findRunDocument, findRunTarget, loadRunExtras } from "./repositories/runs-read";
import { listTaskStagesOfRuns } from "./repositories/run-tasks";
import { createRun } from "./repositories/runs-write";
import { subjectsFor } from "@tarmac/contracts";
import { applyIdFor, newId, planIdFor } from "@tarmac/domain";
import { findWorkspaceScope } from "./repositories/workspace-access";
import { removePendingAgentJob } from "./repositories/agents";
import { findNewRunQueueFactsOfRuns, findSchedulingRun, findSchedulingWorkspace, listWaitingRuns, lockQueuingRuns } from "./repositories/scheduler";

/** BigInt-safe deep equality through JSON: the values and their types must match. */
const canonical = (value: unknown) => JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `bigint:${v}` : v instanceof Date ? `date:${v.toISOString()}` : v));

/**
 * The hot reads bypass Prisma's query compiler (node-postgres on the client's pool, or the
 * transaction's $queryRaw): they must return exactly what Prisma returns for the same rows.
 */
describe("hot reads past Prisma", () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, poolSize: 2 });
    await db.organization.create({ data: { id: "org-1", name: "acme", email: "a@b.c" } });
    await db.user.create({ data: { id: "user-1", username: "alice", email: "alice@acme.test" } });
    await db.workspace.create({ data: { id: "ws-1", organizationId: "org-1", name: "w" } });
    await db.configurationVersion.create({ data: { id: "cv-1", workspaceId: "ws-1", status: "uploaded" } });
    const at = new Date("2026-01-02T03:04:05.678Z");
    await db.run.create({
      data: {
        id: "run-full",
        organizationId: "org-1",
        workspaceId: "ws-1",
        configurationVersionId: "cv-1",
        status: "canceled",
        statusTimestamps: { "canceled-at": "2026-01-02T03:04:05Z" },
        operation: "plan_and_apply",
        message: "every field set",
        isDestroy: true,
        autoApply: true,
        terraformVersion: "1.9.8",
        targetAddrs: ["a.b", "c.d"],
        replaceAddrs: ["e.f"],
        variables: [{ key: "k", value: '"v"' }],
        hasChanges: true,
        agentPoolName: "pool",
        commitSha: "abc123",
        vcsUsername: "alice",
        createdById: "user-1",
        canceledById: "user-1",
        canceledAt: at,
        cancelRequestedAt: at,
        forceCancelAvailableAt: at,
      },
    });
    await db.run.create({ data: { id: "run-min", organizationId: "org-1", workspaceId: "ws-1", configurationVersionId: "cv-1", operation: "plan_only", planOnly: true, terraformVersion: "1.9.8" } });
  });
  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  it("findRun returns Prisma's row, field for field, outside and inside a transaction", async () => {
    for (const id of ["run-full", "run-min"]) {
      const expected = canonical(await db.run.findUnique({ where: { id } }));
      expect(canonical(await findRun(db, id))).toBe(expected);
      expect(canonical(await inTransaction(db, (tx) => findRun(tx, id)))).toBe(expected);
    }
    expect(await findRun(db, "run-missing")).toBeNull();
  });

  it("the default run list page is Prisma's page", async () => {
    const { rows } = await listWorkspaceRuns(db, "ws-1", { excludePlanOnly: true }, { offset: 0, size: 20 });
    const expected = await db.run.findMany({ where: { workspaceId: "ws-1", planOnly: false }, orderBy: { seq: "desc" } });
    expect(canonical(rows)).toBe(canonical(expected));
  });

  it("createRun writes the run, its phases, event and outbox row in one statement and returns Prisma's row", async () => {
    const at = new Date("2026-02-03T04:05:06.789Z");
    const id = newId("run");
    const run = {
      id,
      organizationId: "org-1",
      workspaceId: "ws-1",
      configurationVersionId: "cv-1",
      createdById: "user-1",
      operation: "plan_and_apply",
      source: "tfe-api",
      message: "created",
      isDestroy: false,
      refresh: true,
      refreshOnly: false,
      planOnly: false,
      savePlan: false,
      autoApply: true,
      allowEmptyApply: false,
      allowConfigGeneration: false,
      debuggingMode: false,
      terraformVersion: "1.9.8",
      targetAddrs: [],
      replaceAddrs: ["x.y"],
      variables: [{ key: "k", value: '"v"' }],
    };
    const created = await inTransaction(db, (tx) => createRun(tx, run, at, subjectsFor("thot"), "re-new", { traceparent: "00-abc-def-01" }));
    expect(canonical(created)).toBe(canonical(await db.run.findUnique({ where: { id } })));
    expect(created).toMatchObject({ status: "pending", statusTimestamps: { "plan-queueable-at": expect.any(String) }, createdAt: at });
    expect(await db.plan.findUnique({ where: { runId: id } })).toMatchObject({ id: planIdFor(id), status: "pending", createdAt: at });
    expect(await db.apply.findUnique({ where: { runId: id } })).toMatchObject({ id: applyIdFor(id), status: "pending" });
    expect(await db.workspace.findUnique({ where: { id: "ws-1" } })).toMatchObject({ latestConfigurationVersionId: "cv-1" });
    expect(await db.runEvent.findUnique({ where: { id: "re-new" } })).toMatchObject({ runId: id, action: "created", actorId: "user-1" });
    const outbox = await db.outboxEvent.findUnique({ where: { msgId: `run-created:${id}` } });
    expect(outbox).toMatchObject({
      subject: `thot.runs.${id}.created`,
      payload: { type: "run.created", runId: id, workspaceId: "ws-1", organizationId: "org-1", speculative: false, at: at.toISOString() },
      headers: { traceparent: "00-abc-def-01" },
    });
  });

  it("inside a transaction, queryRows and executeRows use the transaction's own connection", async () => {
    const pids = await inTransaction(db, async (tx) => {
      const [prisma] = await tx.$queryRaw<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      const [direct] = await queryRows<{ pid: number; n: unknown }>(tx, Prisma.sql`SELECT pg_backend_pid() AS pid, 1.5::numeric AS n`);
      // node-postgres, not $queryRaw: a numeric comes back as pg's string, not as Prisma's Decimal.
      expect(direct?.n).toBe("1.5");
      // A write by either one is seen by the other before commit.
      await tx.workspace.update({ where: { id: "ws-1" }, data: { description: "seen" } });
      const [seen] = await queryRows<{ description: string }>(tx, Prisma.sql`SELECT description FROM workspaces WHERE id = 'ws-1'`);
      expect(seen?.description).toBe("seen");
      expect(await executeRows(tx, Prisma.sql`UPDATE workspaces SET description = 'direct' WHERE id = 'ws-1'`)).toBe(1);
      expect((await tx.workspace.findUnique({ where: { id: "ws-1" } }))?.description).toBe("direct");
      return { prisma: prisma?.pid, direct: direct?.pid };
    });
    expect(pids.direct).toBe(pids.prisma);
    expect((await db.workspace.findUnique({ where: { id: "ws-1" } }))?.description).toBe("direct");

    // A rollback takes the direct writes with it.
    await expect(
      inTransaction(db, async (tx) => {
        await executeRows(tx, Prisma.sql`UPDATE workspaces SET description = 'rolled back' WHERE id = 'ws-1'`);
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    expect((await db.workspace.findUnique({ where: { id: "ws-1" } }))?.description).toBe("direct");
  });

  it("the scheduler's run and workspace reads return Prisma's select, outside and inside a transaction", async () => {
    const runSelect = {
      id: true, seq: true, status: true, statusChangedAt: true, organizationId: true, workspaceId: true, source: true,
      planOnly: true, savePlan: true, autoApply: true, allowEmptyApply: true, hasChanges: true, refreshOnly: true,
      isDestroy: true, createdById: true, cancelRequestedAt: true, forceCancelAvailableAt: true,
      configurationVersion: { select: { id: true, status: true } },
    } as const;
    // Plus whether the run may have task stages (none here: no stage, no run task on the workspace)
    // and whether its workspace is in agent mode (no: remote).
    const withTasksFact = <T extends object>(row: T | null) => (row ? { ...row, taskStagesPossible: false, agentMode: false } : row);
    for (const id of ["run-full", "run-min"]) {
      const expected = canonical(withTasksFact(await db.run.findUnique({ where: { id }, select: runSelect })));
      expect(canonical(await findSchedulingRun(db, id))).toBe(expected);
      expect(canonical(await inTransaction(db, (tx) => findSchedulingRun(tx, id)))).toBe(expected);
    }
    expect(await findSchedulingRun(db, "run-missing")).toBeNull();
    const waiting = await db.run.findMany({ where: { workspaceId: "ws-1", status: "pending" }, orderBy: { seq: "asc" }, select: runSelect });
    expect(waiting.length).toBeGreaterThan(0);
    expect(canonical(await inTransaction(db, (tx) => listWaitingRuns(tx, "ws-1")))).toBe(canonical(waiting.map(withTasksFact)));

    const wsSelect = {
      id: true, organizationId: true, locked: true, autoApply: true, currentRunId: true,
      currentRun: { select: { id: true, status: true, planOnly: true, savePlan: true } },
    } as const;
    expect(canonical(await findSchedulingWorkspace(db, "ws-1"))).toBe(canonical(await db.workspace.findUnique({ where: { id: "ws-1" }, select: wsSelect })));
    await db.workspace.update({ where: { id: "ws-1" }, data: { currentRunId: "run-full", locked: true } });
    const held = await db.workspace.findUnique({ where: { id: "ws-1" }, select: wsSelect });
    expect(held?.currentRun?.id).toBe("run-full");
    expect(canonical(await inTransaction(db, (tx) => findSchedulingWorkspace(tx, "ws-1")))).toBe(canonical(held));
    await db.workspace.update({ where: { id: "ws-1" }, data: { currentRunId: null, locked: false } });
    expect(await findSchedulingWorkspace(db, "ws-missing")).toBeNull();
  });

  it("a scheduling run says whether its workspace is in agent mode, and queuing runs are read locked, oldest first", async () => {
    await db.workspace.create({ data: { id: "ws-agent", organizationId: "org-1", name: "agent-mode", executionMode: "agent" } });
    await db.configurationVersion.create({ data: { id: "cv-agent", workspaceId: "ws-agent", status: "uploaded" } });
    for (const id of ["run-aq1", "run-aq2", "run-aq3"]) {
      await db.run.create({
        data: { id, organizationId: "org-1", workspaceId: "ws-agent", configurationVersionId: "cv-agent", operation: "plan_and_apply", terraformVersion: "1.9.8", status: "queuing" },
      });
    }
    expect((await findSchedulingRun(db, "run-aq1"))?.agentMode).toBe(true);
    const holder = new Client({ connectionString: database.url });
    await holder.connect();
    try {
      // Another scheduler holds the oldest: this one takes the next two, skipping it.
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM runs WHERE id = 'run-aq1' FOR UPDATE");
      const locked = await inTransaction(db, (tx) => lockQueuingRuns(tx, "org-1", 5));
      expect(locked.map((r) => [r.id, r.status, r.agentMode])).toEqual([["run-aq2", "queuing", true], ["run-aq3", "queuing", true]]);
      expect(await inTransaction(db, (tx) => lockQueuingRuns(tx, "org-1", 1))).toHaveLength(1);
      expect(await inTransaction(db, (tx) => lockQueuingRuns(tx, "org-1", 0))).toEqual([]);
      await holder.query("COMMIT");
    } finally {
      await holder.end();
    }
    await db.run.updateMany({ where: { workspaceId: "ws-agent" }, data: { status: "discarded" } });
  });

  it("removing a phase's pending agent job leaves a held one and the other phase's", async () => {
    await db.agentPool.create({ data: { id: "apool-1", organizationId: "org-1", name: "pool" } });
    const job = (runId: string, phase: string, status: string) =>
      db.agentJob.create({ data: { id: `ajob-${runId}-${phase}`, runId, phase, agentPoolId: "apool-1", jobUrl: "http://127.0.0.1:1/job", status, attempt: 1n } });
    await job("run-aq1", "plan", "pending");
    await job("run-aq1", "apply", "pending");
    await job("run-aq2", "plan", "active");
    await removePendingAgentJob(db, "run-aq1", "plan");
    await removePendingAgentJob(db, "run-aq2", "plan");
    const left = await db.agentJob.findMany({ orderBy: { id: "asc" }, select: { runId: true, phase: true, status: true } });
    expect(left).toEqual([
      { runId: "run-aq1", phase: "apply", status: "pending" },
      { runId: "run-aq2", phase: "plan", status: "active" },
    ]);
  });

  it("a scheduling run says whether it may have task stages: its own, or its workspace's enabled run tasks", async () => {
    await db.workspace.create({ data: { id: "ws-tasks", organizationId: "org-1", name: "tasks" } });
    await db.configurationVersion.create({ data: { id: "cv-tasks", workspaceId: "ws-tasks", status: "uploaded" } });
    const run = (id: string) =>
      db.run.create({ data: { id, organizationId: "org-1", workspaceId: "ws-tasks", configurationVersionId: "cv-tasks", operation: "plan_and_apply", terraformVersion: "1.9.8" } });
    const possible = async (id: string) => (await findSchedulingRun(db, id))?.taskStagesPossible;
    await run("run-t1");
    expect(await possible("run-t1")).toBe(false);

    // A disabled task does not run: still none.
    await db.runTask.create({ data: { id: "task-1", organizationId: "org-1", name: "check", url: "http://127.0.0.1:1/task", enabled: false } });
    await db.workspaceRunTask.create({ data: { id: "wstask-1", workspaceId: "ws-tasks", taskId: "task-1", enforcementLevel: "mandatory", stages: ["post_apply"] } });
    expect(await possible("run-t1")).toBe(false);
    await db.runTask.update({ where: { id: "task-1" }, data: { enabled: true } });
    expect(await possible("run-t1")).toBe(true);
    expect((await inTransaction(db, (tx) => listWaitingRuns(tx, "ws-tasks"))).map((r) => r.taskStagesPossible)).toEqual([true]);

    // A run created while the workspace had tasks keeps its stages after they are detached.
    await db.workspaceRunTask.delete({ where: { id: "wstask-1" } });
    expect(await possible("run-t1")).toBe(false);
    await db.taskStage.create({ data: { id: "ts-1", runId: "run-t1", stage: "pre_plan" } });
    expect(await possible("run-t1")).toBe(true);
  });

  it("new runs' queue facts are read for several runs in one statement", async () => {
    await db.workspace.create({ data: { id: "ws-queue", organizationId: "org-1", name: "queue", locked: true } });
    await db.configurationVersion.create({ data: { id: "cv-queue", workspaceId: "ws-queue", status: "uploaded" } });
    const run = (id: string, planOnly = false) =>
      db.run.create({ data: { id, organizationId: "org-1", workspaceId: "ws-queue", configurationVersionId: "cv-queue", operation: "plan_and_apply", planOnly, terraformVersion: "1.9.8" } });
    await run("run-q1");
    await run("run-q2");
    await run("run-q3", true);
    await db.workspace.update({ where: { id: "ws-queue" }, data: { currentRunId: "run-q1" } });

    const facts = await findNewRunQueueFactsOfRuns(db, ["run-q1", "run-q2", "run-q3", "run-missing"]);
    expect([...facts.keys()].sort()).toEqual(["run-q1", "run-q2", "run-q3"]);
    const head = { status: "pending", planOnly: false, savePlan: false };
    expect(facts.get("run-q1")).toEqual({ run: head, locked: true, otherCurrentRun: null, queuedBehind: false });
    expect(facts.get("run-q2")).toEqual({ run: head, locked: true, otherCurrentRun: head, queuedBehind: true });
    expect(facts.get("run-q3")).toEqual({ run: { ...head, planOnly: true }, locked: true, otherCurrentRun: head, queuedBehind: true });
    expect((await findNewRunQueueFactsOfRuns(db, [])).size).toBe(0);
  });

  it("findWorkspaceScope returns the id and organization", async () => {
    expect(await findWorkspaceScope(db, "ws-1")).toEqual({ id: "ws-1", organizationId: "org-1" });
    expect(await findWorkspaceScope(db, "ws-missing")).toBeNull();
  });

  it("findRunTarget reads the workspace's row and the configuration version a run is created from", async () => {
    await db.organization.create({ data: { id: "org-2", name: "other", email: "o@b.c" } });
    await db.workspace.create({ data: { id: "ws-2", organizationId: "org-2", name: "w2" } });
    await db.configurationVersion.create({ data: { id: "cv-2", workspaceId: "ws-2", status: "pending", speculative: true } });
    await db.workspace.update({ where: { id: "ws-1" }, data: { latestConfigurationVersionId: "cv-1" } });
    const row = await db.workspace.findUniqueOrThrow({
      where: { id: "ws-1" },
      select: { id: true, organizationId: true, autoApply: true, terraformVersion: true, allowDestroyPlan: true, latestConfigurationVersionId: true, locked: true },
    });
    const cv1 = { id: "cv-1", status: "uploaded", speculative: false, organizationId: "org-1" };
    // Named, or the workspace's latest when none is named.
    expect(canonical(await findRunTarget(db, "ws-1", "cv-1"))).toBe(canonical({ workspace: row, configurationVersion: cv1 }));
    expect(canonical(await findRunTarget(db, "ws-1", null))).toBe(canonical({ workspace: row, configurationVersion: cv1 }));
    // Another organization's version comes with that organization, for the caller to refuse.
    expect((await findRunTarget(db, "ws-1", "cv-2"))?.configurationVersion).toEqual({ id: "cv-2", status: "pending", speculative: true, organizationId: "org-2" });
    expect((await findRunTarget(db, "ws-1", "cv-missing"))?.configurationVersion).toBeNull();
    expect(await findRunTarget(db, "ws-missing", "cv-1")).toBeNull();
    // A workspace without any version yet.
    expect((await findRunTarget(db, "ws-2", null))?.configurationVersion).toBeNull();
  });

  it("a run document and the default page read in one statement what findRun, loadRunExtras and the task stages read", async () => {
    // A workspace of its own: a pending queue (two ahead, a saved plan, a plan-only run) and a run with every extra.
    await db.workspace.create({ data: { id: "ws-doc", organizationId: "org-1", name: "doc" } });
    const base = { organizationId: "org-1", workspaceId: "ws-doc", configurationVersionId: "cv-1", terraformVersion: "1.9.8", operation: "plan_and_apply" };
    await db.run.create({ data: { ...base, id: "run-d1", status: "planning" } });
    await db.run.create({ data: { ...base, id: "run-d2", status: "pending", savePlan: true } });
    await db.run.create({ data: { ...base, id: "run-d3", status: "pending", planOnly: true, operation: "plan_only" } });
    await db.run.create({ data: { ...base, id: "run-d4", status: "pending" } });
    await db.run.create({ data: { ...base, id: "run-d5", status: "applied" } });
    await db.run.create({ data: { ...base, id: "run-d6", status: "pending" } });
    await db.costEstimate.create({ data: { id: "ce-d5", runId: "run-d5" } });
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
    await db.runEvent.create({ data: { id: "re-d5b", runId: "run-d5", action: "applied", createdAt: t(2) } });
    await db.runEvent.create({ data: { id: "re-d5a", runId: "run-d5", action: "created", createdAt: t(1) } });
    await db.comment.create({ data: { id: "cmt-d5", runId: "run-d5", body: "hi", createdAt: t(3) } });
    await db.taskStage.create({ data: { id: "ts-d5b", runId: "run-d5", stage: "post_plan", createdAt: t(2) } });
    await db.taskStage.create({ data: { id: "ts-d5a", runId: "run-d5", stage: "pre_plan", createdAt: t(1) } });
    const ids = ["run-d1", "run-d2", "run-d3", "run-d4", "run-d5", "run-d6", "run-full", "run-min"];
    const runs = await Promise.all(ids.map(async (id) => (await findRun(db, id))!));
    const extras = await loadRunExtras(db, runs);
    const stages = await listTaskStagesOfRuns(db, ids);
    const expected = (run: (typeof runs)[number]) => ({
      run,
      extras: extras.get(run.id),
      taskStageIds: stages.filter((s) => s.runId === run.id).map((s) => s.id),
    });
    for (const run of runs) expect(canonical(await findRunDocument(db, run.id))).toBe(canonical(expected(run)));
    expect(await findRunDocument(db, "run-missing")).toBeNull();
    // The cases the statement must tell apart are all there.
    expect(extras.get("run-d4")!.positionInQueue).toBe(1);
    expect(extras.get("run-d6")!.positionInQueue).toBe(2);
    expect(extras.get("run-d5")).toEqual({ costEstimateId: "ce-d5", eventIds: ["re-d5a", "re-d5b"], commentIds: ["cmt-d5"], positionInQueue: 0 });
    expect(expected(runs[4]!).taskStageIds).toEqual(["ts-d5a", "ts-d5b"]);

    const page = await listWorkspaceRuns(db, "ws-doc", { excludePlanOnly: true }, { offset: 1, size: 3 });
    const visible = runs.filter((r) => r.workspaceId === "ws-doc" && !r.planOnly).sort((a, b) => Number(b.seq - a.seq));
    expect(canonical(page.rows)).toBe(canonical(visible.slice(1, 4)));
    expect(canonical(page.documents)).toBe(canonical(visible.slice(1, 4).map(expected)));
    expect(page.total).toBe(5);
    const beyond = await listWorkspaceRuns(db, "ws-doc", { excludePlanOnly: true }, { offset: 20, size: 20 });
    expect(beyond).toEqual({ rows: [], total: 5, documents: [] });
  });

  it("the run document is a statement prepared once per connection, except through a transaction-mode pooler", async () => {
    const prepared = async (client: Db) =>
      (await queryRows<{ name: string }>(client, Prisma.sql`SELECT name FROM pg_prepared_statements`)).map((r) => r.name);
    const direct = createDb({ databaseUrl: database.url, poolSize: 1 });
    const url = new URL(database.url);
    url.searchParams.set("pgbouncer", "true");
    const pooler = createDb({ databaseUrl: url.toString(), poolSize: 1 });
    try {
      for (const client of [direct, pooler]) {
        // Prisma disposes the pool on $disconnect only once it has started.
        await client.$queryRaw`SELECT 1`;
        expect((await findRunDocument(client, "run-full"))?.run.id).toBe("run-full");
        expect((await findRunDocument(client, "run-min"))?.run.id).toBe("run-min");
      }
      expect(await prepared(direct)).toEqual(["tarmac_run_document"]);
      expect(await prepared(pooler)).toEqual([]);
    } finally {
      await direct.$disconnect();
      await pooler.$disconnect();
    }
  });
});
