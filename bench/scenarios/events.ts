import { Client } from "pg";
import type { ApiClient } from "@tarmac/testing";
import { outboxChannel } from "@tarmac/db";
import { connectNats, type NatsConnection } from "@tarmac/events";
import { createRun } from "../lib/stack";
import { mapLimit, percentile, sleep } from "../lib/stats";

/** What an outside subscriber saw: each status message's receive time, keyed by its JetStream msgId. */
export interface StatusSubscriber {
  received: Map<string, { at: number; runId: string; to: string }>;
  /** When each outbox row (by msgId) was first seen committed: see watchCommits. */
  committed: Map<string, number>;
  close(): Promise<void>;
}

/**
 * A plain NATS subscriber on `<prefix>.runs.*.status`, as a webhook bridge or a UI would be, and
 * a commit watcher on the same deployment's outbox, which splits each event's latency in two.
 */
export async function subscribeStatuses(natsUrl: string, prefix: string, databaseUrl: string): Promise<StatusSubscriber> {
  const nc: NatsConnection = await connectNats(natsUrl, "tarmac-bench-subscriber");
  const received = new Map<string, { at: number; runId: string; to: string }>();
  nc.subscribe(`${prefix}.runs.*.status`, {
    callback: (_err, msg) => {
      const at = Date.now();
      const msgId = msg?.headers?.get("Nats-Msg-Id");
      if (!msg || !msgId) return;
      const payload = msg.json<{ runId: string; to: string }>();
      received.set(msgId, { at, runId: payload.runId, to: payload.to });
    },
  });
  await nc.flush();
  const commits = await watchCommits(databaseUrl, prefix);
  return {
    received,
    committed: commits.committed,
    close: async () => {
      await commits.close();
      await nc.drain();
    },
  };
}

/**
 * When each outbox row became visible to others, that is when the transaction that wrote it
 * committed: every commit with an outbox row NOTIFYs the relays' channel, and on each
 * notification this client (a LISTEN connection of its own, in this otherwise idle process)
 * reads the rows it had not seen yet. A row's time is that of the earliest notification not yet
 * read when the read started, so it is early by at most one read's duration.
 *
 * A read asks only for ids above `low`, below which every id was seen or given up on: rows
 * commit out of id order (a transaction that took its id earlier commits later), so an unseen id
 * under the highest seen is waited for, for GAP_MS (a sequence value a rolled-back transaction
 * took never shows) and never further back than 1,000 ids. Without `low` each read returned up
 * to 1,000 rows: during the pipeline that was load on PostgreSQL and this process that the
 * floor does not carry.
 */
const GAP_MS = 5_000;

async function watchCommits(databaseUrl: string, prefix: string): Promise<{ committed: Map<string, number>; close(): Promise<void> }> {
  const committed = new Map<string, number>();
  const seen = new Set<bigint>();
  /** Unseen ids under the highest seen, with when each was first missed. */
  const gaps = new Map<bigint, number>();
  const listen = new Client({ connectionString: databaseUrl });
  const reader = new Client({ connectionString: databaseUrl });
  await Promise.all([listen.connect(), reader.connect()]);
  const start = await reader.query<{ max: string | null }>("SELECT max(id)::text AS max FROM outbox_events");
  let highest = BigInt(start.rows[0]?.max ?? "0");
  let low = highest;
  let pendingSince: number | null = null;
  let reading = false;
  let closed = false;

  const advance = (now: number): void => {
    if (highest - low > 1000n) {
      for (let id = low + 1n; id <= highest - 1000n; id++) {
        seen.delete(id);
        gaps.delete(id);
      }
      low = highest - 1000n;
    }
    for (let id = low + 1n; id <= highest; id++) if (!seen.has(id) && !gaps.has(id)) gaps.set(id, now);
    while (low < highest) {
      const next = low + 1n;
      const missedAt = gaps.get(next);
      if (missedAt !== undefined && now - missedAt < GAP_MS) break;
      gaps.delete(next);
      seen.delete(next);
      low = next;
    }
  };

  const read = (): void => {
    if (reading || pendingSince === null || closed) return;
    const at = pendingSince;
    pendingSince = null;
    reading = true;
    reader
      .query<{ id: string; msg_id: string }>("SELECT id::text, msg_id FROM outbox_events WHERE id > $1", [low.toString()])
      .then(({ rows }) => {
        for (const row of rows) {
          const id = BigInt(row.id);
          if (seen.has(id)) continue;
          seen.add(id);
          gaps.delete(id);
          committed.set(row.msg_id, at);
          if (id > highest) highest = id;
        }
        advance(Date.now());
      })
      .catch(() => undefined)
      .finally(() => {
        reading = false;
        read();
      });
  };
  listen.on("notification", () => {
    pendingSince ??= Date.now();
    read();
  });
  await listen.query(`LISTEN "${outboxChannel(prefix)}"`);
  return {
    committed,
    async close() {
      closed = true;
      await Promise.all([listen.end(), reader.end()]);
    },
  };
}

export interface EventLatency {
  count: number;
  missing: number;
  p50Ms: number;
  p99Ms: number;
  /**
   * The same events split at their commit (see watchCommits): row written → committed (the
   * writing transaction's rest) and committed → subscriber (relay, JetStream, delivery).
   */
  split: { count: number; commitP50Ms: number; commitP99Ms: number; relayP50Ms: number; relayP99Ms: number };
}

/**
 * Commit → subscriber latency of the status events of the given runs: the subscriber's receive
 * time minus the outbox row's created_at, the time the row was written in the transaction that
 * changed the status (clock_timestamp(), not the transaction's start). The figure therefore
 * includes whatever that transaction did after writing the row, up to its commit.
 */
export async function statusEventLatency(databaseUrl: string, sub: StatusSubscriber, runIds: readonly string[]): Promise<EventLatency> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const { rows } = await c.query<{ msg_id: string; ms: string }>(
      `SELECT msg_id, (extract(epoch FROM created_at) * 1000)::bigint::text AS ms FROM outbox_events
       WHERE subject LIKE '%.status' AND payload->>'runId' = ANY($1::text[])`,
      [runIds],
    );
    const latencies: number[] = [];
    const toCommit: number[] = [];
    const fromCommit: number[] = [];
    let missing = 0;
    for (const row of rows) {
      const got = sub.received.get(row.msg_id);
      if (!got) {
        missing++;
        continue;
      }
      latencies.push(got.at - Number(row.ms));
      const committedAt = sub.committed.get(row.msg_id);
      if (committedAt !== undefined) {
        toCommit.push(committedAt - Number(row.ms));
        fromCommit.push(got.at - committedAt);
      }
    }
    return {
      count: latencies.length,
      missing,
      p50Ms: percentile(latencies, 50),
      p99Ms: percentile(latencies, 99),
      split: {
        count: toCommit.length,
        commitP50Ms: percentile(toCommit, 50),
        commitP99Ms: percentile(toCommit, 99),
        relayP50Ms: percentile(fromCommit, 50),
        relayP99Ms: percentile(fromCommit, 99),
      },
    };
  } finally {
    await c.end();
  }
}

/**
 * A user's action until its effect is visible to the user: the POST's answer, and the POST's
 * start until a GET of the run shows the new status (read right after the 202; polled if not yet
 * there). The baseline is a bare GET of the same run, the round trip any visible change costs.
 * With the request table present, also the scheduler's hop: request recorded → decided.
 */
export interface ActionLatency {
  count: number;
  /** GETs right after the 202 that did not show the new status yet. */
  notYetVisible: number;
  postP50Ms: number;
  postP99Ms: number;
  visibleP50Ms: number;
  visibleP99Ms: number;
  getP50Ms: number;
  getP99Ms: number;
  hop: { p50Ms: number; p99Ms: number } | null;
}

/** Recorded → decided of the runs' action requests, when the deployment records them. */
async function actionHop(databaseUrl: string, runIds: readonly string[]): Promise<{ p50Ms: number; p99Ms: number } | null> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    const exists = await c.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'run_action_requests'");
    if (exists.rowCount === 0) return null;
    const { rows } = await c.query<{ ms: string }>(
      `SELECT (extract(epoch FROM decided_at - requested_at) * 1000)::text AS ms FROM run_action_requests
       WHERE run_id = ANY($1::text[]) AND decided_at IS NOT NULL`,
      [runIds],
    );
    const hops = rows.map((r) => Number(r.ms));
    return { p50Ms: percentile(hops, 50), p99Ms: percentile(hops, 99) };
  } finally {
    await c.end();
  }
}

/**
 * Scenario 4 on a quiet system: pending runs of a locked workspace are discarded one at a time
 * (the scheduler carries each discard out: pending → discarded with its outbox row); each
 * status event is timed from that commit to the outside subscriber, and each discard from the
 * request to the new status being visible.
 */
export async function benchEvents(input: {
  api: ApiClient;
  databaseUrl: string;
  sub: StatusSubscriber;
  workspaceId: string;
  configurationVersionId: string;
  count: number;
  gapMs: number;
}): Promise<EventLatency & { actions: ActionLatency }> {
  const runIds = await mapLimit(
    Array.from({ length: input.count }, (_, i) => i),
    8,
    () => createRun(input.api, input.workspaceId, input.configurationVersionId),
  );
  const posts: number[] = [];
  const visible: number[] = [];
  const gets: number[] = [];
  let notYetVisible = 0;
  for (const id of runIds) {
    const g = performance.now();
    await input.api.get(`/runs/${id}`);
    gets.push(performance.now() - g);
    const t = performance.now();
    const res = await input.api.post(`/runs/${id}/actions/discard`, { comment: "benchmark" });
    if (res.status !== 202) throw new Error(`discard ${id}: ${res.status} ${res.text.slice(0, 300)}`);
    posts.push(performance.now() - t);
    for (let first = true; ; first = false) {
      const status = (await input.api.get(`/runs/${id}`)).body.data.attributes.status as string;
      if (status === "discarded") break;
      if (first) notYetVisible++;
      if (performance.now() - t > 15_000) throw new Error(`discard ${id}: still ${status} after 15 s`);
      await sleep(5);
    }
    visible.push(performance.now() - t);
    // Spaced out so each event is timed on its own, not as part of a burst.
    await sleep(input.gapMs);
  }
  const wanted = new Set(runIds);
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    let seen = 0;
    for (const v of input.sub.received.values()) if (wanted.has(v.runId) && v.to === "discarded") seen++;
    if (seen >= runIds.length) break;
    await sleep(100);
  }
  const actions: ActionLatency = {
    count: runIds.length,
    notYetVisible,
    postP50Ms: percentile(posts, 50),
    postP99Ms: percentile(posts, 99),
    visibleP50Ms: percentile(visible, 50),
    visibleP99Ms: percentile(visible, 99),
    getP50Ms: percentile(gets, 50),
    getP99Ms: percentile(gets, 99),
    hop: await actionHop(input.databaseUrl, runIds),
  };
  return { ...(await statusEventLatency(input.databaseUrl, input.sub, runIds)), actions };
}
