import { Router } from "express";
import { z } from "zod";
import type { GatewayDeps } from "../deps";
import { principalOf } from "../http/auth";
import { jsonApiDocument, parseBody } from "../http/request-body";
import { guards, workspaceOf } from "../http/requires";
import { sendDocument } from "../http/respond";
import { setSnapshotInterval } from "../http/state-snapshot";
import { serializeStateVersion } from "../serializers/state-versions";
import { createStateVersion } from "../services/state-versions";

const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "must be base64");

const createBody = jsonApiDocument(
  "state-versions",
  z.object({
    serial: z.number().int().nonnegative(),
    md5: z.string().regex(/^[0-9a-fA-F]{32}$/, "must be the hex MD5 of the state"),
    // Absent in the two-step form (go-tfe StateVersions.Upload, terraform ≥ 1.6): the state is PUT
    // to `hosted-state-upload-url` afterwards. Present in the one-step form (go-tfe Create).
    state: base64.min(1).optional(),
    lineage: z.string().min(1).optional(),
    // go-tfe sends `"force": null` when unset.
    force: z.boolean().nullish(),
    "json-state": base64.optional(),
    // The outputs in terraform's JSON form. Outputs are read from the state itself, which
    // carries the same names, values, sensitivity and types.
    "json-state-outputs": base64.optional(),
  }),
);

/**
 * `POST /workspaces/:id/state-versions`: how the CLI writes state outside a remote run (local
 * execution, `state` commands, `import`, `taint`, migration) and how go-tfe and the tfe provider
 * push it. The caller must hold the workspace lock (http/state-lock.ts); a refused create writes
 * nothing.
 */
export function stateVersionCreateRouter(deps: GatewayDeps): Router {
  const router = Router();
  const requires = guards(deps);
  const ctx = { publicUrl: deps.publicUrl, keys: deps.keys, now: deps.now };

  router.post("/workspaces/:id/state-versions", requires("workspace", "can-create-state-versions"), async (req, res) => {
    const attrs = parseBody(createBody, req.body).data.attributes;
    const { sv, created } = await createStateVersion(deps, principalOf(req), workspaceOf(res).workspace.id, attrs);
    setSnapshotInterval(deps, res);
    sendDocument(res, created ? 201 : 200, { data: serializeStateVersion(sv, ctx) });
  });

  return router;
}
