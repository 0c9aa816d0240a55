// Telemetry starts before anything else is loaded (see instrument.ts).
import { telemetry } from "./instrument";
import { createLogger } from "@tarmac/telemetry";

import { subjectsFor } from "@tarmac/contracts";
import { resolveDeploymentKeys, smtpSettingsOf } from "@tarmac/config";
import { createDb, pingDb } from "@tarmac/db";
import { connectNats, consumeDurable, ensureStream, pingNats, type DurableConsumer } from "@tarmac/events";
import { createShutdown, startHealthServer } from "@tarmac/lifecycle";
import type { NotifierContext } from "./context";
import { startDispatcher } from "./dispatcher";
import { loadNotifierEnv } from "./env";
import { recordDeliveriesFor } from "./intake";

async function main(): Promise<void> {
  const env = loadNotifierEnv();
  const logger = createLogger({ name: "notifier", level: env.LOG_LEVEL });
  const keys = resolveDeploymentKeys(env, (message, fields) => logger.warn(fields ?? {}, message));
  const shutdown = createShutdown({ logger, timeoutMs: env.SHUTDOWN_TIMEOUT_MS });
  shutdown.onShutdown("telemetry", () => telemetry.shutdown(), "telemetry");
  shutdown.installSignalHandlers();

  const db = createDb({ databaseUrl: env.DATABASE_URL, poolSize: env.TARMAC_DB_POOL_SIZE });
  shutdown.onShutdown("prisma", () => db.$disconnect(), "clients");
  const nc = await connectNats(env.NATS_URL, "tarmac-notifier");
  shutdown.onShutdown("nats", () => nc.drain(), "clients");

  const health = await startHealthServer({
    port: env.NOTIFIER_HEALTH_PORT ?? env.HEALTH_PORT,
    logger,
    isShuttingDown: () => shutdown.isShuttingDown,
    checks: { postgres: () => pingDb(db), nats: () => pingNats(nc) },
  });
  shutdown.onShutdown("health", () => health.close(), "clients");

  await pingDb(db);
  const subjects = subjectsFor(env.TARMAC_NATS_PREFIX);
  await ensureStream(nc, subjects);

  const ctx: NotifierContext = {
    db,
    logger,
    publicUrl: env.TARMAC_PUBLIC_URL.replace(/\/+$/, ""),
    keys,
    send: { timeoutMs: env.TARMAC_NOTIFICATION_TIMEOUT_MS, userAgent: `TFE/1.0 (+${env.TARMAC_PUBLIC_URL}; Tarmac)`, smtp: smtpSettingsOf(env) },
    retry: { maxAttempts: env.TARMAC_NOTIFICATION_MAX_ATTEMPTS, baseMs: env.TARMAC_NOTIFICATION_RETRY_BASE_MS, maxMs: env.TARMAC_NOTIFICATION_RETRY_MAX_MS },
    now: () => new Date(),
  };

  // Deliveries (and their retries) live in PostgreSQL: sending is apart from intake, so a slow
  // or unreachable receiver never holds up events, runs, or other deliveries.
  const dispatcher = startDispatcher(ctx, { concurrency: env.TARMAC_NOTIFICATION_CONCURRENCY, pollMs: env.TARMAC_NOTIFICATION_POLL_MS });
  shutdown.onShutdown("dispatcher", () => dispatcher.stop(), "drain");

  // Durables of their own (every notifier replica shares them; the scheduler's are apart), from
  // the moment they are first created: a new deployment does not notify about old runs.
  const consumers: DurableConsumer[] = [];
  for (const [name, filter] of [
    ["notifier-run-created", subjects.filters.runCreated],
    ["notifier-run-status", subjects.filters.runStatusChanged],
  ] as const) {
    consumers.push(
      await consumeDurable({
        nc,
        subjects,
        durableName: name,
        filterSubjects: [filter],
        logger,
        deliverPolicy: "new",
        ackWaitMs: env.TARMAC_EVENT_ACK_WAIT_MS,
        handler: async (event) => {
          if ((await recordDeliveriesFor(ctx, event)) > 0) dispatcher.wake();
        },
        ensureStream: () => ensureStream(nc, subjects),
      }),
    );
  }
  shutdown.onShutdown("consumers", () => Promise.all(consumers.map((c) => c.stop())).then(() => undefined), "intake");
  logger.info({ healthPort: health.port, prefix: subjects.prefix }, "notifier started");
}

main().catch((err: unknown) => {
  // Configuration and boot errors: say what is wrong and exit non-zero.
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
