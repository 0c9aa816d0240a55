import { createTestDatabase, type TestDatabase } from "@tarmac/testing";
import { Client } from "pg";
import { createDb, inTransaction, queryRows, type Db } from "./client";
import { Prisma } from "./generated/prisma/client";
import { listRunsInTaskStages } from "./repositories/run-tasks";
import {
  listIdleWorkspacesWithWaitingRuns,
  listOrganizationsWithQueuingRuns,
  listQueuedRuns,
  listRunsNeedingDrive,
  listWaitingRunsWhileBlocked,
} from "./repositories/scheduler";

/**
 * The scheduler reads one workspace's pending runs on every event about it. After a burst of
 * creations the planner's statistics still put pending runs at none (autovacuum analyzes a table
 * only after a tenth of it changed); those reads must still go through that workspace's pending
 * runs alone, not every pending run of every workspace (migration
 * 20261203_1100_runs_status_index_not_pending).
 */
describe("reads of pending runs with statistics that predate them", () => {
  let database: TestDatabase;
  let db: Db;
  let client: Client;

  const run = (id: string, seq: number, workspace: "a" | "b", status: string) => ({
    id,
    seq: BigInt(seq),
    organizationId: "org-1",
    workspaceId: `ws-${workspace}`,
    configurationVersionId: `cv-${workspace}`,
    operation: "plan_and_apply" as const,
    terraformVersion: "1.9.8",
    status: status as "pending",
  });

  beforeAll(async () => {
    database = await createTestDatabase();
    // One connection: its statistics are the reads measured below.
    db = createDb({ databaseUrl: database.url, poolSize: 1 });
    client = new Client({ connectionString: database.url });
    await client.connect();
    await db.organization.create({ data: { id: "org-1", name: "acme", email: "a@b.c" } });
    for (const w of ["a", "b"] as const) {
      await db.workspace.create({ data: { id: `ws-${w}`, organizationId: "org-1", name: `ws-${w}` } });
      await db.configurationVersion.create({ data: { id: `cv-${w}`, workspaceId: `ws-${w}`, status: "uploaded" } });
    }
    // A history the statistics know about, without a pending run...
    await db.run.createMany({ data: Array.from({ length: 2000 }, (_, i) => run(`run-old-${i}`, i + 1, i % 2 ? "a" : "b", "applied")) });
    await client.query("ANALYZE runs");
    // ...then a burst of 3,000 runs waiting in workspace a, and a queue of two in workspace b.
    await db.run.createMany({ data: Array.from({ length: 3000 }, (_, i) => run(`run-a-${i}`, 10_000 + i, "a", "pending")) });
    await db.run.createMany({ data: [run("run-b-1", 20_000, "b", "pending"), run("run-b-2", 20_001, "b", "pending")] });
  });

  afterAll(async () => {
    await client?.end();
    await db?.$disconnect();
    await database?.drop();
  });

  /** Pages of runs and its indexes `read` went through (the connection's statistics, flushed). */
  async function pagesRead(read: () => Promise<unknown>): Promise<number> {
    const pages = async (): Promise<number> => {
      await client.query("SELECT pg_stat_clear_snapshot()");
      const { rows } = await client.query<{ n: string }>(
        "SELECT heap_blks_hit + heap_blks_read + idx_blks_hit + idx_blks_read AS n FROM pg_statio_user_tables WHERE relname = 'runs'",
      );
      return Number(rows[0]!.n);
    };
    const flushed = async (): Promise<number> => {
      // The connection reports its counts once idle after this; read until they arrived.
      await queryRows(db, Prisma.sql`SELECT pg_stat_force_next_flush()`);
      let last = await pages();
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 25));
        const now = await pages();
        if (now === last && i >= 2) break;
        last = now;
      }
      return last;
    };
    const before = await flushed();
    await read();
    return (await flushed()) - before;
  }

  async function buffersOf(sql: string, params: unknown[]): Promise<number> {
    const { rows } = await client.query<{ "QUERY PLAN": [{ Plan: { "Shared Hit Blocks": number; "Shared Read Blocks": number } }] }>(
      `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`,
      params,
    );
    const plan = rows[0]!["QUERY PLAN"][0].Plan;
    return plan["Shared Hit Blocks"] + plan["Shared Read Blocks"];
  }

  it("finds the head of a short queue without reading the long one", async () => {
    const waiting = await inTransaction(db, (tx) => listWaitingRunsWhileBlocked(tx, "ws-b"));
    expect(waiting.map((r) => r.id)).toEqual(["run-b-1"]);
    // 3,000 pending runs of workspace a fill about 60 pages of the table.
    expect(await pagesRead(() => inTransaction(db, (tx) => listWaitingRunsWhileBlocked(tx, "ws-b")))).toBeLessThan(15);
    // Whether a workspace has a run waiting (findEndedRunState).
    expect(
      await buffersOf("SELECT EXISTS (SELECT 1 FROM runs r WHERE r.workspace_id = $1 AND (r.status = 'pending' OR (r.status = 'confirmed' AND r.save_plan AND NOT r.plan_only)))", [
        "ws-b",
      ]),
    ).toBeLessThan(15);
  });

  it("the reconcile loop's reads of runs by status do not go through the pending ones", async () => {
    const since = new Date(Date.now() + 60_000);
    const pages: Record<string, number> = {};
    for (const [name, read] of [
      ["listQueuedRuns", () => listQueuedRuns(db, 100)],
      ["listRunsNeedingDrive", () => listRunsNeedingDrive(db, since, 100)],
      ["listRunsInTaskStages", () => listRunsInTaskStages(db, since, 100)],
      ["listOrganizationsWithQueuingRuns", () => listOrganizationsWithQueuingRuns(db)],
    ] as const) {
      pages[name] = await pagesRead(read);
    }
    // A descent of the status index is two or three pages per status asked for (seven at most);
    // 5,000 runs, 3,000 of them pending, fill about 100 pages of the table and 25 of an index.
    expect(Object.entries(pages).filter(([, n]) => n > 24)).toEqual([]);
  });

  it("finds the workspaces with waiting runs one probe each", async () => {
    const since = new Date(Date.now() + 60_000);
    expect((await listIdleWorkspacesWithWaitingRuns(db, 10, since)).sort()).toEqual(["ws-a", "ws-b"]);
    // The reconcile loop's skip scan: its first probe and the next.
    expect(await buffersOf("SELECT workspace_id FROM runs WHERE status = 'pending' ORDER BY workspace_id LIMIT 1", [])).toBeLessThan(15);
    expect(
      await buffersOf("SELECT r.workspace_id FROM runs r WHERE r.status = 'pending' AND r.workspace_id > $1 ORDER BY r.workspace_id LIMIT 1", ["ws-a"]),
    ).toBeLessThan(15);
  });
});
