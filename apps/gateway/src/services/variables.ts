import { decryptValue, encryptValue, inTransaction, variablesRepo, type DecryptionKeys } from "@tarmac/db";
import { notFound } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { invalidAttribute, withUniqueAs } from "../http/request-body";

/**
 * Workspace variables. Sensitive values are encrypted at rest with the deployment's current key
 * and never shown again (DESIGN invariant 6); a key is unique per workspace and category.
 */

type Category = "terraform" | "env";

const TERRAFORM_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkKey(key: string, cat: Category): void {
  const ok = cat === "terraform" ? TERRAFORM_KEY.test(key) : ENV_KEY.test(key);
  if (!ok) {
    throw invalidAttribute(
      cat === "terraform"
        ? "Key must start with a letter or underscore and contain only letters, numbers, - and _"
        : "Key must start with a letter or underscore and contain only letters, numbers and _",
      "/data/attributes/key",
    );
  }
}

const keyTaken = () => invalidAttribute("Key has already been taken", "/data/attributes/key");

export interface NewVariable {
  key: string;
  value?: string | undefined;
  description?: string | null | undefined;
  category: Category;
  hcl?: boolean | undefined;
  sensitive?: boolean | undefined;
}

export async function createVariable(deps: GatewayDeps, workspaceId: string, a: NewVariable): Promise<variablesRepo.WorkspaceVariable> {
  checkKey(a.key, a.category);
  const sensitive = a.sensitive ?? false;
  const value = a.value ?? "";
  return withUniqueAs(
    () =>
      inTransaction(deps.db, async (tx) => {
        if (await variablesRepo.isVariableKeyTaken(tx, workspaceId, a.category, a.key)) throw keyTaken();
        return variablesRepo.createVariable(tx, workspaceId, {
          key: a.key,
          value: sensitive ? encryptValue(value, deps.keys.current) : value,
          description: a.description ?? null,
          category: a.category,
          hcl: a.hcl ?? false,
          sensitive,
        });
      }),
    keyTaken,
  );
}

export async function findVariable(deps: GatewayDeps, workspaceId: string, id: string): Promise<variablesRepo.WorkspaceVariable> {
  const v = await variablesRepo.findVariable(deps.db, workspaceId, id);
  if (!v) throw notFound();
  return v;
}

/** A sensitive variable stays sensitive; making one sensitive encrypts its existing value. */
export async function updateVariable(
  deps: GatewayDeps,
  current: variablesRepo.WorkspaceVariable,
  a: Partial<NewVariable>,
): Promise<variablesRepo.WorkspaceVariable> {
  if (current.sensitive && a.sensitive === false) {
    throw invalidAttribute("A sensitive variable cannot be made non-sensitive", "/data/attributes/sensitive");
  }
  const key = a.key ?? current.key;
  const cat = a.category ?? (current.category as Category);
  checkKey(key, cat);
  const sensitive = a.sensitive ?? current.sensitive;
  const plain = a.value ?? (current.sensitive ? null : current.value);
  const patch: Partial<variablesRepo.VariableData> = { key, category: cat, sensitive };
  if (plain !== null && (a.value !== undefined || sensitive !== current.sensitive)) {
    patch.value = sensitive ? encryptValue(plain, deps.keys.current) : plain;
  }
  if (a.description !== undefined) patch.description = a.description;
  if (a.hcl !== undefined) patch.hcl = a.hcl;
  return withUniqueAs(
    () =>
      inTransaction(deps.db, async (tx) => {
        if (await variablesRepo.isVariableKeyTaken(tx, current.workspaceId, cat, key, current.id)) throw keyTaken();
        return variablesRepo.updateVariable(tx, current.id, patch);
      }),
    keyTaken,
  );
}

export async function deleteVariable(deps: GatewayDeps, v: variablesRepo.WorkspaceVariable): Promise<void> {
  await variablesRepo.deleteVariable(deps.db, v.id);
}

/** The plaintext of a stored variable value (for run execution; never for API responses). */
export function variablePlaintext(v: variablesRepo.WorkspaceVariable, keys: DecryptionKeys): string {
  return v.sensitive ? decryptValue(v.value, keys) : v.value;
}
