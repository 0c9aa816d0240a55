import { Client } from "pg";
import type { ApiClient } from "@tarmac/testing";
import { connectNats, type NatsConnection } from "@tarmac/events";
import { createRun } from "../lib/stack";
import { mapLimit, percentile, sleep } from "../lib/stats";

/** What an outside subscriber saw: each status message's receive time, keyed by its JetStream msgId. */
export interface StatusSubscriber {
  received: Map<string, { at: number; runId: string; to: string }>;
  close(): Promise<void>;
}

/** A plain NATS subscriber on `<prefix>.runs.*.status`, as a webhook bridge or a UI would be. */
export async function subscribeStatuses(natsUrl: string, prefix: string): Promise<StatusSubscriber> {
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
  return { received, close: () => nc.drain() };
}

export interface EventLatency {
  count: number;
  missing: number;
  p50Ms: number;
  p99Ms: number;
}

/**
 * Commit → subscriber latency of the status events of the given runs: the subscriber's receive
 * time minus the outbox row's created_at (written in the transaction that changed the status; it
 * is the transaction's start, so the figure includes the few milliseconds before the commit).
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
    let missing = 0;
    for (const row of rows) {
      const got = sub.received.get(row.msg_id);
      if (got) latencies.push(got.at - Number(row.ms));
      else missing++;
    }
    return { count: latencies.length, missing, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
  } finally {
    await c.end();
  }
}

/**
 * Scenario 4 on a quiet system: pending runs of a locked workspace are discarded one at a time
 * (the gateway commits pending → discarded with its outbox row); each status event is timed
 * from that commit to the outside subscriber.
 */
export async function benchEvents(input: {
  api: ApiClient;
  databaseUrl: string;
  sub: StatusSubscriber;
  workspaceId: string;
  configurationVersionId: string;
  count: number;
  gapMs: number;
}): Promise<EventLatency> {
  const runIds = await mapLimit(
    Array.from({ length: input.count }, (_, i) => i),
    8,
    () => createRun(input.api, input.workspaceId, input.configurationVersionId),
  );
  for (const id of runIds) {
    const res = await input.api.post(`/runs/${id}/actions/discard`, { comment: "benchmark" });
    if (res.status !== 202) throw new Error(`discard ${id}: ${res.status} ${res.text.slice(0, 300)}`);
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
  return statusEventLatency(input.databaseUrl, input.sub, runIds);
}
