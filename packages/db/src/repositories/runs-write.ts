import type { Subjects } from "@tarmac/contracts";
import { applyIdFor, FINAL_STATUSES, phaseTimestampKey, planIdFor, statusTimestampKey, type RunStatus } from "@tarmac/domain";
import type { Tx } from "../client";
import type { RunModel } from "../generated/prisma/models";
import { enqueueOutbox } from "../outbox";
import { runActionRequestedMessage, runCreatedMessage, workspaceQueueChangedMessage } from "../outbox-messages";
import { statusTimestampValue } from "../runs";

/**
 * User intents on runs, each written with its outbox events in the caller's
 * transaction (DESIGN invariant 4). Status changes go through transitionRun.
 */

export interface NewRun {
  id: string;
  organizationId: string;
  workspaceId: string;
  configurationVersionId: string;
  createdById: string | null;
  operation: string;
  source: string;
  message: string;
  isDestroy: boolean;
  refresh: boolean;
  refreshOnly: boolean;
  planOnly: boolean;
  savePlan: boolean;
  autoApply: boolean;
  allowEmptyApply: boolean;
  allowConfigGeneration: boolean;
  debuggingMode: boolean;
  terraformVersion: string;
  targetAddrs: string[];
  replaceAddrs: string[];
  variables: { key: string; value: string }[];
}

/**
 * Inserts a pending run with its plan and apply, makes its configuration version the workspace's
 * latest, and records the `created` run event and the run.created outbox event.
 */
/** `headers`: the writer's trace context (traceparent), so the scheduler continues the request's trace. */
export async function createRun(
  tx: Tx,
  run: NewRun,
  at: Date,
  subjects: Subjects,
  eventId: string,
  headers?: Record<string, string>,
): Promise<RunModel> {
  const stamp = statusTimestampValue(at);
  const row = await tx.run.create({
    data: {
      ...run,
      status: "pending",
      statusTimestamps: { [statusTimestampKey("pending")]: stamp },
      statusChangedAt: at,
      createdAt: at,
    },
  });
  const phaseStamps = { [phaseTimestampKey("pending")]: stamp };
  await tx.plan.create({ data: { id: planIdFor(run.id), runId: run.id, statusTimestamps: phaseStamps, createdAt: at } });
  await tx.apply.create({ data: { id: applyIdFor(run.id), runId: run.id, statusTimestamps: phaseStamps, createdAt: at } });
  await tx.workspace.update({
    where: { id: run.workspaceId },
    data: { latestConfigurationVersionId: run.configurationVersionId },
  });
  await tx.runEvent.create({
    data: { id: eventId, runId: run.id, action: "created", description: "Run created", actorId: run.createdById, createdAt: at },
  });
  await enqueueOutbox(tx, runCreatedMessage(subjects, run, at, headers));
  return row;
}

/** The run row locked for the rest of the transaction, so two actions on one run serialize. */
export async function lockRunForUpdate(tx: Tx, runId: string): Promise<RunModel | null> {
  const rows = await tx.$queryRaw<{ id: string }[]>`SELECT id FROM runs WHERE id = ${runId} FOR UPDATE`;
  if (rows.length === 0) return null;
  return tx.run.findUnique({ where: { id: runId } });
}

/**
 * Records a cancel request on a run whose plan or apply is executing (compare-and-set on its
 * status). The first request fixes force-cancel-available-at; later ones keep it.
 */
export async function requestCancel(
  tx: Tx,
  input: { runId: string; expected: RunStatus; at: Date; forceCancelAvailableAt: Date; canceledById: string | null },
): Promise<boolean> {
  const changed = await tx.$executeRaw`
    UPDATE runs SET
      cancel_requested_at = COALESCE(cancel_requested_at, ${input.at}),
      force_cancel_available_at = COALESCE(force_cancel_available_at, ${input.forceCancelAvailableAt}),
      canceled_by_id = COALESCE(${input.canceledById}, canceled_by_id),
      updated_at = ${input.at}
    WHERE id = ${input.runId} AND status = ${input.expected}::"RunStatus"`;
  return changed === 1;
}

/**
 * Once a run ended early, its phases that never started become `unreachable`; with `forced`, a
 * phase still running is marked canceled too (terraform is being killed).
 */
export async function settlePhasesOfEndedRun(tx: Tx, runId: string, at: Date, forced: boolean): Promise<void> {
  const stamp = statusTimestampValue(at);
  const unreachable = JSON.stringify({ [phaseTimestampKey("unreachable")]: stamp });
  await tx.$executeRaw`UPDATE plans SET status = 'unreachable', status_timestamps = status_timestamps || ${unreachable}::jsonb, updated_at = ${at}
    WHERE run_id = ${runId} AND status IN ('pending', 'managed_queued', 'queued')`;
  await tx.$executeRaw`UPDATE applies SET status = 'unreachable', status_timestamps = status_timestamps || ${unreachable}::jsonb, updated_at = ${at}
    WHERE run_id = ${runId} AND status IN ('pending', 'managed_queued', 'queued')`;
  if (!forced) return;
  const canceled = JSON.stringify({ [phaseTimestampKey("canceled")]: stamp, "force-canceled-at": stamp });
  await tx.$executeRaw`UPDATE plans SET status = 'canceled', status_timestamps = status_timestamps || ${canceled}::jsonb, finished_at = ${at}, updated_at = ${at}
    WHERE run_id = ${runId} AND status = 'running'`;
  await tx.$executeRaw`UPDATE applies SET status = 'canceled', status_timestamps = status_timestamps || ${canceled}::jsonb, finished_at = ${at}, updated_at = ${at}
    WHERE run_id = ${runId} AND status = 'running'`;
}

/** Unfinished non-speculative runs created before `seq` in a workspace, oldest first. */
export async function unfinishedRunsAhead(tx: Tx, workspaceId: string, seq: bigint): Promise<RunModel[]> {
  return tx.run.findMany({
    where: { workspaceId, seq: { lt: seq }, planOnly: false, status: { notIn: [...FINAL_STATUSES] } },
    orderBy: { seq: "asc" },
  });
}

export async function enqueueActionRequested(
  tx: Tx,
  subjects: Subjects,
  input: {
    runId: string;
    workspaceId: string;
    action: "apply" | "discard" | "cancel" | "force-cancel" | "force-execute";
    actorId: string | null;
    at: Date;
    requestId: string;
    headers?: Record<string, string>;
  },
): Promise<void> {
  await enqueueOutbox(tx, runActionRequestedMessage(subjects, input));
}

export async function enqueueQueueChanged(
  tx: Tx,
  subjects: Subjects,
  input: { workspaceId: string; reason: string; at: Date; requestId: string },
): Promise<void> {
  await enqueueOutbox(tx, workspaceQueueChangedMessage(subjects, input));
}
