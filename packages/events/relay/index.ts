// The outbox relay, an entry of its own (`@tarmac/events/relay`): it reads the outbox through
// @tarmac/db (Prisma, pg), which processes that only publish and consume events (the worker)
// must not load. The package's main entry does not re-export it. Apps run it in a thread
// (startRelayThread); startOutboxRelay runs it on the caller's event loop (tests).
import path from "node:path";
import { Worker } from "node:worker_threads";
import type { Subjects } from "@tarmac/contracts";
import { outboxListenUrl } from "../src/outbox-listen-url";
import type { OutboxRelay } from "../src/outbox-relay";
import type { EventsLogger } from "../src/logger";
import type { StreamOptions } from "../src/streams";
import type { RelayThreadData, RelayThreadReply, RelayThreadRequest } from "./thread-protocol";

export { listenOnChannel, startOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from "../src/outbox-relay";

export interface RelayThread extends OutboxRelay {
  /** The thread running now (a new one after a restart). */
  thread(): Worker;
}

/**
 * The relay as a process runs it, in a thread of its own (relay/thread.ts): its event loop is
 * not the one serving requests or events, so a busy process no longer delays every event behind
 * its own work, and the thread loads node-postgres and NATS only. It claims on `databaseUrl`,
 * LISTENs on DATABASE_DIRECT_URL when the queries go through a transaction-mode pooler (outboxListenUrl), re-creates a lost stream with the deployment's replica count, and has a NATS connection of its own. Resolves once the
 * thread is connected; a thread that ends unexpectedly is started again after `restartMs`.
 */
export async function startRelayThread(opts: {
  databaseUrl: string;
  directUrl?: string | undefined;
  natsUrl: string;
  subjects: Subjects;
  logger: EventsLogger;
  stream: StreamOptions;
  /** The NATS connection's name (default tarmac-outbox-relay). */
  connectionName?: string;
  intervalMs?: number;
  restartMs?: number;
}): Promise<RelayThread> {
  const { logger } = opts;
  const data: RelayThreadData = {
    databaseUrl: opts.databaseUrl,
    listenUrl: outboxListenUrl({ databaseUrl: opts.databaseUrl, directUrl: opts.directUrl }),
    natsUrl: opts.natsUrl,
    connectionName: opts.connectionName ?? "tarmac-outbox-relay",
    prefix: opts.subjects.prefix,
    stream: opts.stream,
    ...(opts.intervalMs !== undefined ? { intervalMs: opts.intervalMs } : {}),
  };
  const restartMs = opts.restartMs ?? 1_000;
  let stopping = false;
  let worker: Worker;
  /** Whether `worker` said it is ready and has not ended since. */
  let live = false;
  let restartTimer: NodeJS.Timeout | undefined;
  let nextDrain = 0;
  const drains = new Map<number, { resolve(n: number): void; reject(e: Error): void }>();
  let stopped: () => void = () => undefined;
  const whenStopped = new Promise<void>((resolve) => (stopped = resolve));

  /** Starts a thread; resolves once it is connected, rejects when it ends or fails before. */
  const start = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const current = spawnRelayThread(data);
      worker = current;
      current.on("message", (reply: RelayThreadReply) => {
        switch (reply.type) {
          case "ready":
            live = true;
            resolve();
            break;
          case "failed":
            reject(new Error(`outbox relay thread: ${reply.error}`));
            break;
          case "log":
            logger[reply.level]?.(reply.fields, reply.msg);
            break;
          case "drained": {
            const pending = drains.get(reply.id);
            drains.delete(reply.id);
            if (reply.error !== undefined) pending?.reject(new Error(reply.error));
            else pending?.resolve(reply.published ?? 0);
            break;
          }
          case "stopped":
            // It ends once its connections closed; a handle left open must not hold up shutdown.
            setTimeout(() => void current.terminate(), 2_000).unref();
            break;
        }
      });
      current.on("error", (error) => {
        logger.error({ error: error.message }, "outbox relay thread failed");
        reject(error);
      });
      current.on("exit", (code) => {
        const wasLive = live;
        live = false;
        for (const pending of drains.values()) pending.reject(new Error("outbox relay thread ended"));
        drains.clear();
        if (stopping) return stopped();
        if (!wasLive) return reject(new Error(`outbox relay thread ended with code ${code} before it was ready`));
        logger.error({ code }, "outbox relay thread ended; starting it again");
        restart();
      });
    });

  /** Another thread after a pause, and again after each that does not start (NATS or PostgreSQL down). */
  const restart = (): void => {
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      if (stopping) return;
      start().catch((error: unknown) => {
        logger.error({ error: error instanceof Error ? error.message : String(error) }, "outbox relay thread did not start; trying again");
        if (live) return;
        // A thread that failed before it was ready may still be running: end it before the next.
        void worker.terminate();
        if (!stopping) restart();
      });
    }, restartMs);
  };

  await start();
  return {
    thread: () => worker,
    drain() {
      if (!live) return Promise.reject(new Error("outbox relay thread is not running"));
      const id = nextDrain++;
      return new Promise<number>((resolve, reject) => {
        drains.set(id, { resolve, reject });
        worker.postMessage({ type: "drain", id } satisfies RelayThreadRequest);
      });
    },
    async stop() {
      if (stopping) return whenStopped;
      stopping = true;
      if (restartTimer) clearTimeout(restartTimer);
      if (live) worker.postMessage({ type: "stop" } satisfies RelayThreadRequest);
      else {
        // Between threads, or one still starting: nothing is claimed, end it as it is.
        await worker.terminate();
        stopped();
      }
      return whenStopped;
    },
  };
}

/**
 * The thread's code: the bundle an app's build writes next to its own (dist/relay-thread.js,
 * scripts/build-app.mjs), or this package's TypeScript through tsx when the app runs from source.
 */
function spawnRelayThread(data: RelayThreadData): Worker {
  // Its heap is small and stays so: a bound that keeps it from growing without one.
  const resourceLimits = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 4 };
  if (path.extname(__filename) === ".ts") {
    const source = path.join(__dirname, "thread.ts");
    return new Worker(`require("tsx/cjs"); require(${JSON.stringify(source)});`, { eval: true, workerData: data, resourceLimits });
  }
  return new Worker(path.join(__dirname, "relay-thread.js"), { workerData: data, resourceLimits });
}
