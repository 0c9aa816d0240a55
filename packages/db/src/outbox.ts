import type { TarmacEvent } from "@tarmac/contracts";
import { createSidePool, executeRows, type Db, type Tx } from "./client";
import { Prisma } from "./generated/prisma/client";
import { claimsOnPool, outboxChannel, type OutboxClaims } from "./outbox-claims";

export interface OutboxMessage {
  subject: string;
  payload: TarmacEvent;
  /** JetStream de-duplication id; deterministic for a given state change. */
  msgId: string;
  /** Trace context of the writer (traceparent, tracestate). */
  headers?: Record<string, string>;
}

/**
 * Records an event in the same transaction as the state change it describes
 * (no dual writes, DESIGN invariant 4). A repeated msgId is ignored, so an
 * idempotent handler may record the same event twice without error.
 */
export async function enqueueOutbox(tx: Tx, messages: OutboxMessage | OutboxMessage[]): Promise<void> {
  const list = Array.isArray(messages) ? messages : [messages];
  if (list.length === 0) return;
  // One statement (one round trip), past Prisma's query compiler (executeRows: on the
  // transaction's own connection): the rows, in the order given, and the NOTIFY of each
  // deployment they belong to, delivered at commit (and dropped on rollback), so relays LISTENing
  // wake at once instead of waiting for their next poll. created_at defaults to clock_timestamp().
  const channels = [...new Set(list.map((m) => outboxChannel(m.subject)))];
  await executeRows(
    tx,
    Prisma.sql`
    WITH written AS (
      INSERT INTO outbox_events (msg_id, subject, payload, headers)
      SELECT m.msg_id, m.subject, m.payload::jsonb, m.headers::jsonb
      FROM unnest(${list.map((m) => m.msgId)}::text[], ${list.map((m) => m.subject)}::text[],
                  ${list.map((m) => JSON.stringify(m.payload))}::text[], ${list.map((m) => JSON.stringify(m.headers ?? {}))}::text[])
           WITH ORDINALITY AS m(msg_id, subject, payload, headers, n)
      ORDER BY m.n
      ON CONFLICT (msg_id) DO NOTHING
    )
    SELECT pg_notify(c, '')::text FROM unnest(${channels}::text[]) AS c`,
  );
}

/**
 * Wakes the relays LISTENing on a channel after a write committed on its own (outside a
 * transaction), coalesced: at most one NOTIFY per channel in flight from this process, and one
 * more once it is answered when writes committed meanwhile. A notifying commit takes a lock
 * global to the database and keeps it through its WAL flush, so a NOTIFY inside every run
 * creation made all creations commit one after another; this way the writes commit side by side
 * and the relays still wake within a round trip. A NOTIFY that fails is dropped: the relays poll
 * as a fallback (OutboxRelayOptions.intervalMs).
 */
export function wakeOutboxRelays(db: Db, channel: string): void {
  let state = wakes.get(db);
  if (!state) wakes.set(db, (state = new Map()));
  const current = state.get(channel);
  if (current) {
    current.again = true;
    return;
  }
  const flight = { again: false };
  state.set(channel, flight);
  const send = (): void => {
    flight.again = false;
    executeRows(db, Prisma.sql`SELECT pg_notify(${channel}, '')::text`)
      .catch(() => undefined)
      .finally(() => {
        if (flight.again) send();
        else state.delete(channel);
      });
  };
  send();
}
const wakes = new WeakMap<Db, Map<string, { again: boolean }>>();


export { claimsOnPool, openOutboxClaimsAt, outboxChannel, type OutboxClaims, type PendingOutboxEvent } from "./outbox-claims";

/** `connections`: how many rounds may be in flight at once, each holding one (a pool of the relay's own). */
export function openOutboxClaims(db: Db, connections = 1): OutboxClaims {
  return claimsOnPool(createSidePool(db, connections));
}

/** Deletes published events older than the cutoff; returns how many. */
export async function pruneOutbox(tx: Tx, olderThan: Date): Promise<number> {
  const { count } = await tx.outboxEvent.deleteMany({ where: { publishedAt: { lt: olderThan } } });
  return count;
}
