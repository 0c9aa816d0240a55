import { Router } from "express";
import { z } from "zod";
import { variablesRepo } from "@tarmac/db";
import type { GatewayDeps } from "../deps";
import { jsonApiDocument, parseBody, pathParam } from "../http/request-body";
import { guards, workspaceOf } from "../http/requires";
import { sendDocument, sendEmpty } from "../http/respond";
import { serializeVariable } from "../serializers/variables";
import * as variables from "../services/variables";

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

/**
 * Workspace variables. Sensitive values are write-only: responses show them as null (DESIGN
 * invariant 6). Reading needs can-read-variable, writing can-update-variable.
 */
export function variablesRouter(deps: GatewayDeps): Router {
  const r = Router();
  const requires = guards(deps);

  r.get("/workspaces/:id/vars", requires("workspace", "can-read-variable"), async (_req, res) => {
    const vars = await variablesRepo.listVariables(deps.db, workspaceOf(res).workspace.id);
    sendDocument(res, 200, { data: vars.map(serializeVariable) });
  });

  r.post("/workspaces/:id/vars", requires("workspace", "can-update-variable"), async (req, res) => {
    const attrs = parseBody(createBody, req.body).data.attributes;
    const created = await variables.createVariable(deps, workspaceOf(res).workspace.id, attrs);
    sendDocument(res, 201, { data: serializeVariable(created) });
  });

  r.get("/workspaces/:id/vars/:varId", requires("workspace", "can-read-variable"), async (req, res) => {
    const v = await variables.findVariable(deps, workspaceOf(res).workspace.id, pathParam(req, "varId"));
    sendDocument(res, 200, { data: serializeVariable(v) });
  });

  r.patch("/workspaces/:id/vars/:varId", requires("workspace", "can-update-variable"), async (req, res) => {
    const current = await variables.findVariable(deps, workspaceOf(res).workspace.id, pathParam(req, "varId"));
    const attrs = parseBody(updateBody, req.body).data.attributes;
    const updated = await variables.updateVariable(deps, current, attrs);
    sendDocument(res, 200, { data: serializeVariable(updated) });
  });

  r.delete("/workspaces/:id/vars/:varId", requires("workspace", "can-update-variable"), async (req, res) => {
    const v = await variables.findVariable(deps, workspaceOf(res).workspace.id, pathParam(req, "varId"));
    await variables.deleteVariable(deps, v);
    sendEmpty(res, 204);
  });

  return r;
}
