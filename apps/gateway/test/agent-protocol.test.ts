import type { Db } from "@tarmac/db";
import { newId } from "@tarmac/domain";
import { createAgentPoolRow, createAgentTokenRow, setWorkspaceAgentPool } from "@tarmac/testing";
import { createConfigurationVersion, createOrganization, createWorkspace, runBody, startRunsTestEnv, type RunsTestEnv } from "./run-fixtures";

/**
 * The agent protocol as an agent sees it: bearer agent tokens, registration, long polls that
 * hand out a pool's jobs one agent at a time within its capacity, progress recorded in the
 * outbox only from the agent holding the job, stop orders in the answers to pings. No engine
 * runs here: job rows are written as the scheduler would write them.
 */

let env: RunsTestEnv;
let db: Db;
let pool: { id: string; name: string };
let otherPool: { id: string; name: string };
let token: string;
let otherToken: string;
let workspaceId: string;

async function agentCall(method: string, path: string, body?: unknown, bearer: string | null = token) {
  const res = await fetch(env.gateway.url + path, {
    method,
    headers: { ...(bearer ? { authorization: `Bearer ${bearer}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as any) : undefined };
}

async function register(name: string, capacity = 1, bearer = token): Promise<string> {
  const res = await agentCall("POST", "/api/agent/register", { name, capacity }, bearer);
  expect(res.status).toBe(201);
  return res.body["agent-id"] as string;
}

/** A run of the agent-mode workspace and a pending job for its plan, as the scheduler's dispatch writes it. */
async function pendingJob(poolId = pool.id): Promise<{ runId: string; jobId: string }> {
  const cv = await createConfigurationVersion(db, workspaceId);
  const run = await env.admin.post("/runs", runBody(workspaceId, {}, cv));
  expect(run.status).toBe(201);
  const runId = run.body.data.id as string;
  const jobId = newId("ajob");
  await db.agentJob.create({
    data: { id: jobId, runId, phase: "plan", agentPoolId: poolId, jobUrl: `http://internal.example/_jobs/${runId}/plan/secret-${jobId}`, attempt: BigInt(Date.now()) },
  });
  return { runId, jobId };
}

function progress(runId: string, kind: string, sequence: number, extra: Record<string, unknown> = {}) {
  return { type: "phase.progress", runId, phase: "plan", kind, attempt: 7, sequence, workerId: "whatever-the-agent-says", at: new Date().toISOString(), ...extra };
}

beforeAll(async () => {
  env = await startRunsTestEnv();
  db = env.db;
  const org = await createOrganization(db);
  pool = await createAgentPoolRow(db, org.id, { name: "pool-one" });
  otherPool = await createAgentPoolRow(db, org.id, { name: "pool-two" });
  token = (await createAgentTokenRow(db, pool.id)).token;
  otherToken = (await createAgentTokenRow(db, otherPool.id)).token;
  workspaceId = (await createWorkspace(db, org.id)).id;
  await setWorkspaceAgentPool(db, workspaceId, pool);
}, 60_000);

afterAll(async () => {
  await env?.close();
});

describe("the agent protocol", () => {
  it("refuses a missing or unknown agent token with a JSON:API 401", async () => {
    for (const bearer of [null, "agent-not-a-real-token", token.slice(0, -1)]) {
      const res = await agentCall("POST", "/api/agent/register", { name: "x" }, bearer);
      expect(res.status).toBe(401);
      expect(res.body.errors[0]).toMatchObject({ status: "401" });
    }
    expect(await db.agent.count()).toBe(0);
  });

  it("registers an agent in the token's pool with its name, address and capacity", async () => {
    const res = await agentCall("POST", "/api/agent/register", { name: "reg-1", capacity: 3 });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ "agent-pool-id": pool.id, "agent-pool-name": "pool-one", capacity: 3 });
    const row = await db.agent.findUniqueOrThrow({ where: { id: res.body["agent-id"] } });
    expect(row).toMatchObject({ name: "reg-1", agentPoolId: pool.id, capacity: 3, status: "idle" });
    expect(row.ipAddress).toMatch(/127\.0\.0\.1|::1/);
    expect(await agentCall("POST", "/api/agent/register", { capacity: 0 })).toMatchObject({ status: 422 });
    // Another pool's token does not reach this agent.
    expect((await agentCall("POST", `/api/agent/agents/${row.id}/status`, {}, otherToken)).status).toBe(404);
  });

  it("hands a pool's oldest pending job to one polling agent within its capacity, and records it on the plan", async () => {
    const first = await pendingJob();
    const second = await pendingJob();
    const foreign = await pendingJob(otherPool.id);
    const a = await register("cap-a", 1);
    const b = await register("cap-b", 1);

    const got = await agentCall("GET", `/api/agent/agents/${a}/jobs/next?wait=0`);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ "job-id": first.jobId, "run-id": first.runId, phase: "plan" });
    // The job URL's path only: the agent resolves it against the address it reaches Tarmac at.
    expect(got.body["job-path"]).toBe(`/_jobs/${first.runId}/plan/secret-${first.jobId}`);
    // At capacity: nothing more for a.
    expect((await agentCall("GET", `/api/agent/agents/${a}/jobs/next?wait=0`)).status).toBe(204);
    const plan = await db.plan.findUniqueOrThrow({ where: { runId: first.runId } });
    expect(plan.executionDetails).toEqual({ mode: "agent", "agent-id": a, "agent-name": "cap-a", "agent-pool-id": pool.id, "agent-pool-name": "pool-one" });
    const planDoc = await env.admin.get(`/runs/${first.runId}/plan`);
    expect(planDoc.body.data.attributes["execution-details"]).toEqual(plan.executionDetails);

    const next = await agentCall("GET", `/api/agent/agents/${b}/jobs/next?wait=0`);
    expect(next.body["job-id"]).toBe(second.jobId);
    // The other pool's job stays pending for that pool's agents.
    expect((await agentCall("GET", `/api/agent/agents/${b}/jobs/next?wait=0`)).status).toBe(204);
    expect((await db.agentJob.findUniqueOrThrow({ where: { id: foreign.jobId } })).status).toBe("pending");
  });

  it("gives one job to exactly one of several agents polling at once", async () => {
    await db.agentJob.updateMany({ where: { status: "pending", agentPoolId: pool.id }, data: { status: "done" } });
    const { jobId } = await pendingJob();
    const ids = await Promise.all(["race-1", "race-2", "race-3", "race-4"].map((n) => register(n, 2)));
    const answers = await Promise.all(ids.map((id) => agentCall("GET", `/api/agent/agents/${id}/jobs/next?wait=0`)));
    expect(answers.filter((a) => a.status === 200).map((a) => a.body["job-id"])).toEqual([jobId]);
    expect(answers.filter((a) => a.status === 204)).toHaveLength(3);
  });

  it("waits on a long poll until a job arrives", async () => {
    const id = await register("long-poll", 1);
    const started = Date.now();
    const poll = agentCall("GET", `/api/agent/agents/${id}/jobs/next?wait=10000`);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const { jobId } = await pendingJob();
    const answer = await poll;
    expect(answer.status).toBe(200);
    expect(answer.body["job-id"]).toBe(jobId);
    expect(Date.now() - started).toBeLessThan(8_000);
  });

  it("records the holder's progress in the outbox as the worker's event, refuses anyone else's, and ends the hold on a final event", async () => {
    const { runId, jobId } = await pendingJob();
    const holder = await register("holder", 1);
    const other = await register("bystander", 1);
    // Drain whatever else is pending so the holder gets this job.
    await db.agentJob.updateMany({ where: { status: "pending", agentPoolId: pool.id, NOT: { id: jobId } }, data: { status: "done" } });
    expect((await agentCall("GET", `/api/agent/agents/${holder}/jobs/next?wait=0`)).body["job-id"]).toBe(jobId);

    const started = await agentCall("POST", `/api/agent/agents/${holder}/jobs/${jobId}/events`, progress(runId, "started", 0));
    expect(started.status).toBe(204);
    const row = await db.outboxEvent.findUniqueOrThrow({ where: { msgId: `${runId}:plan:7:started:0` } });
    expect(row.subject).toBe(`${env.prefix}.runs.${runId}.plan.progress`);
    // The event names the agent that holds the job, whatever the body said.
    expect(row.payload).toMatchObject({ type: "phase.progress", runId, kind: "started", workerId: holder });

    expect((await agentCall("POST", `/api/agent/agents/${other}/jobs/${jobId}/events`, progress(runId, "heartbeat", 1))).status).toBe(409);
    expect((await agentCall("POST", `/api/agent/agents/${holder}/jobs/${jobId}/events`, { kind: "nonsense" })).status).toBe(422);
    // Another run's id in the event: refused, nothing recorded.
    expect((await agentCall("POST", `/api/agent/agents/${holder}/jobs/${jobId}/events`, { ...progress(runId, "heartbeat", 2), runId: "run-someoneelse" })).status).toBe(409);

    // A stop order on the job reaches the holder in the answer to its ping.
    await db.agentJob.update({ where: { id: jobId }, data: { signal: "SIGINT" } });
    const ping = await agentCall("POST", `/api/agent/agents/${holder}/status`, { status: "busy" });
    expect(ping.body.jobs).toEqual([{ "job-id": jobId, "run-id": runId, phase: "plan", signal: "SIGINT" }]);

    const finished = await agentCall("POST", `/api/agent/agents/${holder}/jobs/${jobId}/events`, progress(runId, "canceled", 3));
    expect(finished.status).toBe(204);
    expect(await db.agentJob.findUniqueOrThrow({ where: { id: jobId } })).toMatchObject({ status: "done" });
    expect(await db.agent.findUniqueOrThrow({ where: { id: holder } })).toMatchObject({ status: "idle" });
    expect((await agentCall("POST", `/api/agent/agents/${holder}/status`, {})).body.jobs).toEqual([]);
    // Once done, later reports are refused: the phase's outcome is recorded once.
    expect((await agentCall("POST", `/api/agent/agents/${holder}/jobs/${jobId}/events`, progress(runId, "finished", 4))).status).toBe(409);
  });

  it("gives up, for the scheduler to settle, a job the agent holds but says it does not run", async () => {
    await db.agentJob.updateMany({ where: { status: "pending", agentPoolId: pool.id }, data: { status: "done" } });
    const { jobId } = await pendingJob();
    const id = await register("forgetful", 1);
    expect((await agentCall("GET", `/api/agent/agents/${id}/jobs/next?wait=0`)).body["job-id"]).toBe(jobId);
    // A claim just made may still be on its way to the agent: it is spared.
    await agentCall("POST", `/api/agent/agents/${id}/status`, { running: [] });
    expect((await db.agentJob.findUniqueOrThrow({ where: { id: jobId } })).agentId).toBe(id);
    // An older one the agent does not run loses its agent (the reconcile loop errors its run).
    await db.agentJob.update({ where: { id: jobId }, data: { claimedAt: new Date(Date.now() - 120_000) } });
    await agentCall("POST", `/api/agent/agents/${id}/status`, { running: [jobId] });
    expect((await db.agentJob.findUniqueOrThrow({ where: { id: jobId } })).agentId).toBe(id);
    await agentCall("POST", `/api/agent/agents/${id}/status`, { running: [] });
    expect(await db.agentJob.findUniqueOrThrow({ where: { id: jobId } })).toMatchObject({ agentId: null, status: "active" });
  });

  it("answers 401 to an agent whose token was deleted", async () => {
    const grant = await createAgentTokenRow(db, pool.id, "short-lived");
    const id = await register("revoked", 1, grant.token);
    expect((await agentCall("POST", `/api/agent/agents/${id}/status`, {}, grant.token)).status).toBe(200);
    await db.agentToken.delete({ where: { id: grant.id } });
    for (const [method, path] of [["POST", `/api/agent/agents/${id}/status`], ["GET", `/api/agent/agents/${id}/jobs/next?wait=0`]] as const) {
      const res = await agentCall(method, path, method === "POST" ? {} : undefined, grant.token);
      expect(res.status).toBe(401);
      expect(res.body.errors[0].detail).toMatch(/revoked/);
    }
  });
});
