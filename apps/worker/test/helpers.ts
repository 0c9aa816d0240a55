import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { create as createTar } from "tar";
import { capabilityPaths, jobCapabilityId, mintCapability, subjectsFor, type KeyRing, type Phase, type PhaseProgressEvent, type Subjects } from "@tarmac/contracts";
import { createDb, encryptValue, putBlob, type Db } from "@tarmac/db";
import { applyIdFor, newId, planIdFor } from "@tarmac/domain";
import { connectNats, createPublisher, deleteStream, ensureStream, type NatsConnection } from "@tarmac/events";
import { createPhaseQueues, createPhaseWorker, type PhaseQueues, type PhaseWorker } from "@tarmac/queues";
import { createLogger } from "@tarmac/telemetry";
import { terraformDoublePath } from "@tarmac/terraform/test";
import { createOrganizationRow, createTestDatabase, createWorkspaceRow, startGateway, waitFor, type StartedGateway, type TestDatabase } from "@tarmac/testing";
import { terraformBaseEnv, type PhaseServiceDeps } from "@tarmac/runner";
import { redisLiveLogSink } from "../src/live-log";
import { createPhaseProcessor } from "../src/processor";
import { workerStopOrders } from "../src/stop-orders";

/** Overrides of the job service's dependencies; `queuePrefix` turns on the Redis stop-request watch. */
export type ServiceOverrides = Partial<PhaseServiceDeps> & { queuePrefix?: string };

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";

const hex = (n: number) => randomBytes(n).toString("hex");

/** Everything a worker test needs: real gateway, database, Redis, NATS, and a view of the events. */
export interface WorkerTestEnv {
  db: Db;
  database: TestDatabase;
  gateway: StartedGateway;
  /** The gateway's deployment keys (the scheduler's part: minting job URLs). */
  keys: KeyRing;
  natsPrefix: string;
  queuePrefix: string;
  subjects: Subjects;
  nc: NatsConnection;
  redis: Redis;
  queues: PhaseQueues;
  /** Every phase.progress event seen on NATS, in arrival order. */
  events: PhaseProgressEvent[];
  workDir: string;
  /** A job URL as the scheduler mints it, for one phase (plan unless said otherwise). */
  jobUrl(runId: string, phase?: Phase): string;
  /** Starts in-process queue workers running the real job service. */
  startWorkers(overrides?: ServiceOverrides): PhaseWorker[];
  serviceDeps(overrides?: ServiceOverrides): PhaseServiceDeps;
  eventsOf(runId: string, phase?: Phase): PhaseProgressEvent[];
  waitForFinal(runId: string, phase: Phase, timeoutMs?: number): Promise<PhaseProgressEvent>;
  close(): Promise<void>;
}

export async function startWorkerTestEnv(): Promise<WorkerTestEnv> {
  const database = await createTestDatabase();
  const natsPrefix = `tw${hex(4)}`;
  const queuePrefix = `twq${hex(4)}`;
  const keys: KeyRing = { current: randomBytes(32).toString("base64url"), previous: [] };
  const gateway = await startGateway(database.url, {
    TARMAC_NATS_PREFIX: natsPrefix,
    TARMAC_ENCRYPTION_KEY: keys.current,
    TARMAC_OUTBOX_RELAY: "off",
  });
  const db = createDb({ databaseUrl: database.url, poolSize: 3 });
  const subjects = subjectsFor(natsPrefix);
  const nc = await connectNats(NATS_URL, "worker-test");
  await ensureStream(nc, subjects, { storage: "memory" });
  const events: PhaseProgressEvent[] = [];
  nc.subscribe(subjects.filters.phaseProgress, {
    callback: (_err, msg) => {
      if (msg) events.push(msg.json<PhaseProgressEvent>());
    },
  });
  await nc.flush();
  const redis = new Redis(REDIS_URL);
  const queues = createPhaseQueues({ connection: REDIS_URL, prefix: queuePrefix });
  const workDir = await mkdtemp(path.join(os.tmpdir(), "tarmac-worker-test-"));
  const workers: PhaseWorker[] = [];
  const logger = createLogger({ name: "worker-test", level: process.env.TEST_LOG_LEVEL ?? "silent" });

  const serviceDeps = ({ queuePrefix: stopPrefix, ...overrides }: ServiceOverrides = {}): PhaseServiceDeps => ({
    publisher: createPublisher(nc),
    subjects,
    liveLog: (phaseId) => redisLiveLogSink(redis, phaseId, 3_600_000),
    stopOrders: workerStopOrders({ nc, subjects, redis, ...(stopPrefix ? { queuePrefix: stopPrefix } : {}), intervalMs: 300, logger }),
    logger,
    workerId: `test-worker-${hex(2)}`,
    workDir,
    terraformBin: terraformDoublePath,
    heartbeatIntervalMs: 300,
    terraformBaseEnv: terraformBaseEnv(process.env, []),
    ...overrides,
  });

  const eventsOf = (runId: string, phase?: Phase) =>
    events.filter((e) => e.runId === runId && (phase === undefined || e.phase === phase));

  return {
    db,
    database,
    gateway,
    keys,
    natsPrefix,
    queuePrefix,
    subjects,
    nc,
    redis,
    queues,
    events,
    workDir,
    jobUrl: (runId, phase = "plan") =>
      gateway.url + capabilityPaths.job(runId, phase, mintCapability(keys, "job", jobCapabilityId(runId, phase), 3_600_000)),
    serviceDeps,
    startWorkers(overrides = {}) {
      const processor = createPhaseProcessor(serviceDeps(overrides));
      const started = (["plan", "apply"] as const).map((phase) =>
        createPhaseWorker({ connection: REDIS_URL, prefix: queuePrefix, phase, concurrency: 2, processor }),
      );
      workers.push(...started);
      return started;
    },
    eventsOf,
    waitForFinal: (runId, phase, timeoutMs = 30_000) =>
      waitFor(() => eventsOf(runId, phase).find((e) => e.kind === "finished" || e.kind === "errored" || e.kind === "canceled"), {
        timeoutMs,
        what: `the final ${phase} event of ${runId}`,
      }),
    async close() {
      await Promise.all(workers.map((w) => w.close(10_000)));
      await queues.plan.obliterate({ force: true }).catch(() => undefined);
      await queues.apply.obliterate({ force: true }).catch(() => undefined);
      await queues.close();
      await deleteStream(nc, subjects.streamName);
      await nc.drain();
      await redis.quit();
      await gateway.process.stop();
      await db.$disconnect();
      await database.drop();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** A tar.gz of the given files (paths relative to the archive root). */
export async function makeArchive(files: Record<string, string>): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tarmac-cfg-"));
  try {
    for (const [name, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), content);
    }
    const out = path.join(dir, "..", `${path.basename(dir)}.tar.gz`);
    await createTar({ gzip: true, file: out, cwd: dir, portable: true }, Object.keys(files));
    const { readFile } = await import("node:fs/promises");
    const data = await readFile(out);
    await rm(out, { force: true });
    return data;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export const NULL_RESOURCE_CONFIG = `resource "null_resource" "a" {}\n`;

export interface FixtureOptions {
  files?: Record<string, string>;
  archive?: Buffer;
  workingDirectory?: string;
  status?: "plan_queued" | "planning" | "apply_queued" | "applying";
  run?: Partial<{
    isDestroy: boolean;
    refresh: boolean;
    refreshOnly: boolean;
    targetAddrs: string[];
    replaceAddrs: string[];
    debuggingMode: boolean;
    terraformVersion: string;
    variables: Array<{ key: string; value: string }>;
  }>;
  variables?: Array<{ key: string; value: string; category: "terraform" | "env"; hcl?: boolean; sensitive?: boolean }>;
  /** Reuse a workspace (its state carries over between runs). */
  workspaceId?: string;
}

export interface RunFixture {
  organizationId: string;
  workspaceId: string;
  configurationVersionId: string;
  runId: string;
  planId: string;
  applyId: string;
}

/** Rows written straight to the database: these tests are about the worker, not the API. */
export async function createRunFixture(env: WorkerTestEnv, opts: FixtureOptions = {}): Promise<RunFixture> {
  const { db } = env;
  let workspaceId = opts.workspaceId;
  let organizationId: string;
  if (workspaceId) {
    const ws = await db.workspace.findUniqueOrThrow({ where: { id: workspaceId }, select: { organizationId: true } });
    organizationId = ws.organizationId;
  } else {
    organizationId = (await createOrganizationRow(db)).id;
    workspaceId = (await createWorkspaceRow(db, organizationId, { terraformVersion: "1.9.4", workingDirectory: opts.workingDirectory ?? null })).id;
    for (const v of opts.variables ?? []) {
      await db.workspaceVariable.create({
        data: {
          id: newId("var"),
          workspaceId,
          key: v.key,
          value: v.sensitive ? encryptValue(v.value, env.keys.current) : v.value,
          category: v.category,
          hcl: v.hcl ?? false,
          sensitive: v.sensitive ?? false,
        },
      });
    }
  }
  const archive = opts.archive ?? (await makeArchive(opts.files ?? { "main.tf": NULL_RESOURCE_CONFIG }));
  const archiveBlobId = await putBlob(db, archive, "application/gzip");
  const configurationVersionId = newId("cv");
  await db.configurationVersion.create({ data: { id: configurationVersionId, workspaceId, status: "uploaded", archiveBlobId } });
  const runId = newId("run");
  await db.run.create({
    data: {
      id: runId,
      organizationId,
      workspaceId,
      configurationVersionId,
      status: opts.status ?? "plan_queued",
      operation: opts.run?.isDestroy ? "destroy" : "plan_and_apply",
      isDestroy: opts.run?.isDestroy ?? false,
      refresh: opts.run?.refresh ?? true,
      refreshOnly: opts.run?.refreshOnly ?? false,
      targetAddrs: opts.run?.targetAddrs ?? [],
      replaceAddrs: opts.run?.replaceAddrs ?? [],
      debuggingMode: opts.run?.debuggingMode ?? false,
      terraformVersion: opts.run?.terraformVersion ?? "1.9.4",
      variables: opts.run?.variables ?? [],
    },
  });
  const planId = planIdFor(runId);
  const applyId = applyIdFor(runId);
  await db.plan.create({ data: { id: planId, runId } });
  await db.apply.create({ data: { id: applyId, runId } });
  return { organizationId, workspaceId, configurationVersionId, runId, planId, applyId };
}

export async function blobText(db: Db, blobId: string | null | undefined): Promise<Buffer | null> {
  if (!blobId) return null;
  const row = await db.blob.findUnique({ where: { id: blobId }, select: { data: true } });
  return row ? Buffer.from(row.data) : null;
}
