import { Router, type NextFunction, type Request, type Response } from "express";
import type { RunAction } from "@tarmac/contracts";
import { unprocessable, type RunPermissionKey } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { actingUserId, principalOf } from "../http/auth";
import { guards, refuseTokenKindLacking, runOf } from "../http/requires";
import { sendEmpty } from "../http/respond";
import { acceptRunAction, awaitRunActionDecision } from "../services/run-actions";

/** The permission each action needs (notes §8): apply runs for all but force-cancel, which is admin's. */
const REQUIRED_PERMISSION: Record<RunAction, RunPermissionKey> = {
  apply: "can-apply",
  discard: "can-discard",
  cancel: "can-cancel",
  "force-cancel": "can-force-cancel",
  "force-execute": "can-force-execute",
};

/**
 * go-tfe sends `{}` or `{"comment": "…"}`; old versions wrap it JSON:API style; force-execute
 * sends nothing at all (notes §1.1). A comment that is not a string is malformed.
 */
export function parseActionComment(body: unknown): string | null {
  if (body === undefined || body === null) return null;
  if (typeof body !== "object" || Array.isArray(body)) throw unprocessable("the request body must be a JSON object", { pointer: "" });
  const b = body as Record<string, unknown>;
  let comment: unknown = b.comment;
  let pointer = "/comment";
  if (comment === undefined && b.data && typeof b.data === "object") {
    const attrs = (b.data as Record<string, unknown>).attributes;
    if (attrs && typeof attrs === "object") {
      comment = (attrs as Record<string, unknown>).comment;
      pointer = "/data/attributes/comment";
    }
  }
  if (comment === undefined || comment === null) return null;
  if (typeof comment !== "string") throw unprocessable("comment must be a string", { pointer });
  return comment.trim() === "" ? null : comment;
}

/**
 * Before the run is looked up: a kind of token that may act on no run (an organization token) is
 * a 404, and a malformed comment a 422, whichever run the path names.
 */
function actionComment(action: RunAction) {
  return (req: Request, res: Response, next: NextFunction) => {
    refuseTokenKindLacking(principalOf(req), REQUIRED_PERMISSION[action]);
    res.locals.comment = action === "force-execute" ? null : parseActionComment(req.body);
    next();
  };
}

export function runActionsRouter(deps: GatewayDeps): Router {
  const router = Router();
  const requires = guards(deps);

  for (const action of ["apply", "discard", "cancel", "force-cancel", "force-execute"] as const) {
    router.post(`/runs/:id/actions/${action}`, actionComment(action), requires("run", REQUIRED_PERMISSION[action]), async (req, res) => {
      const { run } = runOf(res);
      const id = await acceptRunAction(deps, { run, action, comment: res.locals.comment as string | null, actorId: actingUserId(principalOf(req)) });
      // Answer once the scheduler carried the action out (bounded: a scheduler that is away carries it out when it is back).
      await awaitRunActionDecision(deps, id);
      sendEmpty(res, 202);
    });
  }

  return router;
}
