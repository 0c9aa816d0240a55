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

export function createDb({ databaseUrl, poolSize = 10 }: DbOptions): Db {
  // One pool for both Prisma and the hot statements queryRows sends past it.
  const pool = new Pool({ connectionString: databaseUrl, max: poolSize, types: rowTypes });
  if (throughPooler(databaseUrl)) pooled.add(pool);
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
export async function queryRows<T>(db: Db | Tx, sql: Prisma.Sql, options: { prepareAs?: string } = {}): Promise<T[]> {
  const pool = pools.get(db as Db);
  if (!pool) return db.$queryRaw<T[]>(sql);
  // A named statement is parsed and planned once per connection, then only bound and executed:
  // for a long statement of the hottest read, the text is neither sent nor parsed again. The
  // name must always go with the same text. Not through a transaction-mode pooler, which passes
  // only unnamed statements.
  if (options.prepareAs !== undefined && !pooled.has(pool)) {
    return (await pool.query({ name: options.prepareAs, text: sql.text, values: sql.values })).rows as T[];
  }
  return (await pool.query(sql.text, sql.values)).rows as T[];
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
