import { createHash, randomUUID } from "node:crypto";
import { Pool } from "pg";
import { databaseUrlOf, type Db } from "./client";

/**
 * Writes a large blob (a configuration archive, up to 100 MiB) with node-postgres directly:
 * it sends a Buffer as one binary parameter, where Prisma's query engine re-encodes the bytes
 * several times over (a 95 MiB archive cost ~2.3 GB of transient memory and seconds of a
 * blocked event loop). The row commits on its own, before the transaction that references it;
 * the caller deletes it (`deleteLargeBlob`) if that transaction does not use it.
 */
const pools = new WeakMap<Db, Pool>();

function poolFor(db: Db): Pool {
  let pool = pools.get(db);
  if (!pool) {
    const connectionString = databaseUrlOf(db);
    if (!connectionString) throw new Error("this database client was not made by createDb");
    // Few, short-lived connections; idle ones let the process exit on its own.
    pool = new Pool({ connectionString, max: 2, idleTimeoutMillis: 5_000, allowExitOnIdle: true });
    pool.on("error", () => undefined); // an idle client's socket error; the next query reconnects
    pools.set(db, pool);
  }
  return pool;
}

export async function putLargeBlob(db: Db, data: Buffer, contentType: string): Promise<string> {
  const id = `blob-${randomUUID()}`;
  const sha256 = createHash("sha256").update(data).digest("hex");
  await poolFor(db).query(
    "INSERT INTO blobs (id, content_type, size, sha256, data, created_at) VALUES ($1, $2, $3, $4, $5, now())",
    [id, contentType, data.length, sha256, data],
  );
  return id;
}

export async function deleteLargeBlob(db: Db, id: string): Promise<void> {
  await poolFor(db).query("DELETE FROM blobs WHERE id = $1", [id]);
}

/** Closes the direct pool of `db`, if one was opened (shutdown, tests). */
export async function closeLargeBlobPool(db: Db): Promise<void> {
  const pool = pools.get(db);
  pools.delete(db);
  await pool?.end();
}
