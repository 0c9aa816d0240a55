import { createHash, randomUUID } from "node:crypto";
import { executeRows, queryRows, type Tx } from "./client";
import { Prisma } from "./generated/prisma/client";

/**
 * The blob store. Postgres holds the bytes today; callers only see ids, so an
 * S3-compatible store can replace this module without touching them.
 */
export async function putBlob(tx: Tx, data: Buffer, contentType = "application/octet-stream"): Promise<string> {
  const id = `blob-${randomUUID()}`;
  // Past Prisma (executeRows): node-postgres sends the bytes as a binary parameter, where Prisma
  // makes its own encoding of them, and uploads can be 100 MiB.
  await executeRows(
    tx,
    Prisma.sql`INSERT INTO blobs (id, content_type, size, sha256, data)
               VALUES (${id}, ${contentType}, ${data.length}, ${createHash("sha256").update(data).digest("hex")}, ${data})`,
  );
  return id;
}

/** A bytea column as a Buffer without copying: node-postgres gives a Buffer, Prisma's fallback a Uint8Array. */
export function asBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

export async function getBlob(tx: Tx, id: string): Promise<{ data: Buffer; contentType: string } | null> {
  const rows = await queryRows<{ data: Uint8Array; contentType: string }>(tx, Prisma.sql`SELECT data, content_type AS "contentType" FROM blobs WHERE id = ${id}`);
  const row = rows[0];
  return row ? { data: asBuffer(row.data), contentType: row.contentType } : null;
}

/** The SHA-256 (hex) of a stored blob's bytes, or null when there is no such blob. */
export async function blobSha256(tx: Tx, id: string): Promise<string | null> {
  const rows = await queryRows<{ sha256: string }>(tx, Prisma.sql`SELECT sha256 FROM blobs WHERE id = ${id}`);
  return rows[0]?.sha256 ?? null;
}

export async function deleteBlob(tx: Tx, id: string): Promise<void> {
  await tx.blob.deleteMany({ where: { id } });
}
