import type { TarmacEvent } from "@tarmac/contracts";
import { queryRows, type Tx } from "./client";
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
  const rows = JSON.stringify(list.map((m) => ({ subject: m.subject, payload: m.payload, msgId: m.msgId, headers: m.headers ?? {} })));
  // Delivered at commit (and dropped on rollback): relays LISTENing wake at once instead of
  // waiting for their next poll. One statement past Prisma's query compiler (queryRows: on the
  // transaction's own connection); created_at is the statement's time, as Prisma's client-side
  // now() was.
  const channels = [...new Set(list.map((m) => outboxChannel(m.subject)))];
  await queryRows(
    tx,
    Prisma.sql`WITH inserted AS (
      INSERT INTO outbox_events (subject, payload, msg_id, headers, created_at)
      SELECT m->>'subject', m->'payload', m->>'msgId', m->'headers', clock_timestamp()
      FROM jsonb_array_elements(${rows}::jsonb) WITH ORDINALITY AS e(m, n) ORDER BY n
      ON CONFLICT DO NOTHING RETURNING 1
    )
    SELECT pg_notify(channel, '')::text FROM unnest(${channels}::text[]) AS channel`,
  );
}

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
 * Claims a batch of unpublished events for one relay. SKIP LOCKED lets several
 * gateway replicas relay concurrently without publishing the same row twice at once;
 * JetStream's msgId de-duplicates the rare replay after a crash.
 */
export async function claimOutboxBatch(
  tx: Tx,
  limit: number,
): Promise<PendingOutboxEvent[]> {
  const rows = await tx.$queryRaw<
    { id: bigint; msg_id: string; subject: string; payload: unknown; headers: Record<string, string> }[]
  >`SELECT id, msg_id, subject, payload, headers FROM outbox_events
     WHERE published_at IS NULL ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
  return rows.map((r) => ({ id: r.id, msgId: r.msg_id, subject: r.subject, payload: r.payload, headers: r.headers }));
}

export async function markOutboxPublished(tx: Tx, ids: bigint[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.outboxEvent.updateMany({ where: { id: { in: ids } }, data: { publishedAt: new Date() } });
}

/** Deletes published events older than the cutoff; returns how many. */
export async function pruneOutbox(tx: Tx, olderThan: Date): Promise<number> {
  const { count } = await tx.outboxEvent.deleteMany({ where: { publishedAt: { lt: olderThan } } });
  return count;
}
