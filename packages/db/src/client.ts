import { PrismaPg } from "@prisma/adapter-pg";
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

export function createDb({ databaseUrl, poolSize = 10 }: DbOptions): Db {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize });
  const db = new PrismaClient({ adapter });
  databaseUrls.set(db, databaseUrl);
  return db;
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
