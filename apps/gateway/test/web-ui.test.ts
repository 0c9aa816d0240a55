import { Redis } from "ioredis";
import { liveLogKey } from "@tarmac/contracts";
import { ApiClient } from "@tarmac/testing";
import { completeUtf8Length } from "../src/routes/live-events";
import { readSse, type SseEvent } from "./sse";
import { createConfigurationVersion, createOrganization, createWorkspace, runBody, setRunStatus, startRunsTestEnv, userWithAccess, type RunsTestEnv } from "./run-fixtures";

// The browser UI's server side: the app under /app (deep links, hashed assets) and the live event
// streams the run and workspace pages read.

let env: RunsTestEnv;
let redis: Redis;
let org: { id: string; name: string };
let wsId: string;

beforeAll(async () => {
  // These tests write statuses straight to the database (no event is published): the streams see
  // them on their safety poll, short here (live-events-nats.test.ts covers the event wake-ups).
  env = await startRunsTestEnv({ TARMAC_LIVE_SAFETY_POLL_MS: "1000" });
  redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  org = await createOrganization(env.db);
  wsId = (await createWorkspace(env.db, org.id)).id;
  await createConfigurationVersion(env.db, wsId);
}, 60_000);

afterAll(async () => {
  await redis?.quit();
  await env?.close();
});

/** Reads a stream's events until `until` says enough (or the stream ends), then hangs up. */
const readEvents = (path: string, token: string, until: (events: SseEvent[]) => boolean, headers: Record<string, string> = {}) =>
  readSse(env.gateway.url, path, token, until, headers);

async function newRun(): Promise<{ id: string; planId: string }> {
  const res = await env.admin.post("/runs", runBody(wsId));
  expect(res.status).toBe(201);
  return { id: res.body.data.id, planId: res.body.data.relationships.plan.data.id };
}

describe("the app under /app", () => {
  it("answers every /app path with the app, whose assets are content-hashed and cached for good", async () => {
    const res = await fetch(`${env.gateway.url}/app/acme/prod/runs/run-abc123`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("cache-control")).toBe("no-cache");
    expect(res.headers.get("content-security-policy")).toContain("default-src 'self'");
    const html = await res.text();
    expect(html).toContain('<div id="root"></div>');
    const assets = [...html.matchAll(/(?:src|href)="(\/app\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.some((a) => /main-[A-Z0-9]{8}\.js$/.test(a))).toBe(true);
    expect(assets.some((a) => /main-[A-Z0-9]{8}\.css$/.test(a))).toBe(true);
    for (const asset of assets) {
      const a = await fetch(`${env.gateway.url}${asset}`);
      expect(a.status).toBe(200);
      expect(a.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
      expect(a.headers.get("content-type")).toMatch(asset.endsWith(".js") ? /^text\/javascript/ : /^text\/css/);
      // Hand-written: nothing in the bundle names a host to load from.
      expect(await a.text()).not.toMatch(/https?:\/\/(?!www\.w3\.org|reactjs\.org|react\.dev)[a-z0-9.-]+\.[a-z]{2,}\//i);
    }
    expect((await fetch(`${env.gateway.url}/app/assets/main-NOPE.js`)).status).toBe(404);
  });

  it("sends /app to the organizations and leaves other paths to their routers", async () => {
    for (const path of ["/app", "/app/"]) {
      const res = await fetch(`${env.gateway.url}${path}`, { redirect: "manual" });
      expect([res.status, res.headers.get("location")]).toEqual([302, "/app/organizations"]);
    }
    const api = await env.admin.get("/no-such-resource");
    expect(api.status).toBe(404);
    expect(api.body.errors).toBeDefined();
    expect((await fetch(`${env.gateway.url}/application`)).status).toBe(404);
  });
});

describe("the run events stream", () => {
  it("sends the run's status, then its live log bytes, and resumes from Last-Event-ID", async () => {
    const run = await newRun();
    await setRunStatus(env.db, run.id, "planning");
    await env.db.plan.update({ where: { id: run.planId }, data: { status: "running" } });
    await redis.set(liveLogKey(run.planId), Buffer.from("\u0002Terraform v1.11.4\nStill planning... [1s elapsed]\n"));
    try {
      const first = await readEvents(`/runs/${run.id}/events-stream`, env.gateway.adminToken, (e) => e.some((x) => x.event === "log"));
      expect(first.status).toBe(200);
      expect(first.type).toContain("text/event-stream");
      expect(first.events[0]).toMatchObject({ event: "run", data: { id: run.id, status: "planning", "plan-status": "running" } });
      const log = first.events.find((e) => e.event === "log")!;
      expect(log.data).toEqual({ phase: "plan", offset: 0, text: "\u0002Terraform v1.11.4\nStill planning... [1s elapsed]\n" });
      const planBytes = Buffer.byteLength(log.data.text);
      expect(log.id).toBe(`${planBytes}.0`);

      // More bytes arrive while the stream is open; a status change is pushed too.
      const second = readEvents(
        `/runs/${run.id}/events-stream`,
        env.gateway.adminToken,
        (e) => e.some((x) => x.event === "run" && x.data.status === "planned"),
        { "Last-Event-ID": log.id! },
      );
      await new Promise((r) => setTimeout(r, 700));
      await redis.append(liveLogKey(run.planId), "Plan: 1 to add ✓\n");
      await new Promise((r) => setTimeout(r, 700));
      await setRunStatus(env.db, run.id, "planned");
      const { events } = await second;
      const logs = events.filter((e) => e.event === "log");
      // Resumed after what the first stream delivered: only the new line.
      expect(logs.map((e) => e.data.text).join("")).toBe("Plan: 1 to add ✓\n");
      expect(logs[0]!.data.offset).toBe(planBytes);
      expect(events.filter((e) => e.event === "run").map((e) => e.data.status)).toEqual(["planning", "planned"]);
    } finally {
      await redis.del(liveLogKey(run.planId));
    }
  });

  it("ends once the run is final and its logs are read", async () => {
    const run = await newRun();
    await setRunStatus(env.db, run.id, "discarded");
    const { events } = await readEvents(`/runs/${run.id}/events-stream`, env.gateway.adminToken, () => false);
    expect(events.map((e) => e.event)).toEqual(["run", "end"]);
    expect(events[1]!.data).toEqual({ id: run.id, status: "discarded" });
  });

  it("is 404 to whoever may not read the run, as GET /runs/:id is", async () => {
    const run = await newRun();
    const other = await createOrganization(env.db);
    const otherWs = (await createWorkspace(env.db, other.id)).id;
    const outsider = await userWithAccess(env.db, other.id, otherWs, "admin");
    expect((await new ApiClient(env.gateway.url, outsider.token).get(`/runs/${run.id}`)).status).toBe(404);
    expect((await readEvents(`/runs/${run.id}/events-stream`, outsider.token, () => true)).status).toBe(404);
    expect((await readEvents(`/workspaces/${wsId}/events-stream`, outsider.token, () => true)).status).toBe(404);
    expect((await readEvents(`/runs/run-nope/events-stream`, env.gateway.adminToken, () => true)).status).toBe(404);
    const reader = await userWithAccess(env.db, org.id, wsId, "read");
    const allowed = await readEvents(`/runs/${run.id}/events-stream`, reader.token, (e) => e.length > 0);
    expect(allowed.events[0]).toMatchObject({ event: "run", data: { id: run.id } });
    // No token at all: 401, as the API.
    expect((await fetch(`${env.gateway.url}/api/v2/runs/${run.id}/events-stream`)).status).toBe(401);
  });
});

describe("the workspace events stream", () => {
  it("sends the newest runs' statuses and the lock, again when they change", async () => {
    const run = await newRun();
    const stream = readEvents(`/workspaces/${wsId}/events-stream`, env.gateway.adminToken, (e) => e.length >= 2);
    await new Promise((r) => setTimeout(r, 600));
    await setRunStatus(env.db, run.id, "errored");
    const { events } = await stream;
    expect(events.every((e) => e.event === "workspace")).toBe(true);
    const statusOf = (e: SseEvent) => (e.data.runs as [string, string][]).find(([id]) => id === run.id)?.[1];
    expect(statusOf(events[0]!)).toBe("pending");
    expect(statusOf(events[1]!)).toBe("errored");
    expect(events[1]!.data.locked).toBe(false);
  });
});

describe("completeUtf8Length", () => {
  it("never splits a character across two log events", () => {
    const bytes = Buffer.from("ab✓", "utf8");
    expect(completeUtf8Length(bytes)).toBe(bytes.length);
    expect(completeUtf8Length(bytes.subarray(0, 3))).toBe(2);
    expect(completeUtf8Length(bytes.subarray(0, 4))).toBe(2);
    expect(completeUtf8Length(Buffer.from("😀x"))).toBe(5);
    expect(completeUtf8Length(Buffer.from("😀").subarray(0, 3))).toBe(0);
  });
});

// Last: it stops this file's gateway.
describe("shutdown", () => {
  it("ends open event streams instead of waiting them out, and exits cleanly", async () => {
    const run = await newRun();
    const stream = readEvents(`/runs/${run.id}/events-stream`, env.gateway.adminToken, () => false);
    await new Promise((r) => setTimeout(r, 500));
    const started = Date.now();
    const code = await env.gateway.process.stop(20_000);
    const { events } = await stream;
    // A step that failed or overran its budget says so in the gateway's log (error level), and a
    // crash with its stack: the end of the log comes with any other exit code.
    const logTail = env.gateway.process.output().split("\n").slice(-40);
    expect({ code, logTail: code === 0 ? [] : logTail }).toEqual({ code: 0, logTail: [] });
    expect(events[0]).toMatchObject({ event: "run", data: { id: run.id } });
    // Far less than the shutdown deadline an open stream would otherwise hold the server for.
    expect(Date.now() - started).toBeLessThan(8_000);
  });
});
