import { createTestDatabase, type TestDatabase } from "@tarmac/testing";
import { Client } from "pg";
import { createDb, type Db } from "./client";
import { listWorkspaceRuns } from "./repositories/run-lists";

/**
 * The workspace run list's total is a counter kept by triggers on runs
 * (migration 20261201_0500_workspace_run_counts, in shards since 20261202_0300_workspace_run_count_shards):
 * it must always equal the count it replaces.
 */
describe("the workspace run list total", () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, poolSize: 2 });
    await db.organization.create({ data: { id: "org-1", name: "acme", email: "a@b.c" } });
    for (const ws of ["ws-a", "ws-b"]) {
      await db.workspace.create({ data: { id: ws, organizationId: "org-1", name: ws } });
      await db.configurationVersion.create({ data: { id: `cv-${ws}`, workspaceId: ws, status: "uploaded" } });
    }
  });
  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  const run = (id: string, workspaceId: string, planOnly = false) => ({
    id,
    organizationId: "org-1",
    workspaceId,
    configurationVersionId: `cv-${workspaceId}`,
    operation: planOnly ? "plan_only" : "plan_and_apply",
    planOnly,
    terraformVersion: "1.9.8",
  });
  const totalOf = async (workspaceId: string) =>
    (await listWorkspaceRuns(db, workspaceId, { excludePlanOnly: true }, { offset: 0, size: 1 })).total;
  const counted = (workspaceId: string) => db.run.count({ where: { workspaceId, planOnly: false } });

  it("is 0 for a workspace without runs", async () => {
    expect(await totalOf("ws-a")).toBe(0);
  });

  it("follows single and bulk inserts, leaving plan-only runs out", async () => {
    await db.run.create({ data: run("run-1", "ws-a") });
    await db.run.create({ data: run("run-2", "ws-a", true) });
    await db.run.createMany({ data: [run("run-3", "ws-a"), run("run-4", "ws-b"), run("run-5", "ws-b"), run("run-6", "ws-b", true)] });
    expect(await totalOf("ws-a")).toBe(2);
    expect(await totalOf("ws-b")).toBe(2);
    expect(await totalOf("ws-a")).toBe(await counted("ws-a"));
  });

  it("follows deletes", async () => {
    await db.run.deleteMany({ where: { id: { in: ["run-1", "run-2", "run-4"] } } });
    expect(await totalOf("ws-a")).toBe(1);
    expect(await totalOf("ws-b")).toBe(1);
  });

  it("does not count a rolled-back insert", async () => {
    await expect(
      db.$transaction(async (tx) => {
        await tx.run.create({ data: run("run-7", "ws-b") });
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    expect(await totalOf("ws-b")).toBe(1);
  });

  // Runs created at once in one workspace: a creation whose transaction is still open must not
  // hold up another connection's (each adds to its own backend's shard of the counter).
  it("lets runs be created at once on several connections, and adds them all up", async () => {
    const shardOf = async (client: Client) => Number((await client.query<{ s: number }>("SELECT pg_backend_pid() % 16 AS s")).rows[0]!.s);
    const clients: Client[] = [];
    try {
      // Two connections on different shards (backend pids are not chosen; open until two differ).
      let first: Client | undefined;
      let second: Client | undefined;
      while (!second) {
        const c = new Client({ connectionString: database.url });
        await c.connect();
        clients.push(c);
        if (!first) first = c;
        else if ((await shardOf(c)) !== (await shardOf(first))) second = c;
      }
      const insert = (c: Client, id: string) =>
        c.query(`INSERT INTO runs (id, organization_id, workspace_id, configuration_version_id, operation, terraform_version, updated_at)
                 VALUES ($1, 'org-1', 'ws-a', 'cv-ws-a', 'plan_and_apply', '1.9.8', now())`, [id]);
      const before = await totalOf("ws-a");
      await first!.query("BEGIN");
      await insert(first!, "run-s1");
      // The first transaction is open; the second connection's insert must not wait for it.
      await second!.query("SET statement_timeout = '3s'");
      await insert(second!, "run-s2");
      expect(await totalOf("ws-a")).toBe(before + 1);
      await first!.query("COMMIT");
      expect(await totalOf("ws-a")).toBe(before + 2);
      // A delete on yet another shard's connection subtracts where it runs; the sum stays right.
      await second!.query("DELETE FROM runs WHERE id = 'run-s1'");
      expect(await totalOf("ws-a")).toBe(before + 1);
      expect(await totalOf("ws-a")).toBe(await counted("ws-a"));
    } finally {
      await Promise.all(clients.map((c) => c.end()));
    }
  });

  it("goes with its workspace", async () => {
    await db.workspace.delete({ where: { id: "ws-b" } });
    const [row] = await db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM workspace_run_counts WHERE workspace_id = 'ws-b'`;
    expect(Number(row?.n)).toBe(0);
  });
});
