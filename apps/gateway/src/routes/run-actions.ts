import { injectTraceContext } from "@tarmac/telemetry";
import { Router, type Request } from "express";
import { subjectsFor, type RunAction } from "@tarmac/contracts";
import { inTransaction, lockWorkspaceForUpdate, runActionsRepo, runEventsRepo, runsWrite, type Tx } from "@tarmac/db";
import {
  canForceExecute,
  decideRunAction,
  forceCancelAvailableAt,
  holdsWorkspace,
  isFinalStatus,
  newId,
  notFound,
  projectPendingActions,
  refusalToError,
  unprocessable,
  type ActionRefusal,
  type RunStatus,
  type WorkspaceAccess,
} from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { actingUserId, principalOf, refuseOrganizationToken } from "../http/auth";
import { sendEmpty } from "../http/respond";
import { runFactsOf, type RunRow } from "../serializers/runs";
import { loadRunForPrincipal } from "../http/run-access";

/** The access each action needs (notes §8): apply runs for all but force-cancel, which is admin's. */
const REQUIRED_ACCESS: Record<RunAction, WorkspaceAccess> = {
  apply: "write",
  discard: "write",
  cancel: "write",
  "force-cancel": "admin",
  "force-execute": "write",
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

export function runActionsRouter(deps: GatewayDeps): Router {
  const router = Router();
  const subjects = () => subjectsFor(deps.env.TARMAC_NATS_PREFIX);
  const coolOff = () => deps.env.TARMAC_FORCE_CANCEL_COOL_OFF_MS;

  /** The run's facts with the actions already accepted for it carried out (see projectPendingActions). */
  async function projectedFacts(tx: Tx, runs: RunRow[]) {
    const pending = await runActionsRepo.listPendingActionRequests(
      tx,
      runs.map((r) => r.id),
    );
    return new Map(runs.map((r) => [r.id, projectPendingActions(runFactsOf(r), pending.filter((p) => p.runId === r.id))]));
  }

  /**
   * The domain's answer to the action, given the run as it stands once the actions accepted
   * before it are carried out. The scheduler asks the same question again when it carries it out.
   */
  async function refusalOf(tx: Tx, run: RunRow, action: RunAction, at: Date): Promise<ActionRefusal | null> {
    if (action !== "force-execute") {
      const facts = (await projectedFacts(tx, [run])).get(run.id)!;
      const decision = decideRunAction(facts, action, at);
      return decision.ok ? null : decision;
    }
    // Force-execute: the runs ahead of the target, the one holding the workspace among them.
    const ahead = await runsWrite.unfinishedRunsAhead(tx, run.workspaceId, run.seq);
    const facts = await projectedFacts(tx, [run, ...ahead]);
    const stillAhead = ahead.filter((r) => !isFinalStatus(facts.get(r.id)!.status));
    const holder = stillAhead.find((r) => holdsWorkspace({ ...facts.get(r.id)!, planOnly: r.planOnly, savePlan: r.savePlan })) ?? null;
    const check = canForceExecute(
      { id: run.id, status: facts.get(run.id)!.status },
      holder ? { id: holder.id, status: facts.get(holder.id)!.status as RunStatus } : null,
    );
    return check.ok ? null : check;
  }

  /**
   * Records the user's intent: the request (with its comment) and its run.action_requested
   * event, in one transaction, after the same domain checks the scheduler applies. The scheduler
   * carries it out; the gateway never changes a run's status itself.
   */
  async function accept(req: Request, action: RunAction): Promise<string> {
    const principal = principalOf(req);
    refuseOrganizationToken(principal);
    const comment = action === "force-execute" ? null : parseActionComment(req.body);
    const { run } = await loadRunForPrincipal(deps, principal, String(req.params.id), REQUIRED_ACCESS[action]);
    const at = deps.now();
    const id = newId("rar");
    const actorId = actingUserId(principal);
    await inTransaction(deps.db, async (tx) => {
      // Workspace first, then the run: the order the scheduler takes them in, so no deadlock.
      await lockWorkspaceForUpdate(tx, run.workspaceId);
      const locked = await runsWrite.lockRunForUpdate(tx, run.id);
      if (!locked) throw notFound("run not found");
      const refusal = await refusalOf(tx, locked, action, at);
      if (refusal) throw refusalToError(refusal);
      let commentId: string | null = null;
      if (comment !== null) {
        commentId = newId("wsc");
        await runEventsRepo.insertComment(tx, { id: commentId, runId: run.id, body: comment, authorId: actorId, at });
      }
      await runActionsRepo.recordActionRequest(tx, subjects(), {
        id,
        runId: run.id,
        workspaceId: run.workspaceId,
        action,
        actorId,
        commentId,
        forceCancelAvailableAt: action === "cancel" ? forceCancelAvailableAt(at, coolOff()) : null,
        at,
        headers: injectTraceContext({}),
      });
    });
    return id;
  }

  for (const action of ["apply", "discard", "cancel", "force-cancel", "force-execute"] as const) {
    router.post(`/runs/:id/actions/${action}`, async (req, res) => {
      const id = await accept(req, action);
      // Answer once the scheduler carried the action out, so a client reading the run next sees
      // its effect (bounded: a scheduler that is away carries it out when it is back).
      const waitMs = deps.env.TARMAC_ACTION_WAIT_MS;
      if (deps.actionDecisions && waitMs > 0) {
        const decided = await deps.actionDecisions.wait(id, waitMs);
        // The run moved on between the check above and the scheduler (a plan finished meanwhile).
        if (decided?.status === "refused" && decided.refusal) throw refusalToError({ ok: false, ...(decided.refusal as Omit<ActionRefusal, "ok">) });
      }
      sendEmpty(res, 202);
    });
  }

  return router;
}
