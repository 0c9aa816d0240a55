import { subjectsFor } from "@tarmac/contracts";
import { transitionRun } from "@tarmac/db";
import { connectNats, deleteStream } from "@tarmac/events";
import { freePort } from "@tarmac/testing";
import { createConfigurationVersion, createOrganization, createWorkspace, runBody, setRunStatus, startRunsTestEnv, type RunsTestEnv } from "./run-fixtures";
import { readSse, type SseEvent } from "./sse";

// The web UI's live streams are woken by the events Tarmac publishes on NATS; their poll is only a
// safety net. Here it is set to 30 s, so an update within 2 s can only have come from the event.

const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";

/** A gateway that relays its own outbox (no scheduler here): the engine's transitionRun reaches NATS as in production. */
let env: RunsTestEnv;
/** A gateway whose NATS is nowhere: its streams live on the safety poll (1 s here). */
let offline: RunsTestEnv;

beforeAll(async () => {
  const noNats = `nats://127.0.0.1:${await freePort()}`;
  [env, offline] = await Promise.all([
    startRunsTestEnv({ TARMAC_OUTBOX_RELAY: "on", TARMAC_LIVE_SAFETY_POLL_MS: "30000" }),
    startRunsTestEnv({ NATS_URL: noNats, TARMAC_LIVE_SAFETY_POLL_MS: "1000" }),
  ]);
}, 90_000);

afterAll(async () => {
  await Promise.all([env?.close(), offline?.close()]);
  if (env) {
    const nc = await connectNats(NATS_URL, "live-events-test-cleanup");
    await deleteStream(nc, subjectsFor(env.prefix).streamName).catch(() => undefined);
    await nc.close();
  }
});

async function pendingRun(e: RunsTestEnv): Promise<{ runId: string; wsId: string }> {
  const org = await createOrganization(e.db);
  const wsId = (await createWorkspace(e.db, org.id)).id;
  await createConfigurationVersion(e.db, wsId);
  const res = await e.admin.post("/runs", runBody(wsId));
  expect(res.status).toBe(201);
  return { runId: res.body.data.id, wsId };
}

/** Opens a stream, and once its first event is in, calls `change`; resolves with the events and when `until` held. */
async function watch(e: RunsTestEnv, path: string, change: () => Promise<void>, until: (events: SseEvent[]) => boolean): Promise<{ events: SseEvent[]; latencyMs: number }> {
  let changedAt = 0;
  let started = false;
  const { events } = await readSse(e.gateway.url, path, e.gateway.adminToken, (events) => {
    if (!started && events.length > 0) {
      started = true;
      // After the first event the stream waits (30 s) for a wake-up.
      void new Promise((r) => setTimeout(r, 300)).then(async () => {
        changedAt = Date.now();
        await change();
      });
    }
    return changedAt > 0 && until(events);
  });
  return { events, latencyMs: Date.now() - changedAt };
}

const planQueued = (e: RunsTestEnv, runId: string) => () =>
  e.db.$transaction(async (tx) => {
    const result = await transitionRun(tx, { runId, from: "pending", to: "plan_queued", subjects: subjectsFor(e.prefix) });
    expect(result.ok).toBe(true);
  });

describe("live streams woken by run events", () => {
  it("the run stream sends a status change the engine made within 2 s", async () => {
    const { runId } = await pendingRun(env);
    const { events, latencyMs } = await watch(env, `/runs/${runId}/events-stream`, planQueued(env, runId), (ev) => ev.some((x) => x.data.status === "plan_queued"));
    expect(events.filter((x) => x.event === "run").map((x) => x.data.status)).toEqual(["pending", "plan_queued"]);
    expect(latencyMs).toBeLessThan(2_000);
  });

  it("the workspace stream sends it too (the event names the workspace)", async () => {
    const { runId, wsId } = await pendingRun(env);
    const statusOf = (x: SseEvent) => (x.data.runs as [string, string][]).find(([id]) => id === runId)?.[1];
    const { events, latencyMs } = await watch(env, `/workspaces/${wsId}/events-stream`, planQueued(env, runId), (ev) => ev.some((x) => statusOf(x) === "plan_queued"));
    expect(events.map(statusOf)).toEqual(["pending", "plan_queued"]);
    expect(latencyMs).toBeLessThan(2_000);
  });

  it("the workspace stream sends a lock taken through the API within 2 s", async () => {
    const { wsId } = await pendingRun(env);
    const lock = async () => expect((await env.admin.post(`/workspaces/${wsId}/actions/lock`, { reason: "maintenance" })).status).toBe(200);
    const { events, latencyMs } = await watch(env, `/workspaces/${wsId}/events-stream`, lock, (ev) => ev.some((x) => x.data.locked === true));
    expect(events.map((x) => x.data.locked)).toEqual([false, true]);
    expect(latencyMs).toBeLessThan(2_000);
  });
});

describe("live streams without NATS", () => {
  it("still send changes, from the safety poll, and the API stays ready", async () => {
    expect((await fetch(`${offline.gateway.url}/readyz`)).status).toBe(200);
    const { runId, wsId } = await pendingRun(offline);
    const run = await watch(offline, `/runs/${runId}/events-stream`, () => setRunStatus(offline.db, runId, "plan_queued"), (ev) => ev.some((x) => x.data.status === "plan_queued"));
    expect(run.events.map((x) => x.data.status)).toEqual(["pending", "plan_queued"]);
    const ws = await watch(offline, `/workspaces/${wsId}/events-stream`, () => setRunStatus(offline.db, runId, "errored"), (ev) => ev.length >= 2);
    expect(ws.events[1]!.data.runs).toContainEqual([runId, "errored"]);
    expect((await fetch(`${offline.gateway.url}/readyz`)).status).toBe(200);
  });
});
