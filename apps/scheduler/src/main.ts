// Telemetry starts before anything else is loaded (see instrument.ts).
import { telemetry } from "./instrument";
import { createLogger } from "@tarmac/telemetry";

import { subjectsFor } from "@tarmac/contracts";
import { createDb, pingDb } from "@tarmac/db";
import { connectNats, ensureStream, pingNats } from "@tarmac/events";
import { startRelayThread } from "@tarmac/events/relay";
import { createShutdown, startHealthServer } from "@tarmac/lifecycle";
import { createPhaseQueues, createRedisClient } from "@tarmac/queues";
import { DEFAULT_PRICE_TABLE, startConsumers, startReconcileLoop, type SchedulerContext } from "./engine";
import { redisTarget, resolveDeploymentKeys } from "@tarmac/config";
import { gatewayBaseUrl, loadSchedulerEnv, publicApiUrl } from "./env";

async function main(): Promise<void> {
  const env = loadSchedulerEnv();
  const logger = createLogger({ name: "scheduler", level: env.LOG_LEVEL });
  const keys = resolveDeploymentKeys(env, (message, fields) => logger.warn(fields ?? {}, message));
  const shutdown = createShutdown({ logger, timeoutMs: env.SHUTDOWN_TIMEOUT_MS });
  shutdown.onShutdown("telemetry", () => telemetry.shutdown(), "telemetry");
  shutdown.installSignalHandlers();

  const db = createDb({ databaseUrl: env.DATABASE_URL, poolSize: env.TARMAC_DB_POOL_SIZE });
  shutdown.onShutdown("prisma", () => db.$disconnect(), "clients");
  const redisAt = redisTarget(env);
  const redis = createRedisClient(redisAt, { maxRetriesPerRequest: 2 });
  shutdown.onShutdown("redis", async () => void (await redis.quit()), "clients");
  const queues = createPhaseQueues({ connection: redisAt, prefix: env.TARMAC_QUEUE_PREFIX });
  shutdown.onShutdown("queues", () => queues.close(), "clients");
  const nc = await connectNats(env.NATS_URL, "tarmac-scheduler");
  shutdown.onShutdown("nats", () => nc.drain(), "clients");

  const health = await startHealthServer({
    port: env.SCHEDULER_HEALTH_PORT ?? env.HEALTH_PORT,
    logger,
    isShuttingDown: () => shutdown.isShuttingDown,
    checks: {
      postgres: () => pingDb(db),
      redis: async () => void (await redis.ping()),
      nats: () => pingNats(nc),
    },
  });
  shutdown.onShutdown("health", () => health.close(), "clients");

  await pingDb(db);
  const subjects = subjectsFor(env.TARMAC_NATS_PREFIX);
  const streamOptions = { replicas: env.NATS_STREAM_REPLICAS };
  await ensureStream(nc, subjects, streamOptions);

  if (env.TARMAC_OUTBOX_RELAY === "on") {
    // The outbox relay lives here, not in the gateway, and in a thread of its own: neither
    // requests nor this process's own event handling delay the events behind them. Replicas
    // relay concurrently (SKIP LOCKED).
    const relay = await startRelayThread({
      databaseUrl: env.DATABASE_URL,
      directUrl: env.DATABASE_DIRECT_URL,
      natsUrl: env.NATS_URL,
      subjects,
      logger,
      stream: streamOptions,
      connectionName: "tarmac-scheduler-relay",
    });
    // After the consumers stop, so the events their last transitions wrote still go out.
    shutdown.onShutdown("outbox-relay", () => relay.stop(), "drain");
  }

  const ctx: SchedulerContext = {
    db,
    queues,
    nc,
    subjects,
    logger,
    priceTable: DEFAULT_PRICE_TABLE,
    now: () => new Date(),
    settings: {
      gatewayUrl: gatewayBaseUrl(env),
      capabilityKeys: keys,
      heartbeatTimeoutMs: env.TARMAC_HEARTBEAT_TIMEOUT_MS,
      agentHeartbeatTimeoutMs: env.TARMAC_AGENT_HEARTBEAT_TIMEOUT_MS,
      planTimeoutMs: env.TARMAC_PLAN_TIMEOUT_MS,
      applyTimeoutMs: env.TARMAC_APPLY_TIMEOUT_MS,
      reconcileGraceMs: env.TARMAC_RECONCILE_GRACE_MS,
      publicUrl: publicApiUrl(env),
      runTaskTimeoutMs: env.TARMAC_RUN_TASK_TIMEOUT_MS,
      runTaskRequestTimeoutMs: env.TARMAC_RUN_TASK_REQUEST_TIMEOUT_MS,
    },
  };

  // Intake: events and the reconcile loop start only once every dependency answered.
  const consumers = await startConsumers(ctx, {
    concurrency: env.TARMAC_SCHEDULER_CONCURRENCY,
    ackWaitMs: env.TARMAC_EVENT_ACK_WAIT_MS,
    stream: streamOptions,
  });
  shutdown.onShutdown("consumers", () => Promise.all(consumers.map((c) => c.stop())).then(() => undefined), "intake");
  // One replica reconciles per interval (a Redis lease); if it dies, another takes over next round.
  const replicaId = `${process.pid}-${Math.random().toString(36).slice(2)}`;
  const leaseKey = `${env.TARMAC_QUEUE_PREFIX}:scheduler:reconcile-lease`;
  const lease = async () => {
    const ttl = Math.max(Math.floor(env.TARMAC_RECONCILE_INTERVAL_MS * 0.9), 100);
    if ((await redis.set(leaseKey, replicaId, "PX", ttl, "NX")) === "OK") return true;
    return (await redis.get(leaseKey)) === replicaId;
  };
  const reconcile = startReconcileLoop(ctx, env.TARMAC_RECONCILE_INTERVAL_MS, lease);
  shutdown.onShutdown("reconcile", () => reconcile.stop(), "intake");
  logger.info({ healthPort: health.port, prefix: subjects.prefix, queuePrefix: env.TARMAC_QUEUE_PREFIX }, "scheduler started");
}

main().catch((err: unknown) => {
  // Configuration and boot errors: say what is wrong and exit non-zero.
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
