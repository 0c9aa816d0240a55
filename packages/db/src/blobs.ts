import { createHash, randomUUID } from "node:crypto";
import type { Tx } from "./client";

/**
 * The blob store. Postgres holds the bytes today; callers only see ids, so an
 * S3-compatible store can replace this module without touching them.
 */
export async function putBlob(tx: Tx, data: Buffer, contentType = "application/octet-stream"): Promise<string> {
  const id = `blob-${randomUUID()}`;
  await tx.blob.create({
    data: {
      id,
      // A view, not a copy: uploads can be 100 MiB and Prisma makes its own encoding of them.
      data: data as Uint8Array<ArrayBuffer>,
      size: data.length,
      sha256: createHash("sha256").update(data).digest("hex"),
      contentType,
    },
  });
  return id;
}

export async function getBlob(tx: Tx, id: string): Promise<{ data: Buffer; contentType: string } | null> {
  const row = await tx.blob.findUnique({ where: { id }, select: { data: true, contentType: true } });
  return row ? { data: Buffer.from(row.data), contentType: row.contentType } : null;
}

export async function deleteBlob(tx: Tx, id: string): Promise<void> {
  await tx.blob.deleteMany({ where: { id } });
}
