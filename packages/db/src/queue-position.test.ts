import { subjectsFor } from "@tarmac/contracts";
import { createTestDatabase, type TestDatabase } from "@tarmac/testing";
import { FINAL_STATUSES, newId, RUN_STATUSES } from "@tarmac/domain";
import { Client } from "pg";
import { createDb, type Db } from "./client";
import { positionsInQueue } from "./repositories/runs-read";
import { runsAheadCondition, UNFINISHED_RUNS_INDEX, unfinishedVisibleRun } from "./repositories/queue-position";
import { insertRun, type NewRun } from "./repositories/runs-write";
import { newRunInput } from "./test-seed";

/**
 * A run's position in its workspace's queue is counted over the workspace's unfinished runs
 * only (migration 20261202_0700_runs_unfinished_index), however long its history.
 */
describe("the count of runs ahead in a workspace's queue", () => {
  let database: TestDatabase;
  let db: Db;
  let client: Client;

  const run = (id: string, seq: number, status: string, extra: Record<string, unknown> = {}) => ({
    id,
    seq: BigInt(seq),
    organizationId: "org-1",
    workspaceId: "ws-a",
    configurationVersionId: "cv-a",
    operation: "plan_and_apply" as const,
    terraformVersion: "1.9.8",
    status: status as "pending",
    ...extra,
  });

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, poolSize: 2 });
    client = new Client({ connectionString: database.url });
    await client.connect();
    await db.organization.create({ data: { id: "org-1", name: "acme", email: "a@b.c" } });
    await db.workspace.create({ data: { id: "ws-a", organizationId: "org-1", name: "ws-a" } });
    await db.configurationVersion.create({ data: { id: "cv-a", workspaceId: "ws-a", status: "uploaded" } });
    // A long history of finished runs, which the statistics know about...
    const finished = Array.from({ length: 3000 }, (_, i) => run(`run-old-${i}`, i + 1, FINAL_STATUSES[i % FINAL_STATUSES.length]!));
    await db.run.createMany({ data: finished });
    await client.query("ANALYZE runs");
    // ...then a burst of waiting runs they do not know about yet, and the runs that do not count.
    await db.run.createMany({
      data: [
        run("run-current", 4001, "applying"),
        run("run-plan-only", 4002, "planning", { planOnly: true, operation: "plan_only" }),
        run("run-saved", 4003, "planned_and_saved", { savePlan: true }),
        run("run-saved-confirmed", 4004, "confirmed", { savePlan: true }),
        ...Array.from({ length: 200 }, (_, i) => run(`run-wait-${i}`, 5000 + i, "pending")),
      ],
    });
  });
  afterAll(async () => {
    await client?.end();
    await db?.$disconnect();
    await database?.drop();
  });

  it("has an index whose predicate is the counts' condition, with the domain's final statuses", async () => {
    const { rows } = await client.query<{ def: string }>("SELECT indexdef AS def FROM pg_indexes WHERE indexname = $1", [UNFINISHED_RUNS_INDEX]);
    expect(rows).toHaveLength(1);
    const listed = /<> ALL \('\{([^}]*)\}'/.exec(rows[0]!.def)?.[1]?.split(",");
    expect(new Set(listed)).toEqual(new Set(FINAL_STATUSES));
    // The counts' text is the predicate's, so the planner proves the one implies the other.
    expect(unfinishedVisibleRun("o")).toContain(`'{${FINAL_STATUSES.join(",")}}'::"RunStatus"[]`);
  });

  it("counts the unfinished runs before a pending run, not plan-only runs or unconfirmed saved plans", async () => {
    const [first, last] = await Promise.all(
      ["run-wait-0", "run-wait-199"].map((id) => db.run.findUniqueOrThrow({ where: { id }, select: { id: true, status: true, planOnly: true, savePlan: true } })),
    );
    const positions = await positionsInQueue(db, [first!, last!]);
    // Ahead of the first waiting run: the applying run and the confirmed saved plan.
    expect(positions.get("run-wait-0")).toBe(2);
    expect(positions.get("run-wait-199")).toBe(201);
  });

  it("reads only the unfinished runs' index, even before the statistics know about the burst", async () => {
    const { rows } = await client.query<{ "QUERY PLAN": string }>(
      `EXPLAIN (ANALYZE, COSTS OFF, SUMMARY OFF, TIMING OFF)
       SELECT count(*) FROM runs o WHERE o.workspace_id = 'ws-a' AND o.seq < 1000000 AND ${runsAheadCondition("o").sql}`,
    );
    const plan = rows.map((r) => r["QUERY PLAN"]).join("\n");
    // Every index the plan reads is the unfinished runs' one, and it returned the 203 unfinished
    // visible runs (the saved plan not yet confirmed is filtered after), none of the 3,000 finished.
    const indexes = [...plan.matchAll(/(?:Index(?: Only)? Scan|Bitmap Index Scan) (?:using )?on (\S+)/g)].map((m) => m[1]);
    expect(new Set(indexes)).toEqual(new Set([UNFINISHED_RUNS_INDEX]));
    const read = [...plan.matchAll(/Index (?:Only )?Scan (?:using \S+ )?on \S+(?: \w+)? \(actual rows=(\d+)/g)].map((m) => Number(m[1]));
    expect(read).toEqual([203]);
  });
  // A creation reads its position from the workspace's counter (migration
  // 20261203_1200_workspace_runs_ahead_counter): it must always equal the count it replaces.
  const counter = async (): Promise<number> =>
    Number((await client.query<{ n: string }>("SELECT coalesce(sum(runs_ahead), 0) AS n FROM workspace_run_counts WHERE workspace_id = 'ws-a'")).rows[0]!.n);
  const counted = async (): Promise<number> =>
    Number((await client.query<{ n: string }>(`SELECT count(*) AS n FROM runs o WHERE o.workspace_id = 'ws-a' AND ${runsAheadCondition("o").sql}`)).rows[0]!.n);

  it("has a counter whose condition is the counts' one, for every status, plan-only or not, saved plan or not", async () => {
    const { rows } = await client.query<{ p: boolean; s: boolean; st: string; counter: boolean; condition: boolean }>(
      `SELECT o.plan_only AS p, o.save_plan AS s, o.status::text AS st,
              run_waits_in_queue(o.plan_only, o.save_plan, o.status) AS counter, (${runsAheadCondition("o").sql}) AS condition
       FROM unnest($1::"RunStatus"[]) AS st(status), (VALUES (false), (true)) AS p(plan_only), (VALUES (false), (true)) AS s(save_plan),
            LATERAL (SELECT p.plan_only, s.save_plan, st.status) AS o`,
      [RUN_STATUSES],
    );
    expect(rows).toHaveLength(RUN_STATUSES.length * 4);
    expect(rows.filter((r) => r.counter !== r.condition)).toEqual([]);
    expect(rows.filter((r) => r.counter).length).toBeGreaterThan(0);
    // The status trigger's WHEN clause writes the condition out: the same final statuses.
    const trigger = (await client.query<{ def: string }>("SELECT pg_get_triggerdef(oid) AS def FROM pg_trigger WHERE tgname = 'runs_count_status'")).rows;
    expect(trigger).toHaveLength(1);
    const lists = [...trigger[0]!.def.matchAll(/<> ALL \('\{([^}]*)\}'/g)].map((m) => new Set(m[1]!.split(",")));
    expect(lists).toEqual([new Set(FINAL_STATUSES), new Set(FINAL_STATUSES)]);
  });

  it("keeps the counter equal to the count through inserts, status changes and deletes", async () => {
    // The setup's bulk inserts: the applying run, the confirmed saved plan, 200 waiting.
    expect(await counter()).toBe(202);
    expect(await counter()).toBe(await counted());
    // Finishing leaves the queue; a saved plan enters it once confirmed, and leaves when applied.
    await client.query(`UPDATE runs SET status = 'applied' WHERE id = 'run-current'`);
    await client.query(`UPDATE runs SET status = 'confirmed' WHERE id = 'run-saved'`);
    await client.query(`UPDATE runs SET status = 'discarded' WHERE id IN ('run-wait-0', 'run-wait-1', 'run-wait-2')`);
    // Changes between two waiting statuses, and of runs that never wait, leave it alone.
    await client.query(`UPDATE runs SET status = 'planning' WHERE id = 'run-wait-3'`);
    await client.query(`UPDATE runs SET status = 'planned' WHERE id IN ('run-wait-3', 'run-plan-only')`);
    expect(await counter()).toBe(202 - 1 + 1 - 3);
    expect(await counter()).toBe(await counted());
    // A rolled-back change counts nothing.
    await client.query("BEGIN");
    await client.query(`UPDATE runs SET status = 'canceled' WHERE id = 'run-wait-4'`);
    await client.query("ROLLBACK");
    await client.query(`DELETE FROM runs WHERE id IN ('run-wait-5', 'run-wait-0', 'run-saved-confirmed')`);
    expect(await counter()).toBe(await counted());
    expect(await counter()).toBe(197);
  });

  it("gives a new run the count of the runs ahead of it as its position, from the counter", async () => {
    const newRun = (id: string): NewRun => newRunInput(id, { workspaceId: "ws-a", configurationVersionId: "cv-a", message: "queued" });
    const subjects = subjectsFor("tqueue");
    // The setup wrote its runs' seq itself: new runs come after them.
    await client.query("SELECT setval('runs_seq_seq', 1000000)");
    const first = await insertRun(db, newRun(newId("run")), new Date(), subjects, newId("re"));
    const second = await insertRun(db, newRun(newId("run")), new Date(), subjects, newId("re"));
    expect(first.runsAhead).toBe(197);
    expect(second.runsAhead).toBe(198);
    // What the run's document reports afterwards agrees.
    const positions = await positionsInQueue(db, [second.run!]);
    expect(positions.get(second.run!.id)).toBe(198);
    expect(await counter()).toBe(await counted());
  });
});
