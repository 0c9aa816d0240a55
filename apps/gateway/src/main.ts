// First import: telemetry must start before http/express/pg/ioredis load (see instrument.ts).
import { telemetry } from "./instrument";
import { createLogger } from "@tarmac/telemetry";
import { Redis } from "ioredis";
import { auth, createDb, pingDb } from "@tarmac/db";
import { createShutdown, healthRouter } from "@tarmac/lifecycle";
import { subjectsFor } from "@tarmac/contracts";
import { connectNats, ensureStream, pingNats, startOutboxRelay } from "@tarmac/events";
import { loadGatewayEnv } from "./env";
import { createApp } from "./app";

async function main(): Promise<void> {
  const env = loadGatewayEnv();
  const logger = createLogger({ name: "gateway", level: env.LOG_LEVEL });
  const shutdown = createShutdown({ logger, timeoutMs: env.SHUTDOWN_TIMEOUT_MS });
  shutdown.onShutdown("telemetry", () => telemetry.shutdown(), "telemetry");

  const db = createDb({ databaseUrl: env.DATABASE_URL });
  shutdown.onShutdown("prisma", () => db.$disconnect(), "clients");
  const redis = new Redis(env.REDIS_URL, { maxRetriesPerRequest: 2, lazyConnect: false });
  shutdown.onShutdown("redis", async () => void (await redis.quit()), "clients");

  await pingDb(db);
  // The gateway talks to NATS only to relay its outbox; with the relay off (another process
  // relays, or a test reads the outbox itself) it needs no NATS at all.
  const natsChecks: Record<string, () => Promise<void>> = {};
  if (env.TARMAC_OUTBOX_RELAY === "on") {
    const subjects = subjectsFor(env.TARMAC_NATS_PREFIX);
    const nc = await connectNats(env.NATS_URL, "tarmac-gateway");
    shutdown.onShutdown("nats", () => nc.drain(), "clients");
    await ensureStream(nc, subjects);
    const relay = startOutboxRelay({ db, nc, subjects, logger, ensureStream: () => ensureStream(nc, subjects) });
    // After HTTP intake stops, so the last requests' events still go out.
    shutdown.onShutdown("outbox-relay", () => relay.stop(), "drain");
    natsChecks.nats = () => pingNats(nc);
  }
  if (env.TARMAC_ADMIN_TOKEN) {
    await auth.ensureAdminToken(db, env.TARMAC_ADMIN_TOKEN);
    logger.info("admin token ensured");
  }

  const publicUrl = (env.TARMAC_PUBLIC_URL ?? `http://127.0.0.1:${env.PORT}`).replace(/\/+$/, "");
  const deps = { db, redis, env, logger, publicUrl, secretKey: env.TARMAC_ENCRYPTION_KEY, now: () => new Date() };
  const health = healthRouter({
    isShuttingDown: () => shutdown.isShuttingDown,
    checks: {
      postgres: () => pingDb(db),
      redis: async () => void (await redis.ping()),
      ...natsChecks,
    },
  });
  const app = createApp(deps, [health]);
  const server = app.listen(env.PORT, () => logger.info({ port: env.PORT, publicUrl }, "gateway listening"));
  shutdown.onShutdown(
    "http",
    () => new Promise<void>((resolve) => server.close(() => resolve())),
    "intake",
  );
  shutdown.installSignalHandlers();
}

main().catch((err: unknown) => {
  // Configuration and boot errors: say what is wrong and exit non-zero.
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
