import { injectTraceContext } from "@tarmac/telemetry";
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
  runFactsOf,
  type ActionRefusal,
  type RunStatus,
} from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import type { RunRow } from "../serializers/runs";

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

export interface RunActionRequest {
  run: RunRow;
  action: RunAction;
  comment: string | null;
  actorId: string | null;
}

/**
 * Records the user's intent: the request (with its comment) and its run.action_requested
 * event, in one transaction, after the same domain checks the scheduler applies. The scheduler
 * carries it out; the gateway never changes a run's status itself. Returns the request's id.
 */
export async function acceptRunAction(deps: GatewayDeps, { run, action, comment, actorId }: RunActionRequest): Promise<string> {
  const at = deps.now();
  const id = newId("rar");
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
    await runActionsRepo.recordActionRequest(tx, subjectsFor(deps.env.TARMAC_NATS_PREFIX), {
      id,
      runId: run.id,
      workspaceId: run.workspaceId,
      action,
      actorId,
      commentId,
      forceCancelAvailableAt: action === "cancel" ? forceCancelAvailableAt(at, deps.env.TARMAC_FORCE_CANCEL_COOL_OFF_MS) : null,
      at,
      headers: injectTraceContext({}),
    });
  });
  return id;
}

/**
 * Waits (bounded by TARMAC_ACTION_WAIT_MS) for the scheduler to carry the request out, so a client
 * reading the run next sees its effect; a refusal decided meanwhile (the run moved on between the
 * check and the scheduler) is thrown as the action's answer.
 */
export async function awaitRunActionDecision(deps: GatewayDeps, id: string): Promise<void> {
  const waitMs = deps.env.TARMAC_ACTION_WAIT_MS;
  if (!deps.actionDecisions || waitMs <= 0) return;
  const decided = await deps.actionDecisions.wait(id, waitMs);
  if (decided?.status === "refused" && decided.refusal) throw refusalToError({ ok: false, ...(decided.refusal as Omit<ActionRefusal, "ok">) });
}
