// Telemetry starts before anything else is loaded (see instrument.ts).
import { telemetry } from "./instrument";
import { archiveLimits } from "@tarmac/archive";
import { createLogger } from "@tarmac/telemetry";

import { subjectsFor } from "@tarmac/contracts";
import { connectNats, createPublisher, ensureStream, pingNats } from "@tarmac/events";
import { createShutdown, startHealthServer } from "@tarmac/lifecycle";
import { createPhaseWorker, createRedisClient, type PhaseWorker } from "@tarmac/queues";
import { redisTarget } from "@tarmac/config";
import { claimSandboxRoot, resolveCliConfigDirs, terraformBaseEnv } from "@tarmac/runner";
import { loadWorkerEnv } from "./env";
import { redisLiveLogSink } from "./live-log";
import { createPhaseProcessor } from "./processor";
import { workerStopOrders } from "./stop-orders";

async function main(): Promise<void> {
  const env = loadWorkerEnv();
  const cliConfig = await resolveCliConfigDirs(env);
  const logger = createLogger({ name: "worker", level: env.LOG_LEVEL });
  const shutdown = createShutdown({ logger, timeoutMs: env.SHUTDOWN_TIMEOUT_MS });
  shutdown.onShutdown("telemetry", () => telemetry.shutdown(), "telemetry");
  shutdown.installSignalHandlers();

  const redisAt = redisTarget(env);
  const redis = createRedisClient(redisAt, { maxRetriesPerRequest: 3 });
  shutdown.onShutdown("redis", async () => void (await redis.quit()), "clients");
  await redis.ping();

  const subjects = subjectsFor(env.TARMAC_NATS_PREFIX);
  const nc = await connectNats(env.NATS_URL, `tarmac-worker-${env.TARMAC_WORKER_ID}`);
  shutdown.onShutdown("nats", () => nc.drain(), "clients");
  const streamOptions = { replicas: env.NATS_STREAM_REPLICAS };
  await ensureStream(nc, subjects, streamOptions);
  const publisher = createPublisher(nc, { logger, ensureStream: () => ensureStream(nc, subjects, streamOptions) });

  // Sandboxes live under a directory of this process's own; those of dead workers go now.
  const sandboxes = await claimSandboxRoot({
    workDir: env.TARMAC_WORK_DIR,
    maxAgeMs: env.TARMAC_SANDBOX_MAX_AGE_MS,
    onRemoved: (dir, reason) => logger.info({ dir, reason }, "leftover sandbox removed"),
  });
  await sandboxes.sweep();
  const sweepEveryMs = Math.min(10 * 60 * 1000, Math.floor(env.TARMAC_SANDBOX_MAX_AGE_MS / 3));
  const sweeper = setInterval(() => {
    sandboxes.sweep().catch((err: Error) => logger.warn({ error: err.message }, "sandbox sweep failed"));
  }, Math.max(1_000, sweepEveryMs));
  sweeper.unref();

  const processor = createPhaseProcessor({
    publisher,
    subjects,
    liveLog: (phaseId) => redisLiveLogSink(redis, phaseId, env.TARMAC_LIVE_LOG_TTL_MS),
    stopOrders: workerStopOrders({ nc, subjects, redis, queuePrefix: env.TARMAC_QUEUE_PREFIX, intervalMs: env.TARMAC_HEARTBEAT_INTERVAL_MS, logger }),
    logger,
    workerId: env.TARMAC_WORKER_ID,
    workDir: sandboxes.dir,
    ...(env.TARMAC_TERRAFORM_BIN ? { terraformBin: env.TARMAC_TERRAFORM_BIN } : {}),
    ...(env.TARMAC_TERRAFORM_VERSIONS_DIR ? { terraformVersionsDir: env.TARMAC_TERRAFORM_VERSIONS_DIR } : {}),
    heartbeatIntervalMs: env.TARMAC_HEARTBEAT_INTERVAL_MS,
    terraformNice: env.TARMAC_TERRAFORM_NICE,
    terraformBaseEnv: terraformBaseEnv(process.env, env.TARMAC_TERRAFORM_ENV_PASSTHROUGH),
    cliConfig,
    archiveLimits: archiveLimits({
      maxCompressedBytes: env.TARMAC_MAX_ARCHIVE_BYTES,
      maxUnpackedBytes: env.TARMAC_MAX_UNPACKED_BYTES,
      deadlineMs: env.TARMAC_ARCHIVE_INSPECT_TIMEOUT_MS,
    }),
  });

  const workers: PhaseWorker[] = (["plan", "apply"] as const).map((phase) =>
    createPhaseWorker({
      connection: redisAt,
      prefix: env.TARMAC_QUEUE_PREFIX,
      phase,
      concurrency: env.WORKER_CONCURRENCY,
      processor,
      autorun: false,
    }),
  );
  for (const w of workers) {
    w.worker.on("failed", (job, err) => logger.error({ jobId: job?.id, error: err.message }, "job failed"));
    w.worker.on("error", (err) => logger.error({ error: err.message }, "queue worker error"));
  }
  // In-flight jobs get the drain phase's budget; past it they are interrupted and report errored.
  const drainBudgetMs = Math.floor(env.SHUTDOWN_TIMEOUT_MS * 0.5);
  shutdown.onShutdown("queue-workers", async () => {
    const results = await Promise.all(workers.map((w) => w.close(Math.max(0, drainBudgetMs - 2_000), 1_500)));
    if (results.includes(false)) logger.warn("in-flight jobs were interrupted by shutdown");
  }, "drain");
  shutdown.onShutdown("sandboxes", async () => {
    clearInterval(sweeper);
    await sandboxes.release();
  }, "clients");

  const health = await startHealthServer({
    port: env.WORKER_HEALTH_PORT ?? env.HEALTH_PORT,
    logger,
    isShuttingDown: () => shutdown.isShuttingDown,
    checks: {
      redis: async () => void (await redis.ping()),
      nats: () => pingNats(nc),
    },
  });
  shutdown.onShutdown("health", () => health.close(), "clients");

  // Intake last, once Redis and NATS answer.
  for (const w of workers) void w.worker.run().catch((err: Error) => logger.error({ error: err.message }, "queue worker stopped"));
  logger.info({ concurrency: env.WORKER_CONCURRENCY, workerId: env.TARMAC_WORKER_ID, healthPort: health.port }, "worker started");
}

main().catch((err: unknown) => {
  // Configuration and boot errors: say what is wrong and exit non-zero.
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
