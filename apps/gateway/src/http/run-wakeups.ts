import type { NatsConnection } from "@tarmac/events";
import type { Subjects } from "@tarmac/contracts";
import type { Logger } from "@tarmac/telemetry";

type Subscription = ReturnType<NatsConnection["subscribe"]>;

/** After a failed connection attempt, the next stream to open tries again once this has passed. */
const RECONNECT_AFTER_MS = 5_000;

/**
 * Wake-ups for the web UI's event streams, from the events Tarmac already publishes: every run
 * status change, run creation and phase progress (`<prefix>.runs.<run-id>.…`) and every workspace
 * lock or queue change (`<prefix>.workspaces.<workspace-id>.…`) wakes the open streams of that run
 * and of its workspace (the payload's `workspaceId`). A wake-up carries nothing: the stream
 * re-reads what it shows, with the caller's permissions, as before.
 *
 * One NATS connection per process, opened when the first stream subscribes (a gateway that never
 * serves a stream needs no NATS), with plain core-NATS subscriptions: core subscribers receive
 * what is published to the stream's subjects, and a missed message costs only latency (streams
 * poll slowly as a safety net). A NATS outage is logged, never fatal, and never makes the gateway
 * unready.
 */
export interface RunWakeups {
  /** Calls `fn` whenever an event names `key` (a run id or a workspace id); returns the unsubscribe. */
  subscribe(key: string, fn: () => void): () => void;
  close(): Promise<void>;
}

export interface RunWakeupsOptions {
  subjects: Pick<Subjects, "prefix">;
  /** Opens the connection (connectNats), or hands out one the process already holds. */
  connect: () => Promise<NatsConnection>;
  /** Whether close() drains the connection (false for one the process shares, e.g. the relay's). */
  ownsConnection: boolean;
  logger: Pick<Logger, "info" | "warn">;
}

export function createRunWakeups({ subjects, connect, ownsConnection, logger }: RunWakeupsOptions): RunWakeups {
  const listeners = new Map<string, Set<() => void>>();
  let nc: NatsConnection | undefined;
  let subscriptions: Subscription[] = [];
  let connecting: Promise<void> | undefined;
  let failedAt = -Infinity;
  let closed = false;
  const runPrefix = `${subjects.prefix}.runs.`;

  function dispatch(key: string | undefined): void {
    if (!key) return;
    for (const fn of listeners.get(key) ?? []) {
      try {
        fn();
      } catch {
        // A stream's wake-up never stops the others'.
      }
    }
  }

  function onMessage(subject: string, data: Uint8Array): void {
    if (listeners.size === 0) return;
    // <prefix>.runs.<run-id>.<…>: the run id is in the subject (phase progress names no workspace).
    if (subject.startsWith(runPrefix)) dispatch(subject.slice(runPrefix.length).split(".")[0]);
    let workspaceId: unknown;
    try {
      workspaceId = (JSON.parse(Buffer.from(data).toString("utf8")) as { workspaceId?: unknown }).workspaceId;
    } catch {
      return;
    }
    if (typeof workspaceId === "string") dispatch(workspaceId);
  }

  function ensureConnected(): void {
    if (closed || nc || connecting || Date.now() - failedAt < RECONNECT_AFTER_MS) return;
    connecting = (async () => {
      try {
        const conn = await connect();
        if (closed) {
          if (ownsConnection) await conn.close();
          return;
        }
        nc = conn;
        for (const subject of [`${subjects.prefix}.runs.>`, `${subjects.prefix}.workspaces.>`]) {
          subscriptions.push(
            conn.subscribe(subject, {
              callback: (error, msg) => {
                if (error) logger.warn({ subject, error: error.message }, "live stream wake-up subscription error");
                else onMessage(msg.subject, msg.data);
              },
            }),
          );
        }
        logger.info({ prefix: subjects.prefix }, "live streams subscribed to run and workspace events");
        if (ownsConnection) {
          // Closed for good (not a reconnect, which the client does by itself): open anew when asked.
          void conn.closed().then(() => {
            if (nc === conn) {
              nc = undefined;
              subscriptions = [];
            }
          });
        }
      } catch (err) {
        failedAt = Date.now();
        logger.warn({ error: err instanceof Error ? err.message : String(err) }, "live streams: NATS unreachable; streams fall back to their safety poll");
      } finally {
        connecting = undefined;
      }
    })();
  }

  return {
    subscribe(key, fn) {
      let set = listeners.get(key);
      if (!set) listeners.set(key, (set = new Set()));
      set.add(fn);
      ensureConnected();
      return () => {
        const current = listeners.get(key);
        current?.delete(fn);
        if (current?.size === 0) listeners.delete(key);
      };
    },
    async close() {
      // A connection attempt still under way closes what it opens once it sees `closed`.
      closed = true;
      for (const sub of subscriptions) {
        try {
          sub.unsubscribe();
        } catch {
          // The shared connection may already be drained.
        }
      }
      subscriptions = [];
      if (nc && ownsConnection) await nc.drain().catch(() => undefined);
      nc = undefined;
      listeners.clear();
    },
  };
}
