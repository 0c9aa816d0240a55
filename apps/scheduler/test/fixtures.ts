import { randomBytes } from "node:crypto";
import { subjectsFor, type Phase, type PhaseProgressEvent, type Subjects, type TarmacEvent } from "@tarmac/contracts";
import { createDb, inTransaction, putBlob, runActionsRepo, runEventsRepo, runsWrite, type Db } from "@tarmac/db";
import { forceCancelAvailableAt, newId, type RunAction, type RunStatus } from "@tarmac/domain";
import { connectNats, deleteStream, ensureStream, type NatsConnection } from "@tarmac/events";
import { createPhaseQueues, type PhaseQueues } from "@tarmac/queues";
import { createLogger } from "@tarmac/telemetry";
import { createOrganizationRow, createTestDatabase, createWorkspaceRow, type TestDatabase } from "@tarmac/testing";
import { DEFAULT_PRICE_TABLE, handleEvent, handlePhaseProgress, type SchedulerContext, type SchedulerSettings } from "../src/engine";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";

/** Real Postgres (own database), Redis (own BullMQ prefix) and NATS (own stream) for one test file. */
export interface Harness {
  database: TestDatabase;
  db: Db;
  queues: PhaseQueues;
  nc: NatsConnection;
  subjects: Subjects;
  queuePrefix: string;
  ctx: SchedulerContext;
  /** Another scheduler replica: its own database pool, same everything else. */
  makeReplica(): SchedulerContext & { close(): Promise<void> };
  close(): Promise<void>;
}

export async function startHarness(settings: Partial<SchedulerSettings> = {}): Promise<Harness> {
  const tag = randomBytes(4).toString("hex");
  const database = await createTestDatabase();
  const db = createDb({ databaseUrl: database.url, poolSize: 6 });
  const queuePrefix = `tsch${tag}`;
  const queues = createPhaseQueues({ connection: REDIS_URL, prefix: queuePrefix });
  const nc = await connectNats(NATS_URL, "scheduler-test");
  const subjects = subjectsFor(`tsch${tag}`);
  await ensureStream(nc, subjects);
  const logger = createLogger({ name: "scheduler-test", level: process.env.TEST_LOG_LEVEL ?? "silent" });
  const full: SchedulerSettings = {
    gatewayUrl: "http://127.0.0.1:9",
    capabilityKeys: { current: randomBytes(32).toString("base64url"), previous: [] },
    heartbeatTimeoutMs: 30_000,
    planTimeoutMs: 2 * 3600_000,
    applyTimeoutMs: 24 * 3600_000,
    reconcileGraceMs: 0,
    ...settings,
  };
  const ctx: SchedulerContext = { db, queues, nc, subjects, logger, settings: full, priceTable: DEFAULT_PRICE_TABLE, now: () => new Date() };
  return {
    database,
    db,
    queues,
    nc,
    subjects,
    queuePrefix,
    ctx,
    makeReplica() {
      const replicaDb = createDb({ databaseUrl: database.url, poolSize: 6 });
      return { ...ctx, db: replicaDb, close: () => replicaDb.$disconnect() };
    },
    async close() {
      await queues.plan.obliterate({ force: true });
      await queues.apply.obliterate({ force: true });
      await queues.close();
      await deleteStream(nc, subjects.streamName);
      await nc.close();
      await db.$disconnect();
      await database.drop();
    },
  };
}

export interface Org {
  organizationId: string;
  userId: string;
}

/** An organization with an owner user (who may apply anywhere in it). */
export async function createOrganization(db: Db, opts: { runConcurrency?: number; costEstimationEnabled?: boolean } = {}): Promise<Org> {
  const { id: organizationId, name } = await createOrganizationRow(db, {
    runConcurrency: opts.runConcurrency ?? 10,
    costEstimationEnabled: opts.costEstimationEnabled ?? false,
  });
  const userId = newId("user");
  await db.user.create({ data: { id: userId, username: `u-${name}`, email: `u-${name}@example.com` } });
  const teamId = newId("team");
  await db.team.create({ data: { id: teamId, organizationId, name: "owners", isOwners: true } });
  await db.teamMembership.create({ data: { teamId, userId } });
  return { organizationId, userId };
}

export interface Ws {
  workspaceId: string;
  organizationId: string;
  userId: string;
  configurationVersionId: string;
}

export async function createWorkspace(db: Db, org: Org, opts: { locked?: boolean; autoApply?: boolean } = {}): Promise<Ws> {
  const { id: workspaceId } = await createWorkspaceRow(db, org.organizationId, { locked: opts.locked ?? false, autoApply: opts.autoApply ?? false });
  const configurationVersionId = await createConfigurationVersion(db, workspaceId, "uploaded");
  return { workspaceId, organizationId: org.organizationId, userId: org.userId, configurationVersionId };
}

export async function createConfigurationVersion(db: Db, workspaceId: string, status: "pending" | "uploaded" | "errored"): Promise<string> {
  const id = newId("cv");
  await db.configurationVersion.create({ data: { id, workspaceId, status } });
  return id;
}

export interface RunOptions {
  planOnly?: boolean;
  savePlan?: boolean;
  autoApply?: boolean;
  allowEmptyApply?: boolean;
  configurationVersionId?: string;
  createdById?: string | null;
}

/** A pending run created the way the gateway creates one (plan, apply, run.created outbox event). */
export async function createRun(h: Harness, ws: Ws, opts: RunOptions = {}): Promise<string> {
  const id = newId("run");
  await inTransaction(h.db, (tx) =>
    runsWrite.createRun(
      tx,
      {
        id,
        organizationId: ws.organizationId,
        workspaceId: ws.workspaceId,
        configurationVersionId: opts.configurationVersionId ?? ws.configurationVersionId,
        createdById: opts.createdById === undefined ? ws.userId : opts.createdById,
        operation: opts.planOnly ? "plan_only" : opts.savePlan ? "save_plan" : "plan_and_apply",
        source: "tfe-api",
        message: "test run",
        isDestroy: false,
        refresh: true,
        refreshOnly: false,
        planOnly: opts.planOnly ?? false,
        savePlan: opts.savePlan ?? false,
        autoApply: opts.autoApply ?? false,
        allowEmptyApply: opts.allowEmptyApply ?? false,
        allowConfigGeneration: false,
        debuggingMode: false,
        terraformVersion: "1.9.0",
        targetAddrs: [],
        replaceAddrs: [],
        variables: [],
      },
      new Date(),
      h.subjects,
      newId("re"),
    ),
  );
  return id;
}

export async function statusOf(db: Db, runId: string): Promise<RunStatus> {
  const run = await db.run.findUniqueOrThrow({ where: { id: runId }, select: { status: true } });
  return run.status;
}

export async function statusesOf(db: Db, runIds: string[]): Promise<RunStatus[]> {
  return Promise.all(runIds.map((id) => statusOf(db, id)));
}

export async function currentRunOf(db: Db, workspaceId: string): Promise<string | null> {
  return (await db.workspace.findUniqueOrThrow({ where: { id: workspaceId }, select: { currentRunId: true } })).currentRunId;
}

/**
 * A user's action as the gateway records it (the request, its comment, its run.action_requested
 * outbox event); with `deliver` (the default) the event then reaches the scheduler's handler as
 * the consumer would hand it over. Returns the request id.
 */
export async function requestAction(
  h: Harness,
  runId: string,
  action: RunAction,
  opts: { actorId?: string | null; comment?: string; deliver?: boolean; at?: Date; forceCancelAvailableAt?: Date } = {},
): Promise<string> {
  const run = await h.db.run.findUniqueOrThrow({ where: { id: runId }, select: { workspaceId: true, createdById: true } });
  const id = newId("rar");
  const at = opts.at ?? new Date();
  const actorId = opts.actorId === undefined ? run.createdById : opts.actorId;
  await inTransaction(h.db, async (tx) => {
    let commentId: string | null = null;
    if (opts.comment !== undefined) {
      commentId = newId("wsc");
      await runEventsRepo.insertComment(tx, { id: commentId, runId, body: opts.comment, authorId: actorId, at });
    }
    await runActionsRepo.recordActionRequest(tx, h.subjects, {
      id,
      runId,
      workspaceId: run.workspaceId,
      action,
      actorId,
      commentId,
      forceCancelAvailableAt: action === "cancel" ? (opts.forceCancelAvailableAt ?? forceCancelAvailableAt(at)) : null,
      at,
    });
  });
  if (opts.deliver ?? true) await deliverAction(h, id);
  return id;
}

/** The recorded run.action_requested event of a request, handed to the scheduler. */
export async function deliverAction(h: Harness, requestId: string, ctx: SchedulerContext = h.ctx): Promise<void> {
  const row = await h.db.outboxEvent.findUniqueOrThrow({ where: { msgId: `run-action:${requestId}` } });
  await handleEvent(ctx, row.payload as TarmacEvent);
}

let sequence = 0;

/** What a worker reports, delivered to the scheduler's handler as the consumer would. */
export async function progress(
  h: Harness,
  runId: string,
  phase: Phase,
  kind: PhaseProgressEvent["kind"],
  extra: Partial<PhaseProgressEvent> = {},
  ctx: SchedulerContext = h.ctx,
): Promise<void> {
  await handlePhaseProgress(ctx, {
    type: "phase.progress",
    runId,
    phase,
    kind,
    attempt: 0,
    sequence: sequence++,
    workerId: "worker-test",
    at: new Date().toISOString(),
    ...extra,
  });
}

/** Runs a plan to its end as a worker would: started, then finished with the given changes. */
export async function completePlan(h: Harness, runId: string, hasChanges: boolean): Promise<void> {
  await progress(h, runId, "plan", "started");
  await progress(h, runId, "plan", "finished", { hasChanges, resourceAdditions: hasChanges ? 1 : 0 });
}

export async function storePlanJson(db: Db, runId: string, json: unknown): Promise<void> {
  await inTransaction(db, async (tx) => {
    const blobId = await putBlob(tx, Buffer.from(JSON.stringify(json)), "application/json");
    await tx.plan.update({ where: { runId }, data: { jsonBlobId: blobId } });
  });
}
