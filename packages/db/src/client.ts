import { AsyncLocalStorage } from "node:async_hooks";
import { setFlagsFromString } from "node:v8";
import { PrismaPg } from "@prisma/adapter-pg";
import { Pool, types, type PoolClient } from "pg";
import { PrismaClient, Prisma } from "./generated/prisma/client";

export type Db = PrismaClient;
/** A client or an interactive transaction: repositories accept either. */
export type Tx = Prisma.TransactionClient;

export interface DbOptions {
  databaseUrl: string;
  /** Connection pool size per process. */
  poolSize?: number;
}

const databaseUrls = new WeakMap<Db, string>();
const pools = new WeakMap<Db, Pool>();
/** Pools behind a transaction-mode pooler (`pgbouncer=true`): a statement prepared on one connection is not there on the next. */
const pooled = new WeakSet<Pool>();

function throughPooler(databaseUrl: string): boolean {
  try {
    return new URL(databaseUrl).searchParams.get("pgbouncer") === "true";
  } catch {
    return false;
  }
}

const INT8_OID = 20;
/**
 * Type parsers of the pool's own statements (`queryRows`): bigint columns as BigInt, as Prisma
 * returns them. Prisma's adapter sets its own parsers on every statement it sends.
 */
const rowTypes = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID ? (value: string) => BigInt(value) : types.getTypeParser(oid, format)) as typeof types.getTypeParser,
};

/**
 * The connection of the interactive transaction being started in this async context: the
 * adapter reports it when Prisma opens the transaction, so inTransaction can hand it to the
 * statements queryRows and executeRows send inside that transaction.
 */
const startingTransaction = new AsyncLocalStorage<{ client?: PoolClient }>();
/** An open interactive transaction's own connection (its BEGIN was sent on it). */
const transactionClients = new WeakMap<object, PoolClient>();
/** Open transactions on a direct connection (not through a transaction-mode pooler): named statements may be prepared on it. */
const preparingTransactions = new WeakSet<object>();

/** Prisma's pg adapter, reporting the connection of each transaction it starts (see startingTransaction). */
class ReportingPrismaPg extends PrismaPg {
  override async connect(): ReturnType<PrismaPg["connect"]> {
    const adapter = await super.connect();
    const start = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (isolationLevel) => {
      const transaction = await start(isolationLevel);
      const scope = startingTransaction.getStore();
      const client = (transaction as unknown as { client?: PoolClient }).client;
      if (scope && !scope.client && client && typeof client.query === "function") scope.client = client;
      return transaction;
    };
    return adapter;
  }
}
let liftoffOnly = false;

export function createDb({ databaseUrl, poolSize = 10 }: DbOptions): Db {
  if (!liftoffOnly) {
    // Prisma's query compiler is WebAssembly, compiled when the first query runs. V8 first
    // compiles it with its baseline compiler (Liftoff) and then recompiles the busy functions
    // with TurboFan on background threads, whose memory glibc keeps in per-thread arenas: 15–30
    // MB of RSS in every gateway and scheduler for good. Liftoff code alone measured no slower
    // per query (the TurboFan compilations themselves cost CPU). A V8 flag, set here rather than
    // on the command line because NODE_OPTIONS does not accept it and every way of starting an
    // app should get it; it applies to WebAssembly compiled from now on.
    setFlagsFromString("--liftoff-only");
    liftoffOnly = true;
  }
  // One pool for both Prisma and the hot statements queryRows sends past it.
  const viaPooler = throughPooler(databaseUrl);
  const pool = new Pool({
    connectionString: databaseUrl,
    max: poolSize,
    types: rowTypes,
    // No JIT compilation: PostgreSQL compiles a statement whose estimated cost passes
    // jit_above_cost, and the run list page's estimate does (the queue-position subquery it would
    // run for pending runs), so every page paid ~20 ms of compilation for a 0.5 ms read. These are
    // short OLTP statements; JIT never pays for them. A transaction-mode pooler refuses startup
    // options: set `jit = off` on the server or the database there (README, Scale-out).
    ...(viaPooler ? {} : { options: "-c jit=off" }),
  });
  if (viaPooler) pooled.add(pool);
  // An idle connection that fails (the server restarted) is dropped by the pool and the next
  // checkout opens a new one; unheard, the pool's "error" event would end the process. Prisma's
  // adapter listens too, but only once Prisma itself has connected, and a process may serve
  // everything through queryRows and inSqlTransaction.
  pool.on("error", () => undefined);
  const adapter = new ReportingPrismaPg(pool, { disposeExternalPool: true });
  const db = new PrismaClient({ adapter });
  // Prisma ends the pool on $disconnect only if it connected through it.
  const disconnect = db.$disconnect.bind(db);
  db.$disconnect = async () => {
    await disconnect();
    if (!pool.ended) await pool.end();
  };
  databaseUrls.set(db, databaseUrl);
  pools.set(db, pool);
  return db;
}

/**
 * Runs one read statement and returns its rows. Outside a transaction it goes straight to
 * node-postgres on the client's own pool: the handful of statements every request makes (a run,
 * a page of runs and what their documents show) cost a fraction of the CPU that way, where even
 * `$queryRaw` passes through Prisma's request pipeline. Inside a transaction it goes through the
 * transaction. Columns come back as `$queryRaw` returns them for the types hot statements use
 * (text, boolean, bigint as BigInt, timestamptz as Date, jsonb parsed, arrays); alias them to
 * the model's field names.
 */
export async function queryRows<T>(db: Db | Tx, sql: Prisma.Sql, options: { prepareAs?: string } = {}): Promise<T[]> {
  const pool = pools.get(db as Db);
  const connection = pool ?? transactionClients.get(db);
  if (!connection) return db.$queryRaw<T[]>(sql);
  // A named statement is parsed and planned once per connection, then only bound and executed:
  // for a long statement of the hottest reads and writes, the text is neither sent nor parsed
  // again. The name must always go with the same text. On the pool or in a transaction on its
  // connection; not through a transaction-mode pooler, which passes only unnamed statements.
  if (options.prepareAs !== undefined && (pool ? !pooled.has(pool) : preparingTransactions.has(db))) {
    return (await connection.query({ name: options.prepareAs, text: sql.text, values: sql.values })).rows as T[];
  }
  return (await connection.query(sql.text, sql.values)).rows as T[];
}

/**
 * Runs one write statement and returns how many rows it changed, past Prisma like queryRows:
 * on the client's pool, or on the transaction's own connection inside inTransaction.
 */
export async function executeRows(db: Db | Tx, sql: Prisma.Sql): Promise<number> {
  const connection = pools.get(db as Db) ?? transactionClients.get(db);
  if (!connection) return db.$executeRaw(sql);
  return (await connection.query(sql.text, sql.values)).rowCount ?? 0;
}

/** Whether `db` is the client itself (each statement commits on its own), not a transaction. */
export function isDb(db: Db | Tx): db is Db {
  return pools.has(db as Db);
}

/**
 * A pool of its own, typed as the client's (bigint as BigInt), for work that must not queue behind
 * the client's pool: the outbox relay's claims. `max` connections, kept open while idle.
 */
export function createSidePool(db: Db, max: number): Pool {
  const databaseUrl = databaseUrls.get(db);
  if (!databaseUrl) throw new Error("createSidePool: a client made by createDb is required");
  const pool = new Pool({ connectionString: databaseUrl, max, idleTimeoutMillis: 0, types: rowTypes });
  // An idle connection that fails (the server restarted) is dropped by the pool and the next
  // checkout opens a new one; unheard, the pool's "error" event would end the process.
  pool.on("error", () => undefined);
  return pool;
}

/** The URL a client was created with, for the few features Prisma cannot serve (LISTEN). */
export function databaseUrlOf(db: Db): string | undefined {
  return databaseUrls.get(db);
}

/** Readiness probe: one round trip. */
export async function pingDb(db: Db): Promise<void> {
  await db.$queryRaw`SELECT 1`;
  releaseQueryCompilerSource();
}

/** Prisma's query compiler ships as a module exporting its WebAssembly as one base64 string. */
const QUERY_COMPILER_SOURCE = "@prisma/client/runtime/query_compiler_bg.postgresql.wasm-base64.js";
let compilerSourceReleased = false;

/**
 * Drops the query compiler's base64 module from node's module cache once a query has run (the
 * client compiled the WebAssembly from it then and keeps only the compiled module): otherwise
 * its 2.6 MB source and the same again as the string it exports stay on the heap of every
 * process for good. Without CommonJS `require` (an ES module host) it does nothing.
 */
function releaseQueryCompilerSource(): void {
  if (compilerSourceReleased || typeof require !== "function") return;
  compilerSourceReleased = true;
  let id: string;
  try {
    id = require.resolve(QUERY_COMPILER_SOURCE);
  } catch {
    return;
  }
  const cached = require.cache[id];
  if (!cached) return;
  delete require.cache[id];
  // The module that loaded it lists it among its children, which would keep it alive.
  for (const parent of Object.values(require.cache)) {
    const i = parent?.children.indexOf(cached) ?? -1;
    if (i >= 0) parent!.children.splice(i, 1);
  }
  cached.exports = {};
}

/** What a transaction on a pool client throws when its callback reaches for Prisma (see inSqlTransaction). */
class PrismaReached extends Error {
  constructor(readonly property: string) {
    super(`a transaction on a pool client reached for Prisma (tx.${property}); it runs again as an interactive transaction`);
    this.name = "PrismaReached";
  }
}

/** Ended by the server when a transaction on a pool client waits this long between statements (Prisma's own timeout for inTransaction). */
const SQL_TRANSACTION_IDLE_MS = 15_000;

/**
 * A transaction for callbacks whose statements go through queryRows and executeRows: BEGIN,
 * their statements and COMMIT on a client of the pool, past Prisma's interactive-transaction
 * machinery, which costs about three times the CPU of a short transaction itself. Should the
 * callback reach for anything else on `tx` (a Prisma model, `$queryRaw`), that attempt is rolled
 * back (even if the callback caught what was thrown) and the callback runs again from the start
 * in inTransaction: callbacks must be safe to run twice, as for a retried serialization failure
 * (their writes are in the transaction; whatever else they do, they decide, not perform).
 */
export async function inSqlTransaction<T>(
  db: Db,
  fn: (tx: Tx) => Promise<T>,
  /** Told what the callback reached for when it has to run again in inTransaction. */
  onPrismaReached?: (property: string) => void,
): Promise<T> {
  const pool = pools.get(db);
  if (!pool) return inTransaction(db, fn);
  const attempt = await sqlAttempt(pool, fn);
  if (attempt.done) return attempt.value;
  onPrismaReached?.(attempt.reached);
  return inTransaction(db, fn);
}

async function sqlAttempt<T>(pool: Pool, fn: (tx: Tx) => Promise<T>): Promise<{ done: true; value: T } | { done: false; reached: string }> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (err: Error): void => {
    broken = err;
  };
  // A connection that fails while checked out emits "error" on its client; unheard, it would end the process.
  client.on("error", onError);
  let reached: string | undefined;
  const tx = new Proxy(Object.create(null) as object, {
    get(_target, property) {
      // Not Prisma: a promise resolving to `tx` looks for `then`, inspection for symbols.
      if (typeof property === "symbol" || property === "then") return undefined;
      reached ??= property;
      throw new PrismaReached(property);
    },
  }) as Tx;
  transactionClients.set(tx, client);
  if (!pooled.has(pool)) preparingTransactions.add(tx);
  let rolledBack = false;
  try {
    // One round trip: the transaction and its bound, like Prisma's timeout, on the locks it holds.
    await client.query(`BEGIN; SET LOCAL idle_in_transaction_session_timeout = ${SQL_TRANSACTION_IDLE_MS}`);
    let value: T;
    try {
      value = await fn(tx);
    } catch (err) {
      await client.query("ROLLBACK");
      if (reached !== undefined) return { done: false, reached };
      rolledBack = true;
      throw err;
    }
    if (reached !== undefined) {
      await client.query("ROLLBACK");
      return { done: false, reached };
    }
    await client.query("COMMIT");
    return { done: true, value };
  } catch (err) {
    // A failed BEGIN, ROLLBACK or COMMIT leaves the connection in an unknown state: it is not reused.
    if (!rolledBack) broken ??= err instanceof Error ? err : new Error(String(err));
    throw err;
  } finally {
    transactionClients.delete(tx);
    preparingTransactions.delete(tx);
    // A connection given up on keeps its listener: it may still report the failure as it closes.
    if (broken === undefined) client.removeListener("error", onError);
    client.release(broken);
  }
}

/**
 * An interactive transaction. Inside it, queryRows and executeRows go straight to node-postgres
 * on the transaction's own connection (between Prisma's statements, which the callback awaits
 * one at a time), so hot transactions may mix both.
 */
export async function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  const scope: { client?: PoolClient } = {};
  return startingTransaction.run(scope, () =>
    db.$transaction(
      async (tx) => {
        if (scope.client) {
          transactionClients.set(tx, scope.client);
          const pool = pools.get(db);
          if (pool && !pooled.has(pool)) preparingTransactions.add(tx);
        }
        try {
          return await fn(tx);
        } finally {
          transactionClients.delete(tx);
          preparingTransactions.delete(tx);
        }
      },
      { maxWait: 5_000, timeout: 15_000 },
    ),
  );
}
