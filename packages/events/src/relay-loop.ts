// The outbox relay's loop, on node-postgres and NATS alone: it runs in a process that has the
// Prisma client loaded (startOutboxRelay) and in a thread of its own that does not (relay/thread.ts).
import type { NatsConnection } from "@nats-io/nats-core";
import type { Subjects } from "@tarmac/contracts";
import { outboxChannel, type OutboxClaims } from "@tarmac/db/src/outbox-claims";
import { Client } from "pg";
import { errorMessage, type EventsLogger } from "./logger";
import { createPublisher, type Publisher } from "./publisher";

export interface RelayLoopOptions {
  /** The relay's database connections (openOutboxClaimsAt); closed when the relay stops. */
  claims: OutboxClaims;
  nc: NatsConnection;
  /** The deployment's subjects: the NOTIFY channel is the prefix's (outboxChannel). */
  subjects?: Pick<Subjects, "prefix">;
  logger: EventsLogger;
  /**
   * For the LISTEN connection (never through a transaction-mode pooler: see outboxListenUrl).
   * None: polling only.
   */
  listenUrl?: string | undefined;
  /**
   * Pause between polls when the outbox is empty (default 1 s when listening, else 100 ms). A
   * fallback: the relay LISTENs for the NOTIFY sent at commit and drains at once.
   */
  intervalMs?: number;
  /** Pause before reconnecting a lost LISTEN connection. */
  reconnectMs?: number;
  batch?: number;
  /** Rounds in flight at once (default 3); `claims` needs as many connections. */
  rounds?: number;
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
export function relayOutbox(options: RelayLoopOptions): OutboxRelay {
  const { claims, logger } = options;
  const batch = options.batch ?? 200;
  // Few, short attempts: a row that fails stays in the outbox and the next round retries it,
  // and the claiming transaction must end well within its timeout.
  const publisher = options.publisher ?? createPublisher(options.nc, {
      logger,
      maxAttempts: 2,
      ackTimeoutMs: 3_000,
      ...(options.ensureStream ? { ensureStream: options.ensureStream } : {}),
    });
  // Rounds overlap: the next claim starts as soon as the previous round's messages are sent, while
  // that round still waits for their acknowledgements and commits its marks (its rows stay locked
  // until then, so the next claim skips them). Claims themselves run one at a time, so messages
  // leave in outbox order on the one NATS connection, as with a single round at a time.
  const maxRounds = Math.max(1, options.rounds ?? 3);
  let isStopped = false;
  let claiming = false;
  // Set when a round was wanted while one was claiming or all were busy: its rows may have
  // committed after that claim.
  let again = false;
  const inFlight = new Set<Promise<unknown>>();

  /** One round: claim, publish (`sent` once every message of the round is handed to NATS), mark. */
  async function relayBatch(sent: () => void): Promise<{ published: number; claimed: number }> {
    try {
      return await claims.round(batch, async (rows) => {
        const acks = rows.map((row) => publisher.publish(row.subject, row.payload, { msgId: row.msgId, headers: row.headers ?? {} }));
        sent();
        const results = await Promise.allSettled(acks);
        const publishedIds: bigint[] = [];
        results.forEach((result, i) => {
          const row = rows[i]!;
          if (result.status === "fulfilled") publishedIds.push(row.id);
          else logger.warn({ msgId: row.msgId, subject: row.subject, error: errorMessage(result.reason) }, "outbox publish failed; will retry");
        });
        return publishedIds;
      });
    } finally {
      sent();
    }
  }

  /** Takes the claim turn; the function returned gives it back (once the round's messages are sent). */
  function claim(): () => void {
    claiming = true;
    let isSent = false;
    return () => {
      if (isSent) return;
      isSent = true;
      claiming = false;
      if (again) kick();
    };
  }

  /** Starts a round unless one is claiming or all are busy (then one follows as soon as possible). */
  function kick(): void {
    if (isStopped) return;
    if (claiming || inFlight.size >= maxRounds) {
      again = true;
      return;
    }
    again = false;
    const sent = claim();
    const round: Promise<unknown> = relayBatch(sent)
      .then(
        ({ claimed, published }) => {
          // A full batch: more rows are waiting.
          if (claimed === batch && published === claimed) again = true;
        },
        (error: unknown) => logger.error({ error: errorMessage(error) }, "outbox relay round failed"),
      )
      .finally(() => {
        inFlight.delete(round);
        if (again) kick();
      });
    inFlight.add(round);
  }

  async function drain(): Promise<number> {
    await Promise.all([...inFlight]);
    let total = 0;
    for (;;) {
      // Its claim takes its turn after that of any round started meanwhile.
      while (claiming) await new Promise((resolve) => setTimeout(resolve, 5));
      const { published, claimed } = await relayBatch(claim());
      total += published;
      if (claimed < batch || published < claimed) return total;
    }
  }

  const listener = options.listenUrl
    ? listenOnChannel(options.listenUrl, outboxChannel(options.subjects?.prefix ?? "tarmac"), kick, logger, options.reconnectMs ?? 1_000)
    : undefined;

  // Listening, the poll only catches what a lost connection missed: it can be slow.
  const intervalMs = options.intervalMs ?? (listener ? 1_000 : 100);
  const timer = setInterval(kick, intervalMs);
  kick();

  return {
    drain,
    async stop() {
      isStopped = true;
      clearInterval(timer);
      await Promise.all([...inFlight, listener?.close()]);
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
