import { createTestDatabase, type TestDatabase } from "@tarmac/testing";
import { Client } from "pg";
import { createDb, inTransaction, queryRows, type Db } from "./client";
import { Prisma } from "./generated/prisma/client";
import { listRunsInTaskStages } from "./repositories/run-tasks";
import { transitionRun } from "./runs";
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

  /** The connection's statistics around `read`, flushed: `count` before and after. */
  async function around<T>(count: () => Promise<T>, same: (a: T, b: T) => boolean, read: () => Promise<unknown>): Promise<[T, T]> {
    const flushed = async (): Promise<T> => {
      // The connection reports its counts once idle after this; read until they arrived.
      // This client's own reads (the EXPLAINs) are reported too: flush them as well.
      await queryRows(db, Prisma.sql`SELECT pg_stat_force_next_flush()`);
      await client.query("SELECT pg_stat_force_next_flush()");
      await client.query("SELECT pg_stat_clear_snapshot()");
      let last = await count();
      for (let i = 0; i < 20; i++) {
        await new Promise((r) => setTimeout(r, 25));
        await client.query("SELECT pg_stat_clear_snapshot()");
        const now = await count();
        if (same(now, last) && i >= 2) break;
        last = now;
      }
      return last;
    };
    const before = await flushed();
    await read();
    return [before, await flushed()];
  }

  /** Pages of runs and its indexes `read` went through. */
  async function pagesRead(read: () => Promise<unknown>): Promise<number> {
    const pages = async (): Promise<number> => {
      const { rows } = await client.query<{ n: string }>(
        "SELECT heap_blks_hit + heap_blks_read + idx_blks_hit + idx_blks_read AS n FROM pg_statio_user_tables WHERE relname = 'runs'",
      );
      return Number(rows[0]!.n);
    };
    const [before, after] = await around(pages, (a, b) => a === b, read);
    return after - before;
  }

  /** The indexes of runs that `read` scanned, with how many scans each. */
  async function indexesScanned(read: () => Promise<unknown>): Promise<Record<string, number>> {
    const scans = async (): Promise<Record<string, number>> => {
      const { rows } = await client.query<{ name: string; n: string }>(
        "SELECT indexrelname AS name, idx_scan AS n FROM pg_stat_user_indexes WHERE relname = 'runs'",
      );
      return Object.fromEntries(rows.map((r) => [r.name, Number(r.n)]));
    };
    const [before, after] = await around(scans, (a, b) => JSON.stringify(a) === JSON.stringify(b), read);
    return Object.fromEntries(Object.entries(after).filter(([name, n]) => n !== before[name]).map(([name, n]) => [name, n - (before[name] ?? 0)]));
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
  it("changes a pending run's status through its primary key, not through the pending runs", async () => {
    // The last of the 3,000 in the pending runs' index, and a fresh connection's first (custom)
    // plan of each form of the statement: with the owner known (one statement) and without.
    const owner = { workspaceId: "ws-a", organizationId: "org-1" };
    const withOwner = await indexesScanned(() =>
      inTransaction(db, (tx) => transitionRun(tx, { runId: "run-a-2999", from: "pending", to: "plan_queued", owner, queuePhase: "plan" })),
    );
    const withoutOwner = await indexesScanned(() => inTransaction(db, (tx) => transitionRun(tx, { runId: "run-a-2998", from: "pending", to: "discarded" })));
    const statuses = await client.query<{ id: string; status: string }>("SELECT id, status::text FROM runs WHERE id IN ('run-a-2999', 'run-a-2998') ORDER BY id");
    expect(statuses.rows).toEqual([
      { id: "run-a-2998", status: "discarded" },
      { id: "run-a-2999", status: "plan_queued" },
    ]);
    // Through the pending runs' index each read all 3,000 of them, and filtered them by id.
    expect({ withOwner, withoutOwner }).toEqual({ withOwner: { runs_pkey: 1 }, withoutOwner: { runs_pkey: 1 } });
  });
});
