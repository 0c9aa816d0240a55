import { setFlagsFromString } from "node:v8";
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

export async function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.$transaction(fn, { maxWait: 5_000, timeout: 15_000 });
}
