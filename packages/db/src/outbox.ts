import type { TarmacEvent } from "@tarmac/contracts";
import type { Pool, PoolClient } from "pg";
import { createSidePool, executeRows, type Db, type Tx } from "./client";
import { Prisma } from "./generated/prisma/client";

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

/**
 * The NOTIFY channel of one deployment's outbox, from its NATS prefix or any of its subjects
 * (their first token), so deployments sharing a database wake only their own relays.
 */
export function outboxChannel(prefixOrSubject: string): string {
  const token = prefixOrSubject.split(".")[0] ?? "";
  return `tarmac_outbox_${token.toLowerCase().replace(/[^a-z0-9_]/g, "_")}`.slice(0, 63);
}

export interface PendingOutboxEvent {
  id: bigint;
  msgId: string;
  subject: string;
  payload: unknown;
  headers: Record<string, string>;
}

/**
 * The outbox relay's connections to the database: node-postgres connections of its own (a busy
 * pool cannot hold up the events), and each round in two round trips instead of the five
 * statements of an interactive transaction.
 */
export interface OutboxClaims {
  /**
   * Claims up to `limit` unpublished rows (FOR UPDATE SKIP LOCKED: several relays run side by
   * side, never publishing a row at the same time), hands them to `publish`, which returns the ids
   * it got acknowledged, and marks those published in the same transaction. Rows not marked stay
   * in the outbox for the next round, also when the process dies while publishing.
   */
  round(limit: number, publish: (rows: PendingOutboxEvent[]) => Promise<bigint[]>): Promise<{ claimed: number; published: number }>;
  close(): Promise<void>;
}

/**
 * How long the claiming transaction may sit idle: a relay stuck while holding its rows locked
 * (a hung process) loses the connection and the rows go to another relay. Well above a round's
 * longest publish (two attempts of 3 s).
 */
const CLAIM_IDLE_TIMEOUT = "15s";

/** `connections`: how many rounds may be in flight at once, each holding one. */
export function openOutboxClaims(db: Db, connections = 1): OutboxClaims {
  const pool: Pool = createSidePool(db, connections);
  return {
    async round(limit, publish) {
      if (!Number.isSafeInteger(limit) || limit < 1) throw new Error(`outbox batch size must be a positive integer, got ${limit}`);
      const client: PoolClient = await pool.connect();
      let broken: Error | undefined;
      try {
        // One round trip: simple-query protocol, several statements (no parameters; the limit is an integer).
        const results = (await client.query(
          `BEGIN; SET LOCAL idle_in_transaction_session_timeout = '${CLAIM_IDLE_TIMEOUT}';
           SELECT id, msg_id, subject, payload, headers FROM outbox_events
           WHERE published_at IS NULL ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED`,
        )) as unknown as { rows: { id: bigint; msg_id: string; subject: string; payload: unknown; headers: Record<string, string> }[] }[];
        const rows = results[results.length - 1]!.rows.map((r) => ({ id: r.id, msgId: r.msg_id, subject: r.subject, payload: r.payload, headers: r.headers }));
        if (rows.length === 0) {
          await client.query("COMMIT");
          return { claimed: 0, published: 0 };
        }
        const ids = await publish(rows);
        // The ids are bigints from the rows above: safe to write into the statement, again one round trip.
        await client.query(
          ids.length === 0
            ? "COMMIT"
            : `UPDATE outbox_events SET published_at = clock_timestamp() WHERE id IN (${ids.map((id) => BigInt(id).toString()).join(",")}); COMMIT`,
        );
        return { claimed: rows.length, published: ids.length };
      } catch (error) {
        // A failed statement leaves the transaction aborted (or the connection gone): drop the
        // connection, which ends the transaction and its locks; the pool opens a new one.
        broken = error instanceof Error ? error : new Error(String(error));
        throw error;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

/** Deletes published events older than the cutoff; returns how many. */
export async function pruneOutbox(tx: Tx, olderThan: Date): Promise<number> {
  const { count } = await tx.outboxEvent.deleteMany({ where: { publishedAt: { lt: olderThan } } });
  return count;
}
