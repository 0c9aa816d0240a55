import { ApiClient } from "@tarmac/testing";
import {
  createConfigurationVersion,
  createOrganization,
  createOrganizationToken,
  createTeam,
  createWorkspace,
  runBody,
  setRunStatus,
  startRunsTestEnv,
  userWithAccess,
  type RunsTestEnv,
} from "./run-fixtures";

let env: RunsTestEnv;
let org: { id: string; name: string };

beforeAll(async () => {
  env = await startRunsTestEnv({ TARMAC_FORCE_CANCEL_COOL_OFF_MS: "60000" });
  org = await createOrganization(env.db);
}, 60_000);

afterAll(async () => {
  await env?.close();
});

async function newWorkspace(): Promise<string> {
  const ws = await createWorkspace(env.db, org.id);
  await createConfigurationVersion(env.db, ws.id);
  return ws.id;
}

async function newRun(wsId: string, attrs: Record<string, unknown> = {}): Promise<string> {
  const res = await env.admin.post("/runs", runBody(wsId, attrs));
  expect(res.status).toBe(201);
  return res.body.data.id as string;
}

const getRun = async (id: string) => (await env.admin.get(`/runs/${id}`)).body.data;
const phases = async (id: string) => ({
  plan: await env.db.plan.findUniqueOrThrow({ where: { runId: id } }),
  apply: await env.db.apply.findUniqueOrThrow({ where: { runId: id } }),
});
const actionEvents = (runId: string) =>
  env.db.outboxEvent.findMany({ where: { subject: `${env.prefix}.runs.${runId}.action` }, orderBy: { id: "asc" } });

describe("apply", () => {
  it("confirms a planned run with changes: 202 with no body, confirmed-by, a run event, status and action outbox events", async () => {
    const id = await newRun(await newWorkspace());
    await setRunStatus(env.db, id, "planned", { hasChanges: true });
    expect((await getRun(id)).attributes.actions["is-confirmable"]).toBe(true);
    const res = await env.admin.post(`/runs/${id}/actions/apply`, { comment: "ship it" });
    expect(res.status).toBe(202);
    expect(res.text).toBe("");
    const run = await getRun(id);
    expect(run.attributes.status).toBe("confirmed");
    expect(run.attributes["status-timestamps"]).toHaveProperty("confirmed-at");
    expect(run.relationships["confirmed-by"].data).toMatchObject({ type: "users" });
    expect(run.relationships.comments.data).toHaveLength(1);
    const events = await env.db.runEvent.findMany({ where: { runId: id }, orderBy: { createdAt: "asc" } });
    expect(events.map((e) => [e.action, e.description])).toEqual([["created", "Run created"], ["confirmed", "ship it"]]);
    const actions = await actionEvents(id);
    expect(actions.map((a) => a.payload)).toEqual([expect.objectContaining({ type: "run.action_requested", action: "apply", runId: id })]);
    expect(await env.db.outboxEvent.count({ where: { subject: `${env.prefix}.runs.${id}.status` } })).toBe(1);
  });

  it("answers 409 'transition not allowed' when the run is not paused for confirmation, and changes nothing", async () => {
    const id = await newRun(await newWorkspace());
    const res = await env.admin.post(`/runs/${id}/actions/apply`, {});
    expect(res.status).toBe(409);
    expect(res.body.errors[0]).toMatchObject({ status: "409", title: "transition not allowed" });
    await setRunStatus(env.db, id, "planned", { hasChanges: false });
    expect((await env.admin.post(`/runs/${id}/actions/apply`)).status).toBe(409);
    expect((await getRun(id)).attributes.status).toBe("planned");
    expect(await actionEvents(id)).toHaveLength(0);
  });

  it("accepts the wrapped comment form and no body at all", async () => {
    const ws = await newWorkspace();
    const a = await newRun(ws);
    await setRunStatus(env.db, a, "planned", { hasChanges: true });
    expect((await env.admin.post(`/runs/${a}/actions/apply`, { data: { type: "", attributes: { comment: "wrapped" } } })).status).toBe(202);
    const comment = await env.db.comment.findFirstOrThrow({ where: { runId: a } });
    expect(comment.body).toBe("wrapped");
    const b = await newRun(ws);
    await setRunStatus(env.db, b, "planned", { hasChanges: true });
    expect((await env.admin.request("POST", `/runs/${b}/actions/apply`)).status).toBe(202);
  });

  it("answers 422 for a comment that is not a string and never 5xx on malformed bodies", async () => {
    const id = await newRun(await newWorkspace());
    await setRunStatus(env.db, id, "planned", { hasChanges: true });
    const bad = await env.admin.post(`/runs/${id}/actions/apply`, { comment: 5 });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].source.pointer).toBe("/comment");
    const notJson = await env.admin.post(`/runs/${id}/actions/apply`, "{oops");
    expect(notJson.status).toBe(422);
    expect((await getRun(id)).attributes.status).toBe("planned");
  });
});

describe("discard", () => {
  it("discards a pending run and marks both phases unreachable", async () => {
    const id = await newRun(await newWorkspace());
    expect((await env.admin.post(`/runs/${id}/actions/discard`, { comment: "not needed" })).status).toBe(202);
    const run = await getRun(id);
    expect(run.attributes.status).toBe("discarded");
    expect(run.attributes["status-timestamps"]).toHaveProperty("discarded-at");
    const { plan, apply } = await phases(id);
    expect([plan.status, apply.status]).toEqual(["unreachable", "unreachable"]);
  });

  it("discards a planned run and leaves its finished plan alone", async () => {
    const id = await newRun(await newWorkspace());
    await setRunStatus(env.db, id, "planned", { hasChanges: true });
    await env.db.plan.update({ where: { runId: id }, data: { status: "finished" } });
    expect((await env.admin.post(`/runs/${id}/actions/discard`)).status).toBe(202);
    const { plan, apply } = await phases(id);
    expect([plan.status, apply.status]).toEqual(["finished", "unreachable"]);
  });

  it("answers 409 for a run that is planning or final", async () => {
    const id = await newRun(await newWorkspace());
    await setRunStatus(env.db, id, "planning");
    expect((await env.admin.post(`/runs/${id}/actions/discard`)).status).toBe(409);
    await setRunStatus(env.db, id, "applied");
    expect((await env.admin.post(`/runs/${id}/actions/discard`)).status).toBe(409);
  });
});

describe("cancel and force-cancel", () => {
  it("cancels a run that has not started a phase at once", async () => {
    for (const status of ["pending", "plan_queued", "apply_queued", "confirmed"] as const) {
      const id = await newRun(await newWorkspace());
      if (status !== "pending") await setRunStatus(env.db, id, status);
      const res = await env.admin.post(`/runs/${id}/actions/cancel`, { comment: "stop" });
      expect([status, res.status]).toEqual([status, 202]);
      const run = await getRun(id);
      expect([status, run.attributes.status]).toEqual([status, "canceled"]);
      expect(run.attributes["canceled-at"]).toEqual(expect.any(String));
      expect(Date.parse(run.attributes["force-cancel-available-at"])).toBeGreaterThan(Date.now());
      expect(run.attributes.actions["is-force-cancelable"]).toBe(false);
      expect(run.relationships["canceled-by"].data).toMatchObject({ type: "users" });
      expect((await actionEvents(id)).map((e) => (e.payload as { action: string }).action)).toEqual(["cancel"]);
    }
  });

  it("asks a planning run to stop, keeps its status, exposes force-cancel-available-at, and accepts a repeated cancel", async () => {
    const id = await newRun(await newWorkspace());
    await setRunStatus(env.db, id, "planning");
    expect((await env.admin.post(`/runs/${id}/actions/cancel`)).status).toBe(202);
    const run = await getRun(id);
    expect(run.attributes.status).toBe("planning");
    const available = Date.parse(run.attributes["force-cancel-available-at"]);
    expect(available).toBeGreaterThan(Date.now() + 30_000);
    expect(run.attributes.actions["is-force-cancelable"]).toBe(false);

    expect((await env.admin.post(`/runs/${id}/actions/cancel`)).status).toBe(202);
    const again = await getRun(id);
    expect(again.attributes["force-cancel-available-at"]).toBe(run.attributes["force-cancel-available-at"]);
    expect(await actionEvents(id)).toHaveLength(2);

    // Before the cool-off: 409. After it: force_canceled at once, the running plan canceled.
    const early = await env.admin.post(`/runs/${id}/actions/force-cancel`);
    expect(early.status).toBe(409);
    await env.db.plan.update({ where: { runId: id }, data: { status: "running" } });
    await setRunStatus(env.db, id, "planning", { forceCancelAvailableAt: new Date(Date.now() - 1000) });
    expect((await getRun(id)).attributes.actions["is-force-cancelable"]).toBe(true);
    expect((await env.admin.post(`/runs/${id}/actions/force-cancel`, { comment: "kill it" })).status).toBe(202);
    const ended = await getRun(id);
    expect(ended.attributes.status).toBe("force_canceled");
    expect(ended.attributes["status-timestamps"]).toHaveProperty("force-canceled-at");
    const { plan, apply } = await phases(id);
    expect([plan.status, apply.status]).toEqual(["canceled", "unreachable"]);
    expect((await actionEvents(id)).map((e) => (e.payload as { action: string }).action)).toEqual(["cancel", "cancel", "force-cancel"]);
  });

  it("answers 409 to force-cancel without a prior cancel, and to cancel on a final or confirmable run", async () => {
    const id = await newRun(await newWorkspace());
    await setRunStatus(env.db, id, "applying");
    expect((await env.admin.post(`/runs/${id}/actions/force-cancel`)).status).toBe(409);
    await setRunStatus(env.db, id, "planned", { hasChanges: true });
    expect((await env.admin.post(`/runs/${id}/actions/cancel`)).status).toBe(409);
    await setRunStatus(env.db, id, "errored");
    expect((await env.admin.post(`/runs/${id}/actions/cancel`)).status).toBe(409);
  });
});

describe("force-execute", () => {
  it("discards the discardable run holding the workspace and the pending runs ahead, then emits a queue change", async () => {
    const ws = await newWorkspace();
    const holder = await newRun(ws);
    const middle = await newRun(ws);
    const target = await newRun(ws);
    const speculative = await newRun(ws, { "plan-only": true });
    await setRunStatus(env.db, holder, "planned", { hasChanges: true });
    expect((await getRun(target)).attributes["position-in-queue"]).toBe(2);
    const res = await env.admin.request("POST", `/runs/${target}/actions/force-execute`);
    expect(res.status).toBe(202);
    expect((await getRun(holder)).attributes.status).toBe("discarded");
    expect((await getRun(middle)).attributes.status).toBe("discarded");
    expect((await getRun(target)).attributes.status).toBe("pending");
    expect((await getRun(target)).attributes["position-in-queue"]).toBe(0);
    expect((await getRun(speculative)).attributes.status).toBe("pending");
    expect(await env.db.outboxEvent.count({ where: { subject: `${env.prefix}.workspaces.${ws}.queue` } })).toBe(1);
  });

  it("answers 403 when the target is not pending or nothing holds the workspace, 409 when the holder is not discardable", async () => {
    const ws = await newWorkspace();
    const first = await newRun(ws);
    const second = await newRun(ws);
    const noHolder = await env.admin.post(`/runs/${second}/actions/force-execute`);
    expect(noHolder.status).toBe(403);
    await setRunStatus(env.db, first, "planning");
    const busy = await env.admin.post(`/runs/${second}/actions/force-execute`);
    expect(busy.status).toBe(409);
    const notPending = await env.admin.post(`/runs/${first}/actions/force-execute`);
    expect(notPending.status).toBe(403);
    expect((await getRun(first)).attributes.status).toBe("planning");
    expect((await getRun(second)).attributes.status).toBe("pending");
  });
});

describe("who may act", () => {
  it("404s unknown runs and organization tokens, and users below the required level", async () => {
    const ws = await newWorkspace();
    const id = await newRun(ws);
    expect((await env.admin.post(`/runs/run-doesNotExist12345/actions/cancel`)).status).toBe(404);
    const orgToken = await createOrganizationToken(env.db, org.id);
    expect((await new ApiClient(env.gateway.url, orgToken).post(`/runs/${id}/actions/cancel`)).status).toBe(404);
    const plan = await userWithAccess(env.db, org.id, ws, "plan");
    expect((await new ApiClient(env.gateway.url, plan.token).post(`/runs/${id}/actions/cancel`)).status).toBe(404);
    const read = await userWithAccess(env.db, org.id, ws, "read");
    expect((await new ApiClient(env.gateway.url, read.token).get(`/runs/${id}`)).status).toBe(200);
    expect((await new ApiClient(env.gateway.url, read.token).post(`/runs/${id}/actions/discard`)).status).toBe(404);
    expect((await getRun(id)).attributes.status).toBe("pending");
  });

  it("lets write users and team tokens apply, discard and cancel, and only admins force-cancel", async () => {
    const ws = await newWorkspace();
    const write = await userWithAccess(env.db, org.id, ws, "write");
    const asWrite = new ApiClient(env.gateway.url, write.token);
    const id = await newRun(ws);
    await setRunStatus(env.db, id, "planning", { forceCancelAvailableAt: new Date(Date.now() - 1000) });
    expect((await asWrite.get(`/runs/${id}`)).body.data.attributes.permissions).toMatchObject({
      "can-apply": true,
      "can-cancel": true,
      "can-force-cancel": false,
    });
    expect((await asWrite.post(`/runs/${id}/actions/force-cancel`)).status).toBe(404);
    const admin = await userWithAccess(env.db, org.id, ws, "admin");
    expect((await new ApiClient(env.gateway.url, admin.token).post(`/runs/${id}/actions/force-cancel`)).status).toBe(202);

    const team = await createTeam(env.db, org.id, { access: [{ workspaceId: ws, access: "write" }] });
    const other = await newRun(ws);
    expect((await new ApiClient(env.gateway.url, team.token).post(`/runs/${other}/actions/discard`)).status).toBe(202);
    expect((await asWrite.post(`/runs/${other}/actions/cancel`)).status).toBe(409);
  });
});
