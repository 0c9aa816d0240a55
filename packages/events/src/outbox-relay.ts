import type { NatsConnection } from "@nats-io/nats-core";
import type { Subjects } from "@tarmac/contracts";
import { claimOutboxBatch, inTransaction, markOutboxPublished, type Db } from "@tarmac/db";
import { errorMessage, type EventsLogger } from "./logger";
import { createPublisher, type Publisher } from "./publisher";

export interface OutboxRelayOptions {
  db: Db;
  nc: NatsConnection;
  /** The deployment's subjects; outbox rows already carry full subjects, this is for logs. */
  subjects?: Pick<Subjects, "prefix">;
  logger: EventsLogger;
  /** Pause between polls when the outbox is empty. */
  intervalMs?: number;
  batch?: number;
  publisher?: Publisher;
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
  const intervalMs = options.intervalMs ?? 100;
  const batch = options.batch ?? 200;
  // Few, short attempts: a row that fails stays in the outbox and the next round retries it,
  // and the claiming transaction must end well within its timeout.
  const publisher = options.publisher ?? createPublisher(options.nc, { logger, maxAttempts: 2, ackTimeoutMs: 3_000 });
  let isStopped = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;

  async function relayBatch(): Promise<{ published: number; claimed: number }> {
    return inTransaction(db, async (tx) => {
      const rows = await claimOutboxBatch(tx, batch);
      if (rows.length === 0) return { published: 0, claimed: 0 };
      const results = await Promise.allSettled(
        rows.map((row) => publisher.publish(row.subject, row.payload, { msgId: row.msgId, headers: row.headers ?? {} })),
      );
      const publishedIds: bigint[] = [];
      results.forEach((result, i) => {
        const row = rows[i]!;
        if (result.status === "fulfilled") publishedIds.push(row.id);
        else logger.warn({ msgId: row.msgId, subject: row.subject, error: errorMessage(result.reason) }, "outbox publish failed; will retry");
      });
      await markOutboxPublished(tx, publishedIds);
      return { published: publishedIds.length, claimed: rows.length };
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

  const loop = (async () => {
    while (!isStopped) {
      try {
        await drain();
      } catch (error) {
        logger.error({ error: errorMessage(error) }, "outbox relay round failed");
      }
      if (isStopped) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, intervalMs);
      });
    }
  })();

  return {
    drain,
    async stop() {
      isStopped = true;
      if (timer) clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}
