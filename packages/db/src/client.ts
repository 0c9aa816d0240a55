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

export function createDb({ databaseUrl, poolSize = 10 }: DbOptions): Db {
  const adapter = new PrismaPg({ connectionString: databaseUrl, max: poolSize });
  return new PrismaClient({ adapter });
}

/** Readiness probe: one round trip. */
export async function pingDb(db: Db): Promise<void> {
  await db.$queryRaw`SELECT 1`;
}

export async function inTransaction<T>(db: Db, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.$transaction(fn, { maxWait: 5_000, timeout: 15_000 });
}
