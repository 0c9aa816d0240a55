import { subjects as defaultSubjects, type Subjects } from "@tarmac/contracts";
import { statusTimestampKey, transition, type RunStatus } from "@tarmac/domain";
import { Prisma } from "./generated/prisma/client";
import { queryRows, type Tx } from "./client";
import { enqueueOutbox } from "./outbox";
import { runStatusChangedMessage } from "./outbox-messages";

export interface TransitionInput {
  runId: string;
  from: RunStatus;
  to: RunStatus;
  at?: Date;
  /** Further columns changed together with the status (has-changes, canceled-by, …). */
  patch?: Omit<Prisma.RunUncheckedUpdateInput, "status" | "statusTimestamps" | "statusChangedAt">;
  /** Trace context to carry into the event. */
  headers?: Record<string, string>;
  /** The deployment's subjects (TARMAC_NATS_PREFIX); the default prefix when omitted. */
  subjects?: Subjects;
}

export type TransitionResult =
  | { ok: true; workspaceId: string }
  | { ok: false; reason: "not_allowed" | "stale" };

/** RFC 3339 with offset and second precision, as HCP writes status-timestamps values. */
export function statusTimestampValue(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, "+00:00");
}

/**
 * The one way a run's status changes (DESIGN invariant 1): the domain table
 * must allow it, and the row must still be in `from` (compare-and-set), so a
 * repeated or late event is a no-op instead of a corruption. The status
 * timestamp and the outbox event commit in the same transaction.
 */
export async function transitionRun(tx: Tx, input: TransitionInput): Promise<TransitionResult> {
  const { runId, from, to } = input;
  if (!transition(from, to).ok) return { ok: false, reason: "not_allowed" };
  const at = input.at ?? new Date();
  const key = statusTimestampKey(to);
  const stamp = JSON.stringify({ [key]: statusTimestampValue(at) });
  // Past Prisma's query compiler (the scheduler's hottest statement); a patch goes through Prisma.
  const [moved] = await queryRows<{ workspaceId: string; organizationId: string }>(
    tx,
    Prisma.sql`UPDATE runs SET status = ${to}::"RunStatus",
      status_timestamps = status_timestamps || ${stamp}::jsonb,
      status_changed_at = ${at}, updated_at = ${at}
    WHERE id = ${runId} AND status = ${from}::"RunStatus"
    RETURNING workspace_id AS "workspaceId", organization_id AS "organizationId"`,
  );
  if (!moved) return { ok: false, reason: "stale" };
  const run =
    input.patch && Object.keys(input.patch).length > 0
      ? await tx.run.update({ where: { id: runId }, data: input.patch, select: { workspaceId: true, organizationId: true } })
      : moved;
  await enqueueOutbox(
    tx,
    runStatusChangedMessage(input.subjects ?? defaultSubjects, { id: runId, workspaceId: run.workspaceId, organizationId: run.organizationId }, from, to, at, input.headers),
  );
  return { ok: true, workspaceId: run.workspaceId };
}

/**
 * Serializes decisions about one workspace across scheduler replicas and
 * gateway writes (DESIGN invariant 2): a row lock held until the transaction ends.
 */
export async function lockWorkspaceForUpdate(tx: Tx, workspaceId: string): Promise<boolean> {
  const rows = await queryRows<{ id: string }>(tx, Prisma.sql`SELECT id FROM workspaces WHERE id = ${workspaceId} FOR UPDATE`);
  return rows.length === 1;
}
