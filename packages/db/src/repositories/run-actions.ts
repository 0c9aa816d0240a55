import type { Subjects } from "@tarmac/contracts";
import type { ActionRefusal, RunAction } from "@tarmac/domain";
import { queryRows, type Db, type Tx } from "../client";
import { Prisma } from "../generated/prisma/client";
import type { RunActionRequestModel } from "../generated/prisma/models";
import { enqueueOutbox } from "../outbox";
import { runActionRequestedMessage } from "../outbox-messages";

/**
 * Users' actions on runs. The gateway records a request with its run.action_requested event in
 * one transaction; the scheduler carries pending requests out in order (or refuses them) and
 * marks each decided, with a NOTIFY the gateway waits on to answer with the outcome.
 */

export interface NewActionRequest {
  id: string;
  runId: string;
  workspaceId: string;
  action: RunAction;
  actorId: string | null;
  commentId: string | null;
  /** What a cancel records when the run has none yet (the request time plus the cool-off). */
  forceCancelAvailableAt: Date | null;
  at: Date;
  /** The writer's trace context, so the scheduler continues the request's trace. */
  headers?: Record<string, string>;
}

export async function recordActionRequest(tx: Tx, subjects: Subjects, input: NewActionRequest): Promise<void> {
  await tx.runActionRequest.create({
    data: {
      id: input.id,
      runId: input.runId,
      action: input.action,
      actorId: input.actorId,
      commentId: input.commentId,
      forceCancelAvailableAt: input.forceCancelAvailableAt,
      requestedAt: input.at,
    },
  });
  await enqueueOutbox(tx, runActionRequestedMessage(subjects, input));
}

/** Requests not yet carried out or refused, for the given runs, in the order they were accepted. */
export async function listPendingActionRequests(db: Db | Tx, runIds: readonly string[]): Promise<RunActionRequestModel[]> {
  if (runIds.length === 0) return [];
  // SQL, not the Prisma model: the scheduler reads this in its transactions (inSqlTransaction).
  return queryRows<RunActionRequestModel>(
    db,
    Prisma.sql`SELECT id, seq, run_id AS "runId", action, actor_id AS "actorId", comment_id AS "commentId",
      force_cancel_available_at AS "forceCancelAvailableAt", status::text AS status, refusal, requested_at AS "requestedAt", decided_at AS "decidedAt"
    FROM run_action_requests WHERE run_id = ANY(${[...runIds]}::text[]) AND status = 'pending' ORDER BY seq`,
  );
}

export async function findActionRequest(db: Db | Tx, id: string): Promise<RunActionRequestModel | null> {
  return db.runActionRequest.findUnique({ where: { id } });
}

/**
 * The NOTIFY channel on which one deployment's decided requests are announced (the payload is the
 * request id), from its NATS prefix, so deployments sharing a database wake only their gateways.
 */
export function actionDecisionChannel(prefix: string): string {
  return `tarmac_actions_${prefix.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`.slice(0, 63);
}

/**
 * Marks a pending request applied or refused (compare-and-set: a request is decided once) and
 * announces it at commit. False when it was decided already.
 */
export async function decideActionRequest(
  tx: Tx,
  subjects: Pick<Subjects, "prefix">,
  input: { id: string; at: Date; refusal: ActionRefusal | null },
): Promise<boolean> {
  const refusal = input.refusal ? JSON.stringify({ status: input.refusal.status, title: input.refusal.title, detail: input.refusal.detail }) : null;
  // The decision and its NOTIFY in one statement (delivered at the commit), in SQL for inSqlTransaction.
  const rows = await queryRows<{ id: string }>(
    tx,
    Prisma.sql`WITH decided AS (
      UPDATE run_action_requests
      SET status = ${input.refusal ? "refused" : "applied"}::"RunActionRequestStatus", refusal = COALESCE(${refusal}::jsonb, refusal), decided_at = ${input.at}
      WHERE id = ${input.id} AND status = 'pending' RETURNING id
    )
    SELECT id, pg_notify(${actionDecisionChannel(subjects.prefix)}, id)::text AS notified FROM decided`,
  );
  return rows.length === 1;
}

/** Runs with a request pending since before the cutoff (its event was lost), for the reconcile loop. */
export async function listRunsWithPendingActionRequests(db: Db | Tx, requestedBefore: Date, limit: number): Promise<string[]> {
  const rows = await db.runActionRequest.findMany({
    where: { status: "pending", requestedAt: { lt: requestedBefore } },
    distinct: ["runId"],
    select: { runId: true },
    orderBy: { runId: "asc" },
    take: limit,
  });
  return rows.map((r) => r.runId);
}
