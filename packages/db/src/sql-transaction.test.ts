import { createTestDatabase, type TestDatabase } from "@tarmac/testing";
import { createDb, executeRows, inSqlTransaction, queryRows, type Db, type Tx } from "./client";
import { Prisma } from "./generated/prisma/client";

/**
 * inSqlTransaction: BEGIN, statements and COMMIT on a pool client; a callback reaching for Prisma
 * runs again, from the start, as an interactive transaction, and its first attempt leaves nothing.
 */
describe("inSqlTransaction", () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, poolSize: 3 });
    await executeRows(db, Prisma.sql`CREATE TABLE sql_tx_probe (id text PRIMARY KEY, n int NOT NULL)`);
  });
  afterAll(async () => {
    await db.$disconnect();
    await database.drop();
  });
  beforeEach(async () => {
    await executeRows(db, Prisma.sql`DELETE FROM sql_tx_probe`);
  });

  const insert = (tx: Tx, id: string) => executeRows(tx, Prisma.sql`INSERT INTO sql_tx_probe (id, n) VALUES (${id}, 1)`);
  const ids = async () => (await queryRows<{ id: string }>(db, Prisma.sql`SELECT id FROM sql_tx_probe ORDER BY id`)).map((r) => r.id);
  const backendPid = async (tx: Tx) => (await queryRows<{ pid: number }>(tx, Prisma.sql`SELECT pg_backend_pid() AS pid`))[0]!.pid;
  const transactionId = async (tx: Tx) => (await queryRows<{ xid: string }>(tx, Prisma.sql`SELECT txid_current()::text AS xid`))[0]!.xid;

  it("commits the callback's statements as one transaction on one connection, without Prisma", async () => {
    const transaction = jest.spyOn(db, "$transaction");
    try {
      const seen = await inSqlTransaction(db, async (tx) => {
        await insert(tx, "a");
        const first = { pid: await backendPid(tx), xid: await transactionId(tx) };
        await insert(tx, "b");
        // Another connection does not see the rows before the commit.
        expect(await ids()).toEqual([]);
        return { first, second: { pid: await backendPid(tx), xid: await transactionId(tx) } };
      });
      expect(seen.second).toEqual(seen.first);
      expect(await ids()).toEqual(["a", "b"]);
      expect(transaction).not.toHaveBeenCalled();
    } finally {
      transaction.mockRestore();
    }
  });

  it("rolls back and rethrows what the callback throws, and the connection serves the next transaction", async () => {
    await expect(
      inSqlTransaction(db, async (tx) => {
        await insert(tx, "a");
        throw new Error("decided against it");
      }),
    ).rejects.toThrow("decided against it");
    expect(await ids()).toEqual([]);
    // A failed statement aborts the transaction; the error is the statement's, nothing is kept.
    await expect(
      inSqlTransaction(db, async (tx) => {
        await insert(tx, "a");
        await insert(tx, "a");
      }),
    ).rejects.toThrow(/duplicate key/);
    expect(await ids()).toEqual([]);
    await inSqlTransaction(db, (tx) => insert(tx, "c"));
    expect(await ids()).toEqual(["c"]);
  });

  it("runs a callback that reaches for Prisma again in an interactive transaction; the first attempt leaves nothing", async () => {
    const reached: string[] = [];
    let attempts = 0;
    const result = await inSqlTransaction(
      db,
      async (tx) => {
        attempts++;
        await insert(tx, `attempt-${attempts}`);
        // A Prisma call on the transaction: the first attempt cannot serve it.
        const [row] = await tx.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM sql_tx_probe`;
        await insert(tx, `after-${attempts}`);
        return row!.n;
      },
      (property) => reached.push(property),
    );
    expect(attempts).toBe(2);
    expect(reached).toEqual(["$queryRaw"]);
    // The second attempt saw only its own first row: the first attempt's was rolled back.
    expect(result).toBe(1);
    expect(await ids()).toEqual(["after-2", "attempt-2"]);
  });

  it("runs the callback again even when it caught what reaching for Prisma threw", async () => {
    let attempts = 0;
    await inSqlTransaction(db, async (tx) => {
      attempts++;
      await insert(tx, `attempt-${attempts}`);
      try {
        await tx.$executeRaw`SELECT 1`;
      } catch {
        // a callback that swallows errors must not commit a half-done first attempt
      }
    });
    expect(attempts).toBe(2);
    expect(await ids()).toEqual(["attempt-2"]);
  });

  it("returns every connection to the pool, whatever the outcome", async () => {
    const pids = new Set<number>();
    for (let i = 0; i < 10; i++) {
      await inSqlTransaction(db, async (tx) => {
        pids.add(await backendPid(tx));
        if (i % 3 === 0) await tx.$queryRaw`SELECT 1`;
      }).catch(() => undefined);
      await inSqlTransaction(db, async () => {
        throw new Error("no");
      }).catch(() => undefined);
    }
    // Ten transactions at a time would need ten connections; a pool of three served them all.
    const open = await queryRows<{ n: number }>(db, Prisma.sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
    expect(pids.size).toBeLessThanOrEqual(3);
    expect(open[0]!.n).toBeLessThanOrEqual(3);
    const held = await Promise.all(Array.from({ length: 3 }, (_, i) => inSqlTransaction(db, (tx) => insert(tx, `p${i}`))));
    expect(held).toEqual([1, 1, 1]);
  });

  it("leaves a client Prisma never connected through safe when its idle connections die, and ends its pool on $disconnect", async () => {
    const own = createDb({ databaseUrl: database.url, poolSize: 2 });
    const pid = await inSqlTransaction(own, backendPid);
    // The server ends the idle connection (a restart, an administrator): no unheard "error" event.
    await queryRows(db, Prisma.sql`SELECT pg_terminate_backend(${pid}::int)`);
    await new Promise((r) => setTimeout(r, 200));
    const again = await inSqlTransaction(own, backendPid);
    expect(again).not.toBe(pid);
    await own.$disconnect();
    const left = await queryRows<{ n: number }>(db, Prisma.sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ${again}::int`);
    expect(left[0]!.n).toBe(0);
  });

  it("bounds how long the transaction may sit idle while holding its locks", async () => {
    const setting = await inSqlTransaction(db, async (tx) =>
      (await queryRows<{ value: string }>(tx, Prisma.sql`SELECT current_setting('idle_in_transaction_session_timeout') AS value`))[0]!.value,
    );
    expect(setting).toBe("15s");
    // Local to the transaction: the pool's connections keep the server's setting.
    const outside = await queryRows<{ value: string }>(db, Prisma.sql`SELECT current_setting('idle_in_transaction_session_timeout') AS value`);
    expect(outside[0]!.value).toBe("0");
  });
});
