import { runActionRequestedEvent, runCreatedEvent, runStatusChangedEvent, workspaceQueueChangedEvent } from "@tarmac/contracts";
import {
  createConfigurationVersion,
  createOrganization,
  createWorkspace,
  runBody,
  setRunStatus,
  startRunsTestEnv,
  type RunsTestEnv,
} from "./run-fixtures";

let env: RunsTestEnv;
let wsId: string;

beforeAll(async () => {
  env = await startRunsTestEnv();
  const org = await createOrganization(env.db);
  wsId = (await createWorkspace(env.db, org.id)).id;
  await createConfigurationVersion(env.db, wsId);
}, 60_000);

afterAll(async () => {
  await env?.close();
});

async function newRun(): Promise<string> {
  const res = await env.admin.post("/runs", runBody(wsId));
  expect(res.status).toBe(201);
  return res.body.data.id as string;
}

const MALFORMED: unknown[] = [
  "not json at all",
  "null",
  "[]",
  "42",
  '"a string"',
  "{}",
  { data: "x" },
  { data: [] },
  { data: { attributes: "x", relationships: 5 } },
  { data: { attributes: { body: { nested: true } } } },
  { comment: ["x"] },
  { comment: { a: 1 } },
  { data: { relationships: { workspace: { data: { id: 12 } } } } },
  { data: { relationships: { workspace: { data: { id: "ws-doesNotExist12345" } }, "configuration-version": { data: { id: [] } } } } },
  { data: { attributes: { variables: "x" }, relationships: { workspace: { data: { id: "x" } } } } },
  { data: { attributes: { variables: [null] }, relationships: { workspace: { data: { id: "x" } } } } },
];

describe("malformed input", () => {
  it("never answers 5xx on any write endpoint, and creates nothing", async () => {
    const id = await newRun();
    await setRunStatus(env.db, id, "planned", { hasChanges: true });
    const paths = [
      "/runs",
      `/runs/${id}/actions/apply`,
      `/runs/${id}/actions/discard`,
      `/runs/${id}/actions/cancel`,
      `/runs/${id}/actions/force-cancel`,
      `/runs/${id}/actions/force-execute`,
      `/runs/${id}/comments`,
    ];
    const runsBefore = await env.db.run.count();
    for (const path of paths) {
      for (const body of MALFORMED) {
        const res = await env.admin.post(path, body);
        expect([path, body, res.status < 500]).toEqual([path, body, true]);
      }
    }
    expect(await env.db.run.count()).toBe(runsBefore);
    expect(await env.db.comment.count({ where: { runId: id } })).toBe(0);
  });

  it("never answers 5xx on odd query strings (absurd page numbers may be refused with a 422)", async () => {
    const id = await newRun();
    const queries = [
      "include[]=plan",
      "include=,,,",
      "filter=5",
      "filter[status][x]=1",
      "page=3",
      "page[number]=99999999999999999999",
      "page[size]=0",
      "search[basic][]=a&search[basic][]=b",
      "filter[status_group]=final,non_final",
      "search[commit]=%00%27",
    "page[size]=99999999999999999999&page[number]=2",
    ];
    for (const q of queries) {
      for (const path of [`/runs/${id}`, `/workspaces/${wsId}/runs`, `/runs/${id}/run-events`]) {
        const res = await env.admin.get(`${path}?${q}`);
        expect([path, q, res.status < 500 ? "ok" : res.text]).toEqual([path, q, "ok"]);
      }
    }
  });

  it("404s ids carrying NUL bytes or other impossible characters instead of failing", async () => {
    for (const path of [
      "/runs/run-%00",
      "/runs/%00/plan",
      "/plans/plan-%00abc",
      "/run-events/re-%00",
      "/comments/wsc-%00",
      "/cost-estimates/ce-%00",
      "/workspaces/ws-%00/runs",
      "/organizations/org%00/runs",
      "/organizations/org%00/capacity",
      "/organizations/org%00/runs/queue",
    ]) {
      const res = await env.admin.get(path);
      expect([path, res.status]).toEqual([path, 404]);
    }
    expect((await env.admin.post("/runs/run-%00/actions/apply", {})).status).toBe(404);
    expect((await env.admin.post("/runs", runBody("ws-%00"))).status).toBeLessThan(500);
  });
});

describe("contracts", () => {
  it("writes outbox payloads that parse with the event schemas", async () => {
    const first = await newRun();
    const second = await newRun();
    await setRunStatus(env.db, first, "planned", { hasChanges: true });
    expect((await env.admin.post(`/runs/${second}/actions/force-execute`)).status).toBe(202);
    const events = await env.db.outboxEvent.findMany({ where: { subject: { startsWith: `${env.prefix}.` } } });
    const kinds = new Set<string>();
    for (const e of events) {
      const payload = e.payload as { type: string };
      kinds.add(payload.type);
      const schema = {
        "run.created": runCreatedEvent,
        "run.status_changed": runStatusChangedEvent,
        "run.action_requested": runActionRequestedEvent,
        "workspace.queue_changed": workspaceQueueChangedEvent,
      }[payload.type];
      expect(schema).toBeDefined();
      expect(schema!.safeParse(payload).success).toBe(true);
    }
    // Statuses and the queue move in the scheduler, which carries the force-execute out.
    expect([...kinds].sort()).toEqual(["run.action_requested", "run.created"]);
  });
});

describe("concurrency", () => {
  it("accepts exactly one of many concurrent applies and records one request", async () => {
    const id = await newRun();
    await setRunStatus(env.db, id, "planned", { hasChanges: true });
    const results = await Promise.all(Array.from({ length: 6 }, () => env.admin.post(`/runs/${id}/actions/apply`, {})));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses).toEqual([202, 409, 409, 409, 409, 409]);
    expect(await env.db.runActionRequest.count({ where: { runId: id, action: "apply" } })).toBe(1);
    expect(await env.db.outboxEvent.count({ where: { subject: `${env.prefix}.runs.${id}.action` } })).toBe(1);
  });

  it("lets a discard and an apply race without both winning", async () => {
    const id = await newRun();
    await setRunStatus(env.db, id, "planned", { hasChanges: true });
    const [a, b] = await Promise.all([
      env.admin.post(`/runs/${id}/actions/apply`, {}),
      env.admin.post(`/runs/${id}/actions/discard`, {}),
    ]);
    expect([a.status, b.status].sort()).toEqual([202, 409]);
    const requests = await env.db.runActionRequest.findMany({ where: { runId: id } });
    expect(requests.map((r) => r.action)).toEqual([a.status === 202 ? "apply" : "discard"]);
  });

  it("creates concurrent runs in distinct creation order", async () => {
    const ids = await Promise.all(Array.from({ length: 5 }, () => newRun()));
    const rows = await env.db.run.findMany({ where: { id: { in: ids } }, select: { seq: true } });
    expect(new Set(rows.map((r) => r.seq)).size).toBe(5);
  });
});
