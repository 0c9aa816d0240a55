import type { NatsConnection } from "@nats-io/nats-core";
import type { Subjects } from "@tarmac/contracts";
import { Client } from "pg";
import { databaseUrlOf, openOutboxClaims, outboxChannel, type Db } from "@tarmac/db";
import { errorMessage, type EventsLogger } from "./logger";
import { outboxListenUrl } from "./outbox-listen-url";
import { createPublisher, type Publisher } from "./publisher";

export interface OutboxRelayOptions {
  db: Db;
  nc: NatsConnection;
  /** The deployment's subjects; outbox rows already carry full subjects, this is for logs. */
  subjects?: Pick<Subjects, "prefix">;
  logger: EventsLogger;
  /**
   * Pause between polls when the outbox is empty (default 1 s when listening, else 100 ms). A
   * fallback: the relay LISTENs for the NOTIFY enqueueOutbox sends at commit and drains at once.
   */
  intervalMs?: number;
  /**
   * For the LISTEN connection (see outboxListenUrl); defaults to the URL `db` was created with
   * unless that one goes through a transaction-mode pooler. None: polling only.
   */
  databaseUrl?: string;
  /** Pause before reconnecting a lost LISTEN connection. */
  reconnectMs?: number;
  batch?: number;
  publisher?: Publisher;
  /** Re-creates the stream when NATS came back without it (see PublisherOptions.ensureStream). */
  ensureStream?: () => Promise<void>;
}

export interface OutboxRelay {
  /** Publishes whatever is pending right now (used by tests and at shutdown). */
  drain(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Publishes committed outbox rows to JetStream (DESIGN invariant 4). Rows are claimed
 * with FOR UPDATE SKIP LOCKED so several replicas relay concurrently; each message
 * keeps its msgId, so a row published again after a crash is de-duplicated by JetStream.
 */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, logger } = options;
  const batch = options.batch ?? 200;
  // Few, short attempts: a row that fails stays in the outbox and the next round retries it,
  // and the claiming transaction must end well within its timeout.
  const publisher = options.publisher ?? createPublisher(options.nc, {
      logger,
      maxAttempts: 2,
      ackTimeoutMs: 3_000,
      ...(options.ensureStream ? { ensureStream: options.ensureStream } : {}),
    });
  let isStopped = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  // Set by a notification that arrives mid-round: its rows may have committed after the claim.
  let notified = false;

  function poke(): void {
    notified = true;
    if (timer) clearTimeout(timer);
    wake?.();
  }

  // Its own connection: claims do not wait for one of the process's pool, nor go through Prisma.
  const claims = openOutboxClaims(db);

  async function relayBatch(): Promise<{ published: number; claimed: number }> {
    return claims.round(batch, async (rows) => {
      // All at once, each awaiting its own acknowledgement.
      const results = await Promise.allSettled(
        rows.map((row) => publisher.publish(row.subject, row.payload, { msgId: row.msgId, headers: row.headers ?? {} })),
      );
      const publishedIds: bigint[] = [];
      results.forEach((result, i) => {
        const row = rows[i]!;
        if (result.status === "fulfilled") publishedIds.push(row.id);
        else logger.warn({ msgId: row.msgId, subject: row.subject, error: errorMessage(result.reason) }, "outbox publish failed; will retry");
      });
      return publishedIds;
    });
  }

  async function drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const { published, claimed } = await relayBatch();
      total += published;
      if (claimed < batch || published < claimed) return total;
    }
  }

  const ownUrl = databaseUrlOf(db);
  const databaseUrl = options.databaseUrl ?? (ownUrl ? outboxListenUrl({ databaseUrl: ownUrl }) : undefined);
  const listener = databaseUrl
    ? listenOnChannel(databaseUrl, outboxChannel(options.subjects?.prefix ?? "tarmac"), poke, logger, options.reconnectMs ?? 1_000)
    : undefined;

  // Listening, the poll only catches what a lost connection missed: it can be slow.
  const intervalMs = options.intervalMs ?? (listener ? 1_000 : 100);

  const loop = (async () => {
    while (!isStopped) {
      notified = false;
      try {
        await drain();
      } catch (error) {
        logger.error({ error: errorMessage(error) }, "outbox relay round failed");
      }
      if (isStopped) break;
      if (notified) continue;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, intervalMs);
      });
      wake = undefined;
    }
  })();

  return {
    drain,
    async stop() {
      isStopped = true;
      if (timer) clearTimeout(timer);
      wake?.();
      await Promise.all([loop, listener?.close()]);
      await claims.close();
    },
  };
}

/**
 * A dedicated connection LISTENing on one channel (a pooled one could not keep the LISTEN): the
 * outbox relay's, and the gateway's for decided run actions. `onNotify` gets each notification's
 * payload. Reconnects after an error; each (re)connection calls `onNotify(null)` once, since
 * notifications sent while it was down are lost.
 */
export function listenOnChannel(
  databaseUrl: string,
  channel: string,
  onNotify: (payload: string | null) => void,
  logger: EventsLogger,
  reconnectMs: number,
): { close(): Promise<void> } {
  let closed = false;
  let current: Client | undefined;
  let retry: NodeJS.Timeout | undefined;

  function lost(client: Client, error: unknown): void {
    if (closed || current !== client) return;
    current = undefined;
    logger.warn({ error: errorMessage(error), channel }, "LISTEN connection lost; polling until it is back");
    client.end().catch(() => undefined);
    retry = setTimeout(connect, reconnectMs);
  }

  function connect(): void {
    retry = undefined;
    if (closed) return;
    const client = new Client({ connectionString: databaseUrl });
    current = client;
    client.on("notification", (msg) => {
      if (msg.channel === channel) onNotify(msg.payload ?? "");
    });
    client.on("error", (error) => lost(client, error));
    client.on("end", () => lost(client, new Error("connection ended")));
    client
      .connect()
      .then(() => client.query(`LISTEN "${channel}"`))
      .then(() => {
        if (current === client) onNotify(null);
      })
      .catch((error: unknown) => lost(client, error));
  }

  connect();
  return {
    async close() {
      closed = true;
      if (retry) clearTimeout(retry);
      const client = current;
      current = undefined;
      await client?.end().catch(() => undefined);
    },
  };
}
