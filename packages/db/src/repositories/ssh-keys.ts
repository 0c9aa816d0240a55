import { newId } from "@tarmac/domain";
import type { Db, Tx } from "../client";

export interface SshKeyRow {
  id: string;
  organizationId: string;
  name: string;
  createdAt: Date;
  updatedAt: Date;
}

const publicFields = { id: true, organizationId: true, name: true, createdAt: true, updatedAt: true } as const;

/** `encryptedValue` is already encrypted by the caller; the value is write-only. */
export async function createSshKey(db: Db | Tx, organizationId: string, name: string, encryptedValue: string): Promise<SshKeyRow> {
  return db.sshKey.create({ data: { id: newId("sshkey"), organizationId, name, value: encryptedValue }, select: publicFields });
}

export async function findSshKey(db: Db | Tx, id: string): Promise<SshKeyRow | null> {
  return db.sshKey.findUnique({ where: { id }, select: publicFields });
}

export async function listSshKeys(
  db: Db | Tx,
  organizationId: string,
  page: { offset: number; limit: number },
): Promise<{ items: SshKeyRow[]; total: number }> {
  const [items, total] = await Promise.all([
    db.sshKey.findMany({ where: { organizationId }, select: publicFields, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip: page.offset, take: page.limit }),
    db.sshKey.count({ where: { organizationId } }),
  ]);
  return { items, total };
}

export async function updateSshKey(
  db: Db | Tx,
  id: string,
  change: { name?: string; encryptedValue?: string },
): Promise<SshKeyRow> {
  return db.sshKey.update({
    where: { id },
    data: { ...(change.name !== undefined ? { name: change.name } : {}), ...(change.encryptedValue !== undefined ? { value: change.encryptedValue } : {}) },
    select: publicFields,
  });
}

/** Workspaces using the key lose it (ON DELETE SET NULL). */
export async function deleteSshKey(db: Db | Tx, id: string): Promise<void> {
  await db.sshKey.deleteMany({ where: { id } });
}

export async function setWorkspaceSshKey(db: Db | Tx, workspaceId: string, sshKeyId: string | null): Promise<void> {
  await db.workspace.update({ where: { id: workspaceId }, data: { sshKeyId } });
}
