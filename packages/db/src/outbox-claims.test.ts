import { createTestDatabase, waitFor, type TestDatabase } from "@tarmac/testing";
import { Client, Pool } from "pg";
import { CLAIM_SETTINGS, claimStatement, claimsOnPool, type OutboxClaims } from "./outbox-claims";

/**
 * The relay's claim on an outbox that has published many events since its last VACUUM (the
 * published rows' old versions are dead, their index entries still there). A round must not
 * cost more with every event published before it.
 */
describe("outbox claims", () => {
  let database: TestDatabase;
  let pool: Pool;
  let claims: OutboxClaims;
  let client: Client;

  beforeAll(async () => {
    database = await createTestDatabase();
    pool = new Pool({ connectionString: database.url, max: 1 });
    claims = claimsOnPool(pool);
    client = new Client({ connectionString: database.url });
    await client.connect();
  });

  afterAll(async () => {
    await client?.end();
    await claims?.close();
    await database?.drop();
  });

  const insertEvents = (prefix: string, n: number) =>
    client.query(
      `INSERT INTO outbox_events (msg_id, subject, payload)
       SELECT $1 || g, 'tarmac.test.run.status', jsonb_build_object('runId', 'run-' || g, 'note', repeat('x', 200))
       FROM generate_series(1, $2::int) g`,
      [prefix, n],
    );

  /** Buffers the claim statement touches, as the relay sends it, in a transaction rolled back. */
  async function claimBuffers(): Promise<{ buffers: number; rows: number }> {
    await client.query("BEGIN");
    try {
      for (const setting of CLAIM_SETTINGS.split(";").map((s) => s.trim()).filter(Boolean)) await client.query(setting);
      const { rows } = await client.query<{ "QUERY PLAN": [{ Plan: { "Shared Hit Blocks": number; "Shared Read Blocks": number; "Actual Rows": number } }] }>(
        `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${claimStatement(100)}`,
      );
      const plan = rows[0]!["QUERY PLAN"][0].Plan;
      return { buffers: plan["Shared Hit Blocks"] + plan["Shared Read Blocks"], rows: plan["Actual Rows"] };
    } finally {
      await client.query("ROLLBACK");
    }
  }

  it("claims the oldest unpublished events, and skips the published ones without reading them again", async () => {
    await insertEvents("old-", 5_000);
    // The relay publishes them, a batch per round.
    let published = 0;
    for (;;) {
      const { claimed } = await claims.round(1_000, async (rows) => rows.map((r) => r.id));
      if (claimed === 0) break;
      published += claimed;
    }
    expect(published).toBe(5_000);

    await insertEvents("new-", 3);
    const order: string[] = [];
    await claims.round(100, async (rows) => {
      order.push(...rows.map((r) => r.msgId));
      return [];
    });
    expect(order).toEqual(["new-1", "new-2", "new-3"]);

    // 5,000 published rows lie in about 200 table pages: a claim that visits them for their dead
    // index entries reads them all, on every round. An index scan marks an entry dead once its
    // row is dead to every transaction, so the next scans skip it; a transaction still running in
    // any database of the server (other suites', side by side) keeps the rows visible to its
    // snapshot and the entries alive. Wait until every transaction older than the publishing has
    // ended, let one scan mark the entries, then measure the next.
    const [{ xid }] = (await client.query<{ xid: string }>("SELECT pg_current_xact_id()::text AS xid")).rows as [{ xid: string }];
    await waitFor(
      async () =>
        (await client.query<{ past: boolean }>("SELECT pg_snapshot_xmin(pg_current_snapshot()) > $1::xid8 AS past", [xid])).rows[0]!.past
          ? true
          : undefined,
      { what: "every transaction older than the publishing to end", timeoutMs: 60_000 },
    );
    await claimBuffers();
    const claim = await claimBuffers();
    expect(claim.rows).toBe(3);
    expect(claim.buffers).toBeLessThan(40);
  }, 90_000);
});
