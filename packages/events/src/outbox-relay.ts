import type { NatsConnection } from "@nats-io/nats-core";
import type { Subjects } from "@tarmac/contracts";
import { databaseUrlOf, openOutboxClaims, type Db } from "@tarmac/db";
import type { EventsLogger } from "./logger";
import { outboxListenUrl } from "./outbox-listen-url";
import type { Publisher } from "./publisher";
import { relayOutbox, type OutboxRelay } from "./relay-loop";

export { listenOnChannel, relayOutbox, type OutboxRelay, type RelayLoopOptions } from "./relay-loop";

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
  /** Rounds in flight at once (default 3), each on a database connection of the relay's own. */
  rounds?: number;
  publisher?: Publisher;
  /** Re-creates the stream when NATS came back without it (see PublisherOptions.ensureStream). */
  ensureStream?: () => Promise<void>;
}

/**
 * Publishes committed outbox rows to JetStream (DESIGN invariant 4), in this process, on
 * connections of its own next to `db`'s (see relayOutbox).
 */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, databaseUrl, ...rest } = options;
  const rounds = Math.max(1, options.rounds ?? 3);
  const ownUrl = databaseUrlOf(db);
  return relayOutbox({
    ...rest,
    rounds,
    claims: openOutboxClaims(db, rounds),
    listenUrl: databaseUrl ?? (ownUrl ? outboxListenUrl({ databaseUrl: ownUrl }) : undefined),
  });
}
