// The outbox as its relay sees it: claiming rows and the NOTIFY channel, on node-postgres alone,
// so a relay can run where the Prisma client is not loaded (a thread of its own).
import { Pool, types, type PoolClient } from "pg";

const INT8_OID = 20;
/** Ids (bigint columns) as BigInt, as the Prisma client returns them. */
const bigintRows = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === INT8_OID ? (value: string) => BigInt(value) : types.getTypeParser(oid, format)) as typeof types.getTypeParser,
};

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

/**
 * The claim's settings, for its transaction only. Publishing a row leaves the old version of its
 * row dead, and its entry in the unpublished index with it until a VACUUM. A bitmap scan (what
 * the planner picks for a handful of rows) visits the table for every such entry on every round:
 * a round then costs as much as every event published since the last VACUUM (milliseconds of
 * database CPU per round after a few thousand). A plain index scan marks the entries it finds
 * dead, so the next rounds skip them in the index alone.
 */
export const CLAIM_SETTINGS = `SET LOCAL idle_in_transaction_session_timeout = '${CLAIM_IDLE_TIMEOUT}'; SET LOCAL enable_bitmapscan = off;`;

/** The oldest `limit` unpublished rows no other relay holds (outbox_events_unpublished_idx). */
export function claimStatement(limit: number): string {
  return `SELECT id, msg_id, subject, payload, headers FROM outbox_events
           WHERE published_at IS NULL ORDER BY id LIMIT ${limit} FOR UPDATE SKIP LOCKED`;
}

/**
 * The relay's claims on a pool of its own at `databaseUrl` (`connections`: how many rounds may be
 * in flight at once, each holding one), for a relay that runs without the Prisma client.
 */
export function openOutboxClaimsAt(databaseUrl: string, connections = 1): OutboxClaims {
  const pool = new Pool({ connectionString: databaseUrl, max: connections, idleTimeoutMillis: 0, types: bigintRows });
  // An idle connection that fails (the server restarted) is dropped and the next checkout opens
  // a new one; unheard, the pool's "error" event would end the process.
  pool.on("error", () => undefined);
  return claimsOnPool(pool);
}

/** Claims on `pool` (ids come back as BigInt); closing them ends the pool. */
export function claimsOnPool(pool: Pool): OutboxClaims {
  return {
    async round(limit, publish) {
      if (!Number.isSafeInteger(limit) || limit < 1) throw new Error(`outbox batch size must be a positive integer, got ${limit}`);
      const client: PoolClient = await pool.connect();
      let broken: Error | undefined;
      try {
        // One round trip: simple-query protocol, several statements (no parameters; the limit is an integer).
        const results = (await client.query(`BEGIN; ${CLAIM_SETTINGS} ${claimStatement(limit)}`)) as unknown as { rows: { id: bigint; msg_id: string; subject: string; payload: unknown; headers: Record<string, string> }[] }[];
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
