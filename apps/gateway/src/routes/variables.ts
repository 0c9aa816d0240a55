import { Router } from "express";
import { z } from "zod";
import { decryptValue, encryptValue, inTransaction, variablesRepo, type DecryptionKeys } from "@tarmac/db";
import { notFound } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { principalOf } from "../http/auth";
import { invalidAttribute, jsonApiDocument, parseBody, pathParam, withUniqueAs } from "../http/request-body";
import { sendDocument, sendEmpty } from "../http/respond";
import { loadWorkspaceForPrincipal } from "../http/workspace-access";
import { serializeVariable } from "../serializers/variables";

const category = z.enum(["terraform", "env"], { error: "Category must be one of terraform, env" });

const variableAttributes = z.object({
  key: z.string().min(1, "Key can't be blank").max(128, "Key is too long (maximum is 128 characters)").optional(),
  // HCP accepts numbers and booleans here and stores their text.
  value: z
    .union([z.string(), z.number(), z.boolean()])
    .nullable()
    .transform((v) => (v === null ? "" : String(v)))
    .optional(),
  description: z.string().max(512).nullable().optional(),
  category: category.optional(),
  hcl: z.boolean().optional(),
  sensitive: z.boolean().optional(),
});

const createBody = jsonApiDocument("vars", variableAttributes.extend({ key: variableAttributes.shape.key.unwrap(), category }));
const updateBody = jsonApiDocument("vars", variableAttributes);

const TERRAFORM_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

function checkKey(key: string, cat: "terraform" | "env"): void {
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

/**
 * Workspace variables. Sensitive values are encrypted at rest and write-only:
 * responses show them as null (DESIGN invariant 6). Reading needs read access,
 * writing needs write access.
 */
export function variablesRouter(deps: GatewayDeps): Router {
  const r = Router();

  r.get("/workspaces/:id/vars", async (req, res) => {
    const { workspace } = await loadWorkspaceForPrincipal(deps, principalOf(req), pathParam(req, "id"), "read");
    const vars = await variablesRepo.listVariables(deps.db, workspace.id);
    sendDocument(res, 200, { data: vars.map(serializeVariable) });
  });

  r.post("/workspaces/:id/vars", async (req, res) => {
    const { workspace } = await loadWorkspaceForPrincipal(deps, principalOf(req), pathParam(req, "id"), "write");
    const a = parseBody(createBody, req.body).data.attributes;
    checkKey(a.key, a.category);
    const sensitive = a.sensitive ?? false;
    const value = a.value ?? "";
    const created = await withUniqueAs(
      () =>
        inTransaction(deps.db, async (tx) => {
          if (await variablesRepo.isVariableKeyTaken(tx, workspace.id, a.category, a.key)) throw keyTaken();
          return variablesRepo.createVariable(tx, workspace.id, {
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
    sendDocument(res, 201, { data: serializeVariable(created) });
  });

  r.get("/workspaces/:id/vars/:varId", async (req, res) => {
    const { workspace } = await loadWorkspaceForPrincipal(deps, principalOf(req), pathParam(req, "id"), "read");
    const v = await variablesRepo.findVariable(deps.db, workspace.id, pathParam(req, "varId"));
    if (!v) throw notFound();
    sendDocument(res, 200, { data: serializeVariable(v) });
  });

  r.patch("/workspaces/:id/vars/:varId", async (req, res) => {
    const { workspace } = await loadWorkspaceForPrincipal(deps, principalOf(req), pathParam(req, "id"), "write");
    const current = await variablesRepo.findVariable(deps.db, workspace.id, pathParam(req, "varId"));
    if (!current) throw notFound();
    const a = parseBody(updateBody, req.body).data.attributes;
    if (current.sensitive && a.sensitive === false) {
      throw invalidAttribute("A sensitive variable cannot be made non-sensitive", "/data/attributes/sensitive");
    }
    const key = a.key ?? current.key;
    const cat = a.category ?? current.category;
    checkKey(key, cat);
    const sensitive = a.sensitive ?? current.sensitive;
    // Making a variable sensitive encrypts its existing value when no new one is given.
    const plain = a.value ?? (current.sensitive ? null : current.value);
    const patch: Partial<variablesRepo.VariableData> = { key, category: cat, sensitive };
    if (plain !== null && (a.value !== undefined || sensitive !== current.sensitive)) {
      patch.value = sensitive ? encryptValue(plain, deps.keys.current) : plain;
    }
    if (a.description !== undefined) patch.description = a.description;
    if (a.hcl !== undefined) patch.hcl = a.hcl;
    const updated = await withUniqueAs(
      () =>
        inTransaction(deps.db, async (tx) => {
          if (await variablesRepo.isVariableKeyTaken(tx, workspace.id, cat, key, current.id)) throw keyTaken();
          return variablesRepo.updateVariable(tx, current.id, patch);
        }),
      keyTaken,
    );
    sendDocument(res, 200, { data: serializeVariable(updated) });
  });

  r.delete("/workspaces/:id/vars/:varId", async (req, res) => {
    const { workspace } = await loadWorkspaceForPrincipal(deps, principalOf(req), pathParam(req, "id"), "write");
    const v = await variablesRepo.findVariable(deps.db, workspace.id, pathParam(req, "varId"));
    if (!v) throw notFound();
    await variablesRepo.deleteVariable(deps.db, v.id);
    sendEmpty(res, 204);
  });

  return r;
}

/** The plaintext of a stored variable value (for run execution; never for API responses). */
export function variablePlaintext(v: variablesRepo.WorkspaceVariable, keys: DecryptionKeys): string {
  return v.sensitive ? decryptValue(v.value, keys) : v.value;
}
