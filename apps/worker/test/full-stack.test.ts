import { randomBytes } from "node:crypto";
import { terraformDoublePath } from "@tarmac/terraform/test";
import { subjectsFor } from "@tarmac/contracts";
import { connectNats, deleteStream } from "@tarmac/events";
import { ApiClient, createTestDatabase, freePort, startApp, startGateway, waitFor, type StartedGateway, type StartedProcess, type TestDatabase } from "@tarmac/testing";
import { makeArchive, NATS_URL, REDIS_URL } from "./helpers";

/**
 * The whole engine: gateway (with its outbox relay), scheduler and worker processes, driven over
 * the TFE API as a client would: a run plans, waits for confirmation, applies and records state.
 */
let database: TestDatabase;
let gateway: StartedGateway;
let scheduler: StartedProcess;
let worker: StartedProcess;
let api: ApiClient;
const prefix = `tfs${randomBytes(4).toString("hex")}`;
const key = randomBytes(32).toString("base64url");

beforeAll(async () => {
  database = await createTestDatabase();
  const common = { TARMAC_NATS_PREFIX: prefix, TARMAC_QUEUE_PREFIX: prefix, TARMAC_ENCRYPTION_KEY: key, REDIS_URL, NATS_URL };
  gateway = await startGateway(database.url, { ...common, TARMAC_RATE_LIMIT_PER_SECOND: "0", TARMAC_RUN_LIST_RATE_LIMIT_PER_MINUTE: "0" });
  const schedulerPort = await freePort();
  scheduler = await startApp(
    "scheduler",
    { ...common, DATABASE_URL: database.url, TARMAC_GATEWAY_URL: gateway.url, HEALTH_PORT: String(schedulerPort) },
    { readyUrl: `http://127.0.0.1:${schedulerPort}/readyz` },
  );
  const workerPort = await freePort();
  worker = await startApp(
    "worker",
    { ...common, DATABASE_URL: "", TARMAC_TERRAFORM_BIN: terraformDoublePath, HEALTH_PORT: String(workerPort), TARMAC_HEARTBEAT_INTERVAL_MS: "1000" },
    { readyUrl: `http://127.0.0.1:${workerPort}/readyz` },
  );
  api = new ApiClient(gateway.url, gateway.adminToken);
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await scheduler?.stop();
  await gateway?.process.stop();
  const nc = await connectNats(NATS_URL, "full-stack-cleanup");
  await deleteStream(nc, subjectsFor(prefix).streamName);
  await nc.drain();
  await database?.drop();
}, 60_000);

async function createRun(files: Record<string, string>): Promise<{ runId: string; wsId: string }> {
  const org = `org-${randomBytes(3).toString("hex")}`;
  // Cost estimation (on by default, as in HCP) would add a stage after `planned`; these tests follow plan and apply.
  const attributes = { name: org, email: `${org}@example.com`, "cost-estimation-enabled": false };
  expect((await api.post("/organizations", { data: { type: "organizations", attributes } })).status).toBe(201);
  const ws = await api.post(`/organizations/${org}/workspaces`, { data: { type: "workspaces", attributes: { name: "app" } } });
  expect(ws.status).toBe(201);
  const wsId = ws.body.data.id as string;
  const cv = await api.post(`/workspaces/${wsId}/configuration-versions`, {
    data: { type: "configuration-versions", attributes: { "auto-queue-runs": false } },
  });
  expect(cv.status).toBe(201);
  const upload = await fetch(cv.body.data.attributes["upload-url"] as string, { method: "PUT", body: new Uint8Array(await makeArchive(files)) });
  expect(upload.status).toBe(200);
  const created = await api.post("/runs", {
    data: {
      type: "runs",
      attributes: { message: "full stack" },
      relationships: {
        workspace: { data: { type: "workspaces", id: wsId } },
        "configuration-version": { data: { type: "configuration-versions", id: cv.body.data.id } },
      },
    },
  });
  expect(created.status).toBe(201);
  return { runId: created.body.data.id as string, wsId };
}

function waitForStatus(runId: string, status: string, timeoutMs = 45_000) {
  return waitFor(
    async () => {
      const r = await api.get(`/runs/${runId}`);
      const current = r.body.data.attributes.status as string;
      if (current !== status && ["errored", "canceled", "discarded", "applied", "force_canceled"].includes(current)) {
        throw new Error(`run ended ${current} while waiting for ${status}`);
      }
      return current === status ? r.body.data : undefined;
    },
    { timeoutMs, intervalMs: 250, what: `run ${runId} to be ${status}` },
  );
}

async function readLog(url: string): Promise<string> {
  const res = await fetch(url);
  return Buffer.from(await res.arrayBuffer()).toString("utf8");
}

describe("a run through gateway, scheduler and worker", () => {
  it("plans, is applied on confirmation, and leaves state and durable logs", async () => {
    const { runId, wsId } = await createRun({ "main.tf": `resource "null_resource" "a" {}\n` });
    const planned = await waitForStatus(runId, "planned");
    expect(planned.attributes["has-changes"]).toBe(true);

    const plan = await api.get(`/plans/${planned.relationships.plan.data.id}`);
    expect(plan.body.data.attributes).toMatchObject({ status: "finished", "resource-additions": 1 });
    const planLog = await readLog(plan.body.data.attributes["log-read-url"]);
    expect(planLog.startsWith("\x02")).toBe(true);
    expect(planLog.endsWith("\x03")).toBe(true);
    expect(planLog).toContain("Plan: 1 to add");

    expect((await api.post(`/runs/${runId}/actions/apply`, { comment: "go" })).status).toBe(202);
    await waitForStatus(runId, "applied");
    const apply = await api.get(`/applies/${planned.relationships.apply.data.id}`);
    expect(apply.body.data.attributes).toMatchObject({ status: "finished", "resource-additions": 1 });
    const applyLog = await readLog(apply.body.data.attributes["log-read-url"]);
    expect(applyLog).toContain("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    expect(applyLog.endsWith("\x03")).toBe(true);

    const state = await api.get(`/workspaces/${wsId}/current-state-version`);
    expect(state.status).toBe(200);
  }, 120_000);

  it("streams a running plan's log through its log-read-url, and a cancel ends it canceled", async () => {
    const { runId } = await createRun({
      "main.tf": `resource "null_resource" "a" {}\n`,
      "terraform-double.json": JSON.stringify({ plan: { seconds: 30 } }),
    });
    const planning = await waitForStatus(runId, "planning");
    const plan = await api.get(`/plans/${planning.relationships.plan.data.id}`);
    const logUrl = plan.body.data.attributes["log-read-url"] as string;
    const live = await waitFor(async () => {
      const text = await readLog(`${logUrl}?offset=0&limit=65536`);
      return text.includes("Still planning") ? text : undefined;
    }, { timeoutMs: 15_000, intervalMs: 200, what: "live plan log lines" });
    expect(live.startsWith("\x02")).toBe(true);
    expect(live.endsWith("\x03")).toBe(false);

    expect((await api.post(`/runs/${runId}/actions/cancel`, { comment: "stop" })).status).toBe(202);
    await waitForStatus(runId, "canceled", 20_000);
    const after = await api.get(`/plans/${planning.relationships.plan.data.id}`);
    expect(after.body.data.attributes.status).toBe("canceled");
    // The worker stores the final log (ending in ETX) before it reports the phase canceled.
    await waitFor(async () => ((await readLog(logUrl)).endsWith("\x03") ? true : undefined), { timeoutMs: 10_000, what: "the final log" });
  }, 90_000);
});
