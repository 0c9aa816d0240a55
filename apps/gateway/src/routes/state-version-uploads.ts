import express, { Router, type Request } from "express";
import { verifyCapability } from "@tarmac/contracts";
import { stateVersionUploadsRepo } from "@tarmac/db";
import { notFound, unprocessable } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";

type Params = { svId: string; secret: string };

/**
 * A state version's upload URLs (`hosted-state-upload-url`, `hosted-json-state-upload-url`):
 * go-tfe PUTs the raw state and the JSON state there, concurrently and without a bearer token
 * (doForeignPUTRequest, notes §0.7), so the secret in the path is the whole authorization and
 * anything unauthorized answers 404 like a missing version. The lock was checked when the
 * version was created. Each accepts one upload: a second is a 409.
 */
export function stateVersionUploadRouter(deps: GatewayDeps): Router {
  const router = Router();
  const rawBody = express.raw({ type: () => true, limit: deps.env.TARMAC_MAX_STATE_BYTES });
  const bodyOf = (req: Request): Buffer => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));

  router.put("/_archivist/state-versions/:svId/state/:secret", rawBody, async (req: Request<Params>, res) => {
    if (!verifyCapability(deps.keys, "state-upload", req.params.svId, req.params.secret, deps.now())) throw notFound();
    const state = bodyOf(req);
    if (state.length === 0) throw unprocessable("the state is empty");
    await stateVersionUploadsRepo.finalizeStateVersion(deps.db, req.params.svId, state);
    res.status(200).end();
  });

  router.put("/_archivist/state-versions/:svId/json-state/:secret", rawBody, async (req: Request<Params>, res) => {
    if (!verifyCapability(deps.keys, "json-state-upload", req.params.svId, req.params.secret, deps.now())) throw notFound();
    const jsonState = bodyOf(req);
    if (jsonState.length === 0) throw unprocessable("the JSON state is empty");
    await stateVersionUploadsRepo.storeJsonState(deps.db, req.params.svId, jsonState);
    res.status(200).end();
  });

  return router;
}
