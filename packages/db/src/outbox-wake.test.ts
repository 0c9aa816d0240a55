import { subjectsFor } from "@tarmac/contracts";
import { newId } from "@tarmac/domain";
import { createTestDatabase, type TestDatabase } from "@tarmac/testing";
import { Client } from "pg";
import { createDb, inTransaction, type Db } from "./client";
import { newRunInput, seedWorkspace } from "./test-seed";
import { outboxChannel, wakeOutboxRelays } from "./outbox";
import { createRun, insertRun, type NewRun } from "./repositories/runs-write";

/**
 * How relays learn of a new outbox row: a run created on its own commits without a NOTIFY (which
 * would serialize every creation behind NOTIFY's database-wide lock) and wakes them right after,
 * coalesced; inside a transaction the NOTIFY goes with the transaction's commit.
 */
describe("waking the outbox relays", () => {
  let database: TestDatabase;
  let db: Db;
  let listener: Client;
  const notes: { channel: string; at: number }[] = [];
  const subjects = subjectsFor("twake");
  const channel = outboxChannel(subjects.prefix);

  const newRun = (id: string): NewRun => newRunInput(id, { message: "wake" });
  /** Waits until `n` notifications arrived, then a little longer for any extra one. */
  const settle = async (n: number): Promise<void> => {
    const deadline = Date.now() + 5_000;
    while (notes.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 200));
  };

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, poolSize: 4 });
    await seedWorkspace(db);
    listener = new Client({ connectionString: database.url });
    await listener.connect();
    listener.on("notification", (n) => notes.push({ channel: n.channel, at: Date.now() }));
    await listener.query(`LISTEN ${channel}`);
  });
  afterAll(async () => {
    await listener?.end();
    await db?.$disconnect();
    await database?.drop();
  });
  beforeEach(() => {
    notes.length = 0;
  });

  it("wakes them after a run created on its own has committed", async () => {
    const id = newId("run");
    const written = await insertRun(db, newRun(id), new Date(), subjects, "re-alone");
    expect(written.run?.id).toBe(id);
    await settle(1);
    expect(notes.map((n) => n.channel)).toEqual([channel]);
    // The row was committed before the wake: a relay woken by it finds the row.
    expect(await db.outboxEvent.count({ where: { msgId: `run-created:${id}` } })).toBe(1);
  });

  it("notifies at the commit of a transaction that creates a run, and not before", async () => {
    await inTransaction(db, async (tx) => {
      await createRun(tx, newRun(newId("run")), new Date(), subjects, "re-in-tx");
      await new Promise((r) => setTimeout(r, 200));
      expect(notes).toEqual([]);
    });
    await settle(1);
    expect(notes.map((n) => n.channel)).toEqual([channel]);
  });

  it("sends no wake when a workspace's run tasks held the write back", async () => {
    await db.runTask.create({ data: { id: "task-1", organizationId: "org-1", name: "t", url: "http://127.0.0.1:9/", enabled: true } });
    await db.workspaceRunTask.create({ data: { id: "wrt-1", workspaceId: "ws-1", taskId: "task-1", enforcementLevel: "advisory", stages: ["post_plan"] } });
    try {
      const written = await insertRun(db, newRun(newId("run")), new Date(), subjects, "re-held", undefined, { unlessRunTasks: true });
      expect(written).toMatchObject({ run: null, hasRunTasks: true });
      await new Promise((r) => setTimeout(r, 300));
      expect(notes).toEqual([]);
    } finally {
      await db.workspaceRunTask.deleteMany({});
      await db.runTask.deleteMany({});
    }
  });

  it("coalesces wakes asked for while one is in flight into one more", async () => {
    for (let i = 0; i < 50; i++) wakeOutboxRelays(db, channel);
    await settle(1);
    // The first goes at once; the other 49, asked for while it was in flight, become one.
    expect(notes).toHaveLength(2);
    notes.length = 0;
    // Once answered, the next wake goes out again.
    wakeOutboxRelays(db, channel);
    await settle(1);
    expect(notes).toHaveLength(1);
  });

  it("writes runs with a statement prepared once per connection, on its own and in a transaction", async () => {
    const direct = createDb({ databaseUrl: database.url, poolSize: 1 });
    try {
      const ids = [newId("run"), newId("run"), newId("run")];
      for (const id of ids.slice(0, 2)) expect((await insertRun(direct, newRun(id), new Date(), subjects, `re-${id}`)).run?.id).toBe(id);
      const inTx = await inTransaction(direct, (tx) => createRun(tx, newRun(ids[2]!), new Date(), subjects, `re-${ids[2]!}`));
      expect(inTx.id).toBe(ids[2]);
      expect(await db.run.count({ where: { id: { in: ids } } })).toBe(3);
      expect(await db.plan.count({ where: { runId: { in: ids } } })).toBe(3);
      expect(await db.outboxEvent.count({ where: { msgId: { in: ids.map((id) => `run-created:${id}`) } } })).toBe(3);
      const prepared = await direct.$queryRaw<{ name: string }[]>`SELECT name FROM pg_prepared_statements`;
      expect(prepared.map((r) => r.name)).toEqual(["tarmac_insert_run"]);
    } finally {
      await direct.$disconnect();
    }
  });

  // The creation's workspace update happens only when the latest configuration version changes:
  // an updated row stays locked until the commit, and creations in one workspace would queue.
  it("creates runs of one workspace at once on two connections when its configuration version is already the latest", async () => {
    const dbs: Db[] = [];
    const shardOf = async (d: Db) => Number((await d.$queryRaw<{ s: number }[]>`SELECT pg_backend_pid() % 16 AS s`)[0]!.s);
    try {
      // Two single-connection clients on different shards of the workspace's run counter.
      let first: Db | undefined;
      let second: Db | undefined;
      while (!second) {
        const d = createDb({ databaseUrl: database.url, poolSize: 1 });
        dbs.push(d);
        if (!first) first = d;
        else if ((await shardOf(d)) !== (await shardOf(first))) second = d;
      }
      await insertRun(db, newRun(newId("run")), new Date(), subjects, newId("re"));
      await second!.$executeRawUnsafe("SET statement_timeout = '3s'");
      const id = newId("run");
      await inTransaction(first!, async (tx) => {
        await createRun(tx, newRun(newId("run")), new Date(), subjects, newId("re"));
        // The first creation's transaction is open: the second must not wait for it.
        expect((await insertRun(second!, newRun(id), new Date(), subjects, newId("re"))).run?.id).toBe(id);
      });
    } finally {
      await Promise.all(dbs.map((d) => d.$disconnect()));
    }
  });
});
