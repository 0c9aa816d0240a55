import { newId } from "@tarmac/domain";
import type { Db, Tx } from "../client";
import type { WorkspaceVariable } from "../generated/prisma/client";
import type { VariableCategory } from "../generated/prisma/enums";

export type { WorkspaceVariable };

export async function listVariables(db: Db | Tx, workspaceId: string): Promise<WorkspaceVariable[]> {
  return db.workspaceVariable.findMany({ where: { workspaceId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
}

export async function findVariable(db: Db | Tx, workspaceId: string, id: string): Promise<WorkspaceVariable | null> {
  return db.workspaceVariable.findFirst({ where: { id, workspaceId } });
}

export async function isVariableKeyTaken(
  db: Db | Tx,
  workspaceId: string,
  category: VariableCategory,
  key: string,
  exceptId?: string,
): Promise<boolean> {
  const row = await db.workspaceVariable.findUnique({
    where: { workspaceId_category_key: { workspaceId, category, key } },
    select: { id: true },
  });
  return row !== null && row.id !== exceptId;
}

export interface VariableData {
  key: string;
  /** Already encrypted when sensitive. */
  value: string;
  description: string | null;
  category: VariableCategory;
  hcl: boolean;
  sensitive: boolean;
}

export async function createVariable(tx: Tx, workspaceId: string, data: VariableData): Promise<WorkspaceVariable> {
  return tx.workspaceVariable.create({ data: { ...data, id: newId("var"), workspaceId } });
}

export async function updateVariable(tx: Tx, id: string, data: Partial<VariableData>): Promise<WorkspaceVariable> {
  return tx.workspaceVariable.update({ where: { id }, data });
}

export async function deleteVariable(db: Db | Tx, id: string): Promise<boolean> {
  const { count } = await db.workspaceVariable.deleteMany({ where: { id } });
  return count === 1;
}
