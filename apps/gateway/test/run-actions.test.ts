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
const requests = (runId: string) => env.db.runActionRequest.findMany({ where: { runId }, orderBy: { seq: "asc" } });
const statusEvents = (runId: string) => env.db.outboxEvent.count({ where: { subject: `${env.prefix}.runs.${runId}.status` } });

/*
 * The gateway records a user's action and answers; the scheduler carries it out (no scheduler
 * runs here, see apps/scheduler/test/run-actions.test.ts and tests/e2e for the status changes).
 * So these tests check the request, its event, and the answers the domain rules give, including
 * for requests that arrive while earlier ones are still pending.
 */

describe("apply", () => {
  it("records a confirmation of a planned run with changes: 202 with no body, the request with its comment and event, no status change", async () => {
    const id = await newRun(await newWorkspace());
    await setRunStatus(env.db, id, "planned", { hasChanges: true });
    expect((await getRun(id)).attributes.actions["is-confirmable"]).toBe(true);
    const res = await env.admin.post(`/runs/${id}/actions/apply`, { comment: "ship it" });
    expect(res.status).toBe(202);
    expect(res.text).toBe("");
    const run = await getRun(id);
    expect(run.attributes.status).toBe("planned");
    expect(run.relationships.comments.data).toHaveLength(1);
    const [request, ...more] = await requests(id);
    expect(more).toHaveLength(0);
    expect(request).toMatchObject({ action: "apply", status: "pending", actorId: expect.stringMatching(/^user-/), decidedAt: null });
    expect(request!.commentId).toBe(run.relationships.comments.data[0].id);
    const actions = await actionEvents(id);
    expect(actions.map((a) => a.payload)).toEqual([
      expect.objectContaining({ type: "run.action_requested", action: "apply", runId: id, actionRequestId: request!.id }),
    ]);
    // The gateway never moves the run (setRunStatus writes the row alone).
    expect(await statusEvents(id)).toBe(0);
  });

  it("answers a second apply with 409 while the first one waits for the scheduler", async () => {
    const id = await newRun(await newWorkspace());
    await setRunStatus(env.db, id, "planned", { hasChanges: true });
    expect((await env.admin.post(`/runs/${id}/actions/apply`)).status).toBe(202);
    const again = await env.admin.post(`/runs/${id}/actions/apply`);
    expect(again.status).toBe(409);
    expect(again.body.errors[0]).toMatchObject({ status: "409", title: "transition not allowed" });
    expect((await env.admin.post(`/runs/${id}/actions/discard`)).status).toBe(409);
    // The confirmed run may still be cancelled.
    expect((await env.admin.post(`/runs/${id}/actions/cancel`)).status).toBe(202);
    expect((await requests(id)).map((r) => r.action)).toEqual(["apply", "cancel"]);
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
    expect(await requests(id)).toHaveLength(0);
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
  it("records the discard of a pending run and of a planned one, touching neither run nor phases", async () => {
    const pending = await newRun(await newWorkspace());
    expect((await env.admin.post(`/runs/${pending}/actions/discard`, { comment: "not needed" })).status).toBe(202);
    const planned = await newRun(await newWorkspace());
    await setRunStatus(env.db, planned, "planned", { hasChanges: true });
    expect((await env.admin.post(`/runs/${planned}/actions/discard`)).status).toBe(202);
    for (const id of [pending, planned]) {
      expect((await requests(id)).map((r) => r.action)).toEqual(["discard"]);
      const { plan, apply } = await phases(id);
      expect([plan.status, apply.status]).toEqual(["pending", "pending"]);
    }
    expect((await getRun(pending)).attributes.status).toBe("pending");
    // Discarded once carried out: a cancel of the pending run is refused already.
    expect((await env.admin.post(`/runs/${pending}/actions/cancel`)).status).toBe(409);
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
  it("records a cancel of a run in every cancelable status, with force-cancel-available-at after the cool-off", async () => {
    for (const status of ["pending", "plan_queued", "planning", "apply_queued", "confirmed"] as const) {
      const id = await newRun(await newWorkspace());
      if (status !== "pending") await setRunStatus(env.db, id, status);
      const before = Date.now();
      const res = await env.admin.post(`/runs/${id}/actions/cancel`, { comment: "stop" });
      expect([status, res.status]).toEqual([status, 202]);
      const [request] = await requests(id);
      expect(request!.forceCancelAvailableAt!.getTime()).toBeGreaterThanOrEqual(before + 60_000);
      expect((await getRun(id)).attributes.status).toBe(status);
      expect((await actionEvents(id)).map((e) => (e.payload as { action: string }).action)).toEqual(["cancel"]);
    }
  });

  it("accepts a repeated cancel of a planning run, refuses force-cancel before the cool-off, accepts it after", async () => {
    const id = await newRun(await newWorkspace());
    await setRunStatus(env.db, id, "planning");
    expect((await env.admin.post(`/runs/${id}/actions/cancel`)).status).toBe(202);
    expect((await env.admin.post(`/runs/${id}/actions/cancel`)).status).toBe(202);
    expect(await actionEvents(id)).toHaveLength(2);

    // The first cancel, once carried out, makes force-cancel available after the cool-off: 409 now.
    const early = await env.admin.post(`/runs/${id}/actions/force-cancel`);
    expect(early.status).toBe(409);
    expect(early.body.errors[0].detail).toMatch(/cool-off period has not yet passed/);
    await setRunStatus(env.db, id, "planning", { forceCancelAvailableAt: new Date(Date.now() - 1000) });
    expect((await getRun(id)).attributes.actions["is-force-cancelable"]).toBe(true);
    expect((await env.admin.post(`/runs/${id}/actions/force-cancel`, { comment: "kill it" })).status).toBe(202);
    expect((await requests(id)).map((r) => r.action)).toEqual(["cancel", "cancel", "force-cancel"]);
    expect((await actionEvents(id)).map((e) => (e.payload as { action: string }).action)).toEqual(["cancel", "cancel", "force-cancel"]);
    // Force-canceled once carried out: nothing more to cancel.
    expect((await env.admin.post(`/runs/${id}/actions/cancel`)).status).toBe(409);
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
  it("records a force-execute when a discardable run holds the workspace, and judges the holder with its pending actions", async () => {
    const ws = await newWorkspace();
    const holder = await newRun(ws);
    await newRun(ws);
    const target = await newRun(ws);
    await setRunStatus(env.db, holder, "planned", { hasChanges: true });
    const res = await env.admin.request("POST", `/runs/${target}/actions/force-execute`);
    expect(res.status).toBe(202);
    expect((await requests(target)).map((r) => r.action)).toEqual(["force-execute"]);
    expect((await getRun(holder)).attributes.status).toBe("planned");

    // A holder whose confirmation is pending is no longer discardable: 409.
    const ws2 = await newWorkspace();
    const holder2 = await newRun(ws2);
    const target2 = await newRun(ws2);
    await setRunStatus(env.db, holder2, "planned", { hasChanges: true });
    expect((await env.admin.post(`/runs/${holder2}/actions/apply`)).status).toBe(202);
    expect((await env.admin.post(`/runs/${target2}/actions/force-execute`)).status).toBe(409);
    expect(await requests(target2)).toHaveLength(0);
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
