import { injectTraceContext } from "@tarmac/telemetry";
import { Router, type Request } from "express";
import { subjectsFor, type RunAction } from "@tarmac/contracts";
import { inTransaction, lockWorkspaceForUpdate, runEventsRepo, runsWrite, transitionRun, type Tx } from "@tarmac/db";
import {
  canApply,
  canCancel,
  canDiscard,
  canForceCancel,
  canForceExecute,
  forceCancelAvailableAt,
  holdsWorkspace,
  newId,
  notFound,
  refusalToError,
  transitionNotAllowed,
  unprocessable,
  type ActionCheck,
  type RunStatus,
  type WorkspaceAccess,
} from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { actingUserId, principalOf, refuseOrganizationToken } from "../http/auth";
import { sendEmpty } from "../http/respond";
import { runFactsOf, type RunRow } from "../serializers/runs";
import { loadRunForPrincipal } from "./runs";

/** The access each action needs (notes §8): apply runs for all but force-cancel, which is admin's. */
const REQUIRED_ACCESS: Record<RunAction, WorkspaceAccess> = {
  apply: "write",
  discard: "write",
  cancel: "write",
  "force-cancel": "admin",
  "force-execute": "write",
};

/** Statuses in which terraform may be executing: a cancel must reach the worker and wait for it. */
const EXECUTING: readonly RunStatus[] = ["planning", "applying"];

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

interface ActionInput {
  run: RunRow;
  action: RunAction;
  actorId: string | null;
  comment: string | null;
  at: Date;
  requestId: string;
}

function check(result: ActionCheck): void {
  if (!result.ok) throw refusalToError(result);
}

export function runActionsRouter(deps: GatewayDeps): Router {
  const router = Router();
  const subjects = () => subjectsFor(deps.env.TARMAC_NATS_PREFIX);

  /** The run event (with the comment, when given) and the run.action_requested outbox event. */
  async function record(tx: Tx, input: ActionInput, eventAction: string, description: string): Promise<void> {
    let commentId: string | null = null;
    if (input.comment !== null) {
      commentId = newId("wsc");
      await runEventsRepo.insertComment(tx, { id: commentId, runId: input.run.id, body: input.comment, authorId: input.actorId, at: input.at });
    }
    await runEventsRepo.insertRunEvent(tx, {
      id: newId("re"),
      runId: input.run.id,
      action: eventAction,
      description: input.comment ?? description,
      actorId: input.actorId,
      commentId,
      at: input.at,
    });
    await runsWrite.enqueueActionRequested(tx, subjects(), {
      runId: input.run.id,
      workspaceId: input.run.workspaceId,
      action: input.action,
      actorId: input.actorId,
      at: input.at,
      requestId: input.requestId,
      headers: injectTraceContext({}),
    });
  }

  /** Moves a run to a final status at once, settling its phases; a lost compare-and-set is a 409. */
  async function endRun(tx: Tx, run: RunRow, to: RunStatus, at: Date, patch: Record<string, unknown>, forced: boolean): Promise<void> {
    const moved = await transitionRun(tx, { runId: run.id, from: run.status as RunStatus, to, at, patch, subjects: subjects() });
    if (!moved.ok) throw transitionNotAllowed(`run is ${run.status}; it cannot become ${to}`);
    await runsWrite.settlePhasesOfEndedRun(tx, run.id, at, forced);
  }

  async function apply(tx: Tx, input: ActionInput): Promise<void> {
    const { run, at } = input;
    check(canApply(runFactsOf(run)));
    const moved = await transitionRun(tx, {
      runId: run.id,
      from: run.status as RunStatus,
      to: "confirmed",
      at,
      patch: { confirmedById: input.actorId },
      subjects: subjects(),
    });
    if (!moved.ok) throw transitionNotAllowed("Run was not paused for confirmation; apply not allowed.");
    await record(tx, input, "confirmed", "Run confirmed");
  }

  async function discard(tx: Tx, input: ActionInput): Promise<void> {
    check(canDiscard(input.run));
    await endRun(tx, input.run, "discarded", input.at, {}, false);
    await record(tx, input, "discarded", "Run discarded");
  }

  async function cancel(tx: Tx, input: ActionInput): Promise<void> {
    const { run, at } = input;
    check(canCancel(run));
    if (EXECUTING.includes(run.status as RunStatus)) {
      // Terraform is running: the scheduler interrupts the worker and the run ends canceled
      // when terraform stops. A repeated cancel interrupts again.
      const ok = await runsWrite.requestCancel(tx, {
        runId: run.id,
        expected: run.status as RunStatus,
        at,
        forceCancelAvailableAt: forceCancelAvailableAt(at, deps.env.TARMAC_FORCE_CANCEL_COOL_OFF_MS),
        canceledById: input.actorId,
      });
      if (!ok) throw transitionNotAllowed("Run was not planning or applying; cancel not allowed.");
      await record(tx, input, "cancel_requested", "Run cancel requested");
      return;
    }
    // The cancel-request timestamps are recorded here too: go-tfe's tests expect
    // force-cancel-available-at in the future right after cancelling a pending run (notes §7.3).
    await endRun(
      tx,
      run,
      "canceled",
      at,
      {
        canceledAt: at,
        canceledById: input.actorId,
        cancelRequestedAt: run.cancelRequestedAt ?? at,
        forceCancelAvailableAt: run.forceCancelAvailableAt ?? forceCancelAvailableAt(at, deps.env.TARMAC_FORCE_CANCEL_COOL_OFF_MS),
      },
      false,
    );
    await record(tx, input, "canceled", "Run canceled");
  }

  async function forceCancel(tx: Tx, input: ActionInput): Promise<void> {
    const { run, at } = input;
    check(canForceCancel(runFactsOf(run), at));
    await endRun(tx, run, "force_canceled", at, { canceledAt: at, canceledById: input.actorId }, true);
    await record(tx, input, "force_canceled", "Run force-canceled");
  }

  /**
   * Discards (or cancels) every unfinished non-speculative run ahead of the target in its
   * workspace, so the target runs next. The run holding the workspace must be discardable.
   */
  async function forceExecute(tx: Tx, input: ActionInput): Promise<void> {
    const { run, at } = input;
    const ahead = await runsWrite.unfinishedRunsAhead(tx, run.workspaceId, run.seq);
    const holder = ahead.find((r) => holdsWorkspace({ status: r.status as RunStatus, planOnly: r.planOnly, savePlan: r.savePlan })) ?? null;
    check(canForceExecute({ id: run.id, status: run.status as RunStatus }, holder ? { id: holder.id, status: holder.status as RunStatus } : null));
    for (const other of ahead) {
      const otherInput: ActionInput = { ...input, run: other, comment: null };
      if (canDiscard(other).ok) {
        await endRun(tx, other, "discarded", at, {}, false);
        await runEventsRepo.insertRunEvent(tx, {
          id: newId("re"),
          runId: other.id,
          action: "discarded",
          description: `Discarded to force-execute ${run.id}`,
          actorId: input.actorId,
          at,
        });
      } else {
        await endRun(tx, other, "canceled", at, { canceledAt: at, canceledById: input.actorId }, false);
        await runEventsRepo.insertRunEvent(tx, {
          id: newId("re"),
          runId: other.id,
          action: "canceled",
          description: `Canceled to force-execute ${run.id}`,
          actorId: input.actorId,
          at,
        });
        await runsWrite.enqueueActionRequested(tx, subjects(), { ...otherInput, runId: other.id, workspaceId: other.workspaceId, action: "cancel" });
      }
    }
    await record(tx, input, "force_executed", "Run force-executed");
    await runsWrite.enqueueQueueChanged(tx, subjects(), { workspaceId: run.workspaceId, reason: "force-execute", at, requestId: input.requestId });
  }

  const handlers: Record<RunAction, (tx: Tx, input: ActionInput) => Promise<void>> = {
    apply,
    discard,
    cancel,
    "force-cancel": forceCancel,
    "force-execute": forceExecute,
  };

  async function perform(req: Request, action: RunAction): Promise<void> {
    const principal = principalOf(req);
    refuseOrganizationToken(principal);
    const comment = action === "force-execute" ? null : parseActionComment(req.body);
    const { run } = await loadRunForPrincipal(deps, principal, String(req.params.id), REQUIRED_ACCESS[action]);
    const at = deps.now();
    await inTransaction(deps.db, async (tx) => {
      // Workspace first, then the run: the order the scheduler takes them in, so no deadlock.
      await lockWorkspaceForUpdate(tx, run.workspaceId);
      const locked = await runsWrite.lockRunForUpdate(tx, run.id);
      if (!locked) throw notFound("run not found");
      await handlers[action](tx, { run: locked, action, actorId: actingUserId(principal), comment, at, requestId: newId("re") });
    });
  }

  for (const action of ["apply", "discard", "cancel", "force-cancel", "force-execute"] as const) {
    router.post(`/runs/:id/actions/${action}`, async (req, res) => {
      await perform(req, action);
      sendEmpty(res, 202);
    });
  }

  return router;
}
