import { PrismaPg } from "@prisma/adapter-pg";
import { Pool, types } from "pg";
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

const INT8_OID = 20;
/**
 * Type parsers of the pool's own statements (`queryRows`): bigint columns as BigInt, as Prisma
 * returns them. Prisma's adapter sets its own parsers on every statement it sends.
 */
const rowTypes = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID ? (value: string) => BigInt(value) : types.getTypeParser(oid, format)) as typeof types.getTypeParser,
};

export function createDb({ databaseUrl, poolSize = 10 }: DbOptions): Db {
  // One pool for both Prisma and the hot statements queryRows sends past it.
  const pool = new Pool({ connectionString: databaseUrl, max: poolSize, types: rowTypes });
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  const db = new PrismaClient({ adapter });
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
export async function queryRows<T>(db: Db | Tx, sql: Prisma.Sql): Promise<T[]> {
  const pool = pools.get(db as Db);
  if (!pool) return db.$queryRaw<T[]>(sql);
  return (await pool.query(sql.text, sql.values)).rows as T[];
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
}

export async function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.$transaction(fn, { maxWait: 5_000, timeout: 15_000 });
}
