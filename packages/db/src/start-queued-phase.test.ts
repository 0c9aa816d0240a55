import { subjectsFor } from "@tarmac/contracts";
import { createTestDatabase, type TestDatabase } from "@tarmac/testing";
import { Client } from "pg";
import { createDb, type Db } from "./client";
import { startQueuedPhase } from "./repositories/phases";

/** A worker's `started` for a queued phase, as one statement under the workspace's lock. */
describe("startQueuedPhase", () => {
  let database: TestDatabase;
  let db: Db;
  const subjects = subjectsFor("tsqp");
  const at = new Date("2026-12-02T10:00:00.500Z");
  const startedAt = new Date("2026-12-02T10:00:00.250Z");

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, poolSize: 4 });
    await db.organization.create({ data: { id: "org-1", name: "acme", email: "a@b.c" } });
    await db.workspace.create({ data: { id: "ws-1", organizationId: "org-1", name: "w" } });
    await db.configurationVersion.create({ data: { id: "cv-1", workspaceId: "ws-1", status: "uploaded" } });
  });
  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  const newRun = async (id: string, status: "plan_queued" | "apply_queued" | "planning" | "canceled", phaseStatus: "queued" | "running" = "queued") => {
    await db.run.create({
      data: { id, organizationId: "org-1", workspaceId: "ws-1", configurationVersionId: "cv-1", operation: "plan_and_apply", terraformVersion: "1.9.8", status },
    });
    await db.plan.create({ data: { id: `plan-${id}`, runId: id, status: status === "apply_queued" ? "finished" : phaseStatus } });
    await db.apply.create({ data: { id: `apply-${id}`, runId: id, status: status === "apply_queued" ? "queued" : "pending" } });
  };
  const start = (runId: string, phase: "plan" | "apply" = "plan") =>
    startQueuedPhase(db, { runId, phase, workerId: "worker-1", startedAt, at, subjects, headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } });
  const statusEvents = (runId: string) => db.outboxEvent.findMany({ where: { subject: `tsqp.runs.${runId}.status` } });

  it("moves the run to planning with its event and the plan to running with its worker", async () => {
    await newRun("run-a", "plan_queued");
    expect(await start("run-a")).toEqual({ workspaceId: "ws-1", organizationId: "org-1" });

    const run = await db.run.findUniqueOrThrow({ where: { id: "run-a" } });
    expect(run.status).toBe("planning");
    expect(run.statusTimestamps).toEqual({ "planning-at": "2026-12-02T10:00:00+00:00" });
    expect(run.statusChangedAt).toEqual(at);
    const plan = await db.plan.findUniqueOrThrow({ where: { runId: "run-a" } });
    expect(plan).toMatchObject({ status: "running", workerId: "worker-1", startedAt, heartbeatAt: startedAt });
    expect(plan.statusTimestamps).toEqual({ "started-at": "2026-12-02T10:00:00+00:00" });

    const events = await statusEvents("run-a");
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      msgId: "run-status:run-a:plan_queued:planning",
      payload: { type: "run.status_changed", runId: "run-a", workspaceId: "ws-1", organizationId: "org-1", from: "plan_queued", to: "planning", at: at.toISOString() },
      headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
    });
  });

  it("moves an apply_queued run to applying", async () => {
    await newRun("run-b", "apply_queued");
    expect(await start("run-b", "apply")).not.toBeNull();
    expect((await db.run.findUniqueOrThrow({ where: { id: "run-b" } })).status).toBe("applying");
    expect(await db.apply.findUniqueOrThrow({ where: { runId: "run-b" } })).toMatchObject({ status: "running", workerId: "worker-1" });
    expect((await db.plan.findUniqueOrThrow({ where: { runId: "run-b" } })).status).toBe("finished");
  });

  it("writes nothing when the run is not queued for the phase (a repeated event, a canceled run, the other phase)", async () => {
    expect(await start("run-a")).toBeNull();
    await newRun("run-c", "canceled");
    expect(await start("run-c")).toBeNull();
    await newRun("run-d", "plan_queued");
    expect(await start("run-d", "apply")).toBeNull();
    expect(await start("run-missing")).toBeNull();

    expect(await statusEvents("run-a")).toHaveLength(1);
    expect(await statusEvents("run-c")).toHaveLength(0);
    expect(await statusEvents("run-d")).toHaveLength(0);
    expect((await db.plan.findUniqueOrThrow({ where: { runId: "run-c" } })).status).toBe("queued");
    expect((await db.apply.findUniqueOrThrow({ where: { runId: "run-d" } })).status).toBe("pending");
  });

  it("waits for a decision holding the workspace's lock and sees what it committed", async () => {
    await newRun("run-e", "plan_queued");
    const other = new Client({ connectionString: database.url });
    await other.connect();
    try {
      // A decision in progress: the workspace locked, the run read as plan_queued, not yet changed.
      await other.query("BEGIN");
      await other.query("SELECT id FROM workspaces WHERE id = 'ws-1' FOR UPDATE");
      let settled = false;
      const started = start("run-e").finally(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled).toBe(false);
      // The decision cancels the run (its compare-and-set from the status it read) and commits.
      const canceled = await other.query("UPDATE runs SET status = 'canceled' WHERE id = 'run-e' AND status = 'plan_queued'");
      expect(canceled.rowCount).toBe(1);
      await other.query("COMMIT");
      expect(await started).toBeNull();
    } finally {
      await other.end();
    }
    expect((await db.run.findUniqueOrThrow({ where: { id: "run-e" } })).status).toBe("canceled");
    expect((await db.plan.findUniqueOrThrow({ where: { runId: "run-e" } })).status).toBe("queued");
    expect(await statusEvents("run-e")).toHaveLength(0);
  });

  it("lets exactly one of repeated concurrent events move the run", async () => {
    await newRun("run-f", "plan_queued");
    const results = await Promise.all(Array.from({ length: 6 }, () => start("run-f")));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(await statusEvents("run-f")).toHaveLength(1);
  });
});
