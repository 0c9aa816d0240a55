// First import: telemetry must start before http/express/pg/ioredis load (see instrument.ts).
import { telemetry } from "./instrument";
import { createLogger } from "@tarmac/telemetry";
import { auth, closeLargeBlobPool, createDb, pingDb, reencryptUnderCurrentKey, runActionsRepo } from "@tarmac/db";
import { createShutdown, healthRouter } from "@tarmac/lifecycle";
import { subjectsFor } from "@tarmac/contracts";
import { connectNats, ensureStream, outboxListenUrl, pingNats, type NatsConnection } from "@tarmac/events";
import { startRelayThread } from "@tarmac/events/relay";
import { redisTarget, resolveDeploymentKeys } from "@tarmac/config";
import { createRedisClient } from "@tarmac/queues";
import { loadGatewayEnv } from "./env";
import { defaultPublicUrl, loadTls } from "./tls";
import { createApp } from "./app";
import { createInternalApp } from "./internal-app";
import { startActionDecisions } from "./http/action-decisions";
import { listen } from "./listen";
import cluster from "node:cluster";
import { runClusterPrimary } from "./cluster";
import { hashPassword, MIN_PASSWORD_LENGTH } from "./services/passwords";
import { createLiveStreams } from "./routes/live-events";
import { createRunWakeups } from "./http/run-wakeups";

async function main(): Promise<void> {
  const env = loadGatewayEnv();
  const tls = loadTls(env);
  if (env.TARMAC_ADMIN_PASSWORD !== undefined && env.TARMAC_ADMIN_PASSWORD.length < MIN_PASSWORD_LENGTH) {
    throw new Error(`TARMAC_ADMIN_PASSWORD: must be at least ${MIN_PASSWORD_LENGTH} characters`);
  }
  const logger = createLogger({ name: "gateway", level: env.LOG_LEVEL });
  const keys = resolveDeploymentKeys(env, (message, fields) => logger.warn(fields ?? {}, message));
  const shutdown = createShutdown({ logger, timeoutMs: env.SHUTDOWN_TIMEOUT_MS });
  shutdown.onShutdown("telemetry", () => telemetry.shutdown(), "telemetry");

  const db = createDb({ databaseUrl: env.DATABASE_URL, poolSize: env.TARMAC_DB_POOL_SIZE });
  shutdown.onShutdown("prisma", () => db.$disconnect(), "clients");
  shutdown.onShutdown("blob-pool", () => closeLargeBlobPool(db), "clients");
  const redis = createRedisClient(redisTarget(env), { maxRetriesPerRequest: 2 });
  shutdown.onShutdown("redis", async () => void (await redis.quit()), "clients");

  await pingDb(db);
  // The gateway talks to NATS to relay the outbox (the scheduler does by default; "on" here makes
  // NATS part of readiness) and, from the first open live stream, to wake the web UI's streams
  // (never part of readiness: without NATS the streams poll slowly, the API is unaffected).
  const subjects = subjectsFor(env.TARMAC_NATS_PREFIX);
  const natsChecks: Record<string, () => Promise<void>> = {};
  let relayNats: NatsConnection | undefined;
  if (env.TARMAC_OUTBOX_RELAY === "on") {
    const nc = await connectNats(env.NATS_URL, "tarmac-gateway");
    shutdown.onShutdown("nats", () => nc.drain(), "clients");
    const streamOptions = { replicas: env.NATS_STREAM_REPLICAS };
    await ensureStream(nc, subjects, streamOptions);
    // In a thread of its own, so requests being served do not delay the events (startRelayThread).
    const relay = await startRelayThread({
      databaseUrl: env.DATABASE_URL,
      directUrl: env.DATABASE_DIRECT_URL,
      natsUrl: env.NATS_URL,
      subjects,
      logger,
      stream: streamOptions,
      connectionName: "tarmac-gateway-relay",
    });
    // After HTTP intake stops, so the last requests' events still go out.
    shutdown.onShutdown("outbox-relay", () => relay.stop(), "drain");
    natsChecks.nats = () => pingNats(nc);
    relayNats = nc;
  }
  const sharedNats = relayNats;
  const runWakeups = createRunWakeups({
    subjects,
    connect: sharedNats ? async () => sharedNats : () => connectNats(env.NATS_URL, "tarmac-gateway-live"),
    ownsConnection: sharedNats === undefined,
    logger,
  });
  shutdown.onShutdown("run-wakeups", () => runWakeups.close(), "clients");
  if (keys.previous.length > 0) {
    // A rotation is under way: move stored secrets to the current key (see README).
    const rotated = await reencryptUnderCurrentKey(db, keys);
    logger.info(rotated, "stored secrets re-encrypted under the current key");
  }
  if (env.TARMAC_ADMIN_TOKEN) {
    await auth.ensureAdminToken(db, env.TARMAC_ADMIN_TOKEN);
    logger.info("admin token ensured");
  }
  if (env.TARMAC_ADMIN_PASSWORD) {
    const password = env.TARMAC_ADMIN_PASSWORD;
    const { set } = await auth.ensureAdminPassword(db, () => hashPassword(password));
    logger.info(set ? "admin password set from TARMAC_ADMIN_PASSWORD" : "admin already has a password; TARMAC_ADMIN_PASSWORD left unused");
  }

  const publicUrl = (env.TARMAC_PUBLIC_URL ?? defaultPublicUrl(env.PORT, tls !== null)).replace(/\/+$/, "");
  // Run actions answer once the scheduler carried them out, woken by its NOTIFY.
  const actionDecisions =
    env.TARMAC_ACTION_WAIT_MS > 0
      ? startActionDecisions({ db, databaseUrl: outboxListenUrl({ databaseUrl: env.DATABASE_URL, directUrl: env.DATABASE_DIRECT_URL }), channel: runActionsRepo.actionDecisionChannel(env.TARMAC_NATS_PREFIX), logger })
      : undefined;
  if (actionDecisions) shutdown.onShutdown("action-decisions", () => actionDecisions.close(), "clients");
  const liveStreams = createLiveStreams();
  // Open event streams would hold the HTTP server open until the deadline: end them first.
  shutdown.onShutdown("live-streams", () => liveStreams.endAll(), "intake");
  const deps = { db, redis, env, logger, publicUrl, keys, now: () => new Date(), actionDecisions, liveStreams, runWakeups };
  const health = healthRouter({
    logger,
    isShuttingDown: () => shutdown.isShuttingDown,
    checks: {
      postgres: () => pingDb(db),
      redis: async () => void (await redis.ping()),
      ...natsChecks,
    },
  });
  const app = createApp(deps, [health]);
  const server = await listen(app, { port: env.PORT, tls });
  logger.info({ port: env.PORT, publicUrl, tls: tls !== null }, "gateway listening");
  shutdown.onShutdown("http", () => server.close(), "intake");
  if (env.TARMAC_INTERNAL_PORT !== undefined) {
    const internal = await listen(createInternalApp(deps, [health]), { port: env.TARMAC_INTERNAL_PORT, host: env.TARMAC_INTERNAL_HOST, tls: null });
    logger.info({ port: env.TARMAC_INTERNAL_PORT, host: env.TARMAC_INTERNAL_HOST }, "gateway internal listener (workers) listening");
    shutdown.onShutdown("http-internal", () => internal.close(), "intake");
  }
  shutdown.installSignalHandlers();
}

function fail(err: unknown): never {
  // Configuration and boot errors: say what is wrong and exit non-zero.
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}

// TARMAC_GATEWAY_PROCESSES > 1: this process only keeps that many gateways running (cluster.ts).
let primaryEnv: ReturnType<typeof loadGatewayEnv> | undefined;
try {
  primaryEnv = cluster.isPrimary ? loadGatewayEnv() : undefined;
} catch (err) {
  fail(err);
}
if (primaryEnv && primaryEnv.TARMAC_GATEWAY_PROCESSES > 1) {
  const logger = createLogger({ name: "gateway", level: primaryEnv.LOG_LEVEL });
  logger.info({ processes: primaryEnv.TARMAC_GATEWAY_PROCESSES }, "gateway processes starting");
  runClusterPrimary(primaryEnv.TARMAC_GATEWAY_PROCESSES, (message) => logger.warn(message));
} else {
  main().catch(fail);
}
