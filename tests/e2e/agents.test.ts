import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { subjectsFor } from "@tarmac/contracts";
import { createDb, type Db } from "@tarmac/db";
import { connectNats, deleteStream } from "@tarmac/events";
import { queueKeyPrefix } from "@tarmac/queues";
import { terraformDoublePath } from "@tarmac/terraform/test";
import {
  appCommand,
  createAgentPoolRow,
  createAgentTokenRow,
  createTestDatabase,
  freePort,
  httpsRequest,
  makeTestCertificates,
  REPO_ROOT,
  setWorkspaceAgentPool,
  startApp,
  waitFor,
  type StartedProcess,
  type TestCertificates,
  type TestDatabase,
} from "@tarmac/testing";
import { TlsApi } from "../cli/api";
import { makeArchive, NATS_URL, REDIS_URL, removeQueueKeys } from "./stack";

/**
 * Runs on agents: the gateway serving HTTPS (a throwaway CA), one scheduler, no worker at all,
 * and agent processes that know only the gateway's address and their pool's token. Two pools
 * with agents (A: two agents, B: one) and a third with none at first; the terraform test double
 * executes. The last agent runs in a network namespace of its own that reaches only the
 * gateway's HTTPS port.
 */

const hex = (n: number) => randomBytes(n).toString("hex");
const START_TIMEOUT_MS = 90_000;
const AGENT_TIMEOUT_MS = 3_000;

let database: TestDatabase;
let db: Db;
let certs: TestCertificates;
let workDir: string;
let prefix: string;
let gatewayPort: number;
let address: string;
let api: TlsApi;
const processes: StartedProcess[] = [];
const agents = new Map<string, StartedProcess>();
let nsAgent: { child: ChildProcess; output: () => string; exited: Promise<number | null> } | undefined;
let bridge: net.Server | undefined;

let org: string;
const pools: Record<"A" | "B" | "C", { id: string; name: string; token: string; tokenId: string }> = {} as never;
const workspaces: Record<"A" | "B" | "C", string> = {} as never;

function logs(): string {
  return [...processes.map((p) => `--- ${p.name} ---\n${p.output().slice(-4000)}`), ...(nsAgent ? [`--- netns agent ---\n${nsAgent.output().slice(-4000)}`] : [])].join("\n");
}

function agentEnv(pool: "A" | "B" | "C", name: string, addr = address): Record<string, string> {
  return {
    TARMAC_AGENT_TOKEN: pools[pool].token,
    TARMAC_ADDRESS: addr,
    TARMAC_AGENT_NAME: name,
    TARMAC_AGENT_CAPACITY: "1",
    TARMAC_AGENT_PING_INTERVAL_MS: "500",
    TARMAC_AGENT_POLL_WAIT_MS: "5000",
    TARMAC_HEARTBEAT_INTERVAL_MS: "500",
    TARMAC_TERRAFORM_BIN: terraformDoublePath,
    TARMAC_WORK_DIR: path.join(workDir, `agent-${name}`),
    SHUTDOWN_TIMEOUT_MS: "4000",
    NODE_EXTRA_CA_CERTS: certs.caCert,
    LOG_LEVEL: "info",
    // Nothing else: an agent is given no database, Redis or NATS address.
    DATABASE_URL: "",
    REDIS_URL: "",
    NATS_URL: "",
  };
}

async function startAgent(pool: "A" | "B" | "C", name: string): Promise<StartedProcess> {
  const agent = await startApp("agent", agentEnv(pool, name));
  processes.push(agent);
  agents.set(name, agent);
  await waitFor(async () => ((await db.agent.count({ where: { name, status: { in: ["idle", "busy"] } } })) > 0 ? true : undefined), {
    timeoutMs: START_TIMEOUT_MS,
    intervalMs: 200,
    what: `agent ${name} to register`,
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n${agent.output()}`);
  });
  return agent;
}

async function createWorkspace(autoApply: boolean): Promise<string> {
  const ws = await api.post(`/organizations/${org}/workspaces`, { data: { type: "workspaces", attributes: { name: `ws-${hex(3)}`, "auto-apply": autoApply } } });
  expect(ws.status).toBe(201);
  return ws.body.data.id as string;
}

/** Uploads a configuration and starts a run on it; returns the run id. */
async function startRun(wsId: string, files: Record<string, string>, attributes: Record<string, unknown> = {}): Promise<string> {
  const cv = await api.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: "configuration-versions", attributes: { "auto-queue-runs": false } } });
  expect(cv.status).toBe(201);
  const upload = await httpsRequest(cv.body.data.attributes["upload-url"] as string, { ca: certs.ca, method: "PUT", body: (await makeArchive(files)) as unknown as string });
  expect(upload.status).toBe(200);
  await waitFor(async () => ((await api.get(`/configuration-versions/${cv.body.data.id}`)).body.data.attributes.status === "uploaded" ? true : undefined), {
    timeoutMs: 20_000,
    what: "configuration uploaded",
  });
  const run = await api.post("/runs", {
    data: {
      type: "runs",
      attributes: { message: "agents", ...attributes },
      relationships: { workspace: { data: { type: "workspaces", id: wsId } }, "configuration-version": { data: { type: "configuration-versions", id: cv.body.data.id } } },
    },
  });
  if (run.status !== 201) throw new Error(`POST /runs answered ${run.status}: ${run.text}`);
  return run.body.data.id as string;
}

const FINAL = ["applied", "planned_and_finished", "errored", "canceled", "discarded", "force_canceled"];

async function waitForStatus(runId: string, status: string, timeoutMs = 60_000): Promise<void> {
  const seen = await waitFor(
    async () => {
      const s = (await api.get(`/runs/${runId}`)).body.data.attributes.status as string;
      return s === status || FINAL.includes(s) ? s : undefined;
    },
    { timeoutMs, intervalMs: 250, what: `run ${runId} to be ${status}` },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${logs()}`);
  });
  if (seen !== status) throw new Error(`run ${runId} ended ${seen} while waiting for ${status}\n${logs()}`);
}

async function runStatus(runId: string): Promise<string> {
  return (await api.get(`/runs/${runId}`)).body.data.attributes.status as string;
}

async function executionDetails(runId: string, phase: "plan" | "apply"): Promise<Record<string, string>> {
  const res = await api.get(`/runs/${runId}/${phase}`);
  expect(res.status).toBe(200);
  return res.body.data.attributes["execution-details"] as Record<string, string>;
}

/** Whether the shared worker queue ever saw a job for this run (it must not, for agent runs). */
async function inWorkerQueue(runId: string): Promise<boolean> {
  const redis = new Redis(REDIS_URL);
  try {
    const keys = await Promise.all(["plan", "apply"].map((phase) => redis.exists(`${queueKeyPrefix(prefix)}:${phase}:${phase}-${runId}`)));
    return keys.some((n) => n === 1);
  } finally {
    redis.disconnect();
  }
}

const CONFIG = { "main.tf": `resource "null_resource" "a" {}\n` };

beforeAll(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), "tarmac-agents-"));
  certs = makeTestCertificates(path.join(workDir, "tls"));
  database = await createTestDatabase();
  db = createDb({ databaseUrl: database.url, poolSize: 3 });
  prefix = `ag${hex(4)}`;
  const common = { TARMAC_NATS_PREFIX: prefix, TARMAC_QUEUE_PREFIX: prefix, TARMAC_ENCRYPTION_KEY: randomBytes(32).toString("base64url"), REDIS_URL, NATS_URL };
  gatewayPort = await freePort();
  const internalPort = await freePort();
  address = `https://localhost:${gatewayPort}`;
  const adminToken = `admin-${hex(12)}`;
  const schedulerHealth = await freePort();
  const [gateway, scheduler] = await Promise.all([
    startApp(
      "gateway",
      {
        ...common,
        PORT: String(gatewayPort),
        DATABASE_URL: database.url,
        TARMAC_PUBLIC_URL: address,
        TARMAC_TLS_CERT_FILE: certs.cert,
        TARMAC_TLS_KEY_FILE: certs.key,
        TARMAC_INTERNAL_PORT: String(internalPort),
        TARMAC_ADMIN_TOKEN: adminToken,
        TARMAC_RATE_LIMIT_PER_SECOND: "0",
        TARMAC_RUN_LIST_RATE_LIMIT_PER_MINUTE: "0",
      },
      { readyUrl: `http://127.0.0.1:${internalPort}/readyz`, timeoutMs: START_TIMEOUT_MS },
    ),
    startApp(
      "scheduler",
      {
        ...common,
        DATABASE_URL: database.url,
        // Job URLs on the public HTTPS address: the only one an agent reaches.
        TARMAC_GATEWAY_URL: address,
        TARMAC_PUBLIC_URL: address,
        HEALTH_PORT: String(schedulerHealth),
        TARMAC_RECONCILE_INTERVAL_MS: "500",
        TARMAC_RECONCILE_GRACE_MS: "2000",
        TARMAC_HEARTBEAT_TIMEOUT_MS: "5000",
        TARMAC_AGENT_HEARTBEAT_TIMEOUT_MS: String(AGENT_TIMEOUT_MS),
        TARMAC_DB_POOL_SIZE: "6",
      },
      { readyUrl: `http://127.0.0.1:${schedulerHealth}/readyz`, timeoutMs: START_TIMEOUT_MS },
    ),
  ]);
  processes.push(gateway, scheduler);
  api = new TlsApi(address, adminToken, certs.ca);

  org = `org-${hex(4)}`;
  const created = await api.post("/organizations", { data: { type: "organizations", attributes: { name: org, email: `${org}@example.com`, "cost-estimation-enabled": false } } });
  expect(created.status).toBe(201);
  const orgId = (await db.organization.findFirstOrThrow({ where: { name: org } })).id;
  for (const key of ["A", "B", "C"] as const) {
    const pool = await createAgentPoolRow(db, orgId, { name: `pool-${key.toLowerCase()}-${hex(2)}` });
    const token = await createAgentTokenRow(db, pool.id);
    pools[key] = { ...pool, token: token.token, tokenId: token.id };
    workspaces[key] = await createWorkspace(key === "A");
    await setWorkspaceAgentPool(db, workspaces[key], pool);
  }
  await Promise.all([startAgent("A", "a1"), startAgent("A", "a2"), startAgent("B", "b1")]);
}, 240_000);

afterAll(async () => {
  nsAgent?.child.kill("SIGKILL");
  bridge?.close();
  await Promise.all(processes.map((p) => p.stop(6_000)));
  await db?.$disconnect();
  const nc = await connectNats(NATS_URL, "agents-cleanup");
  await deleteStream(nc, subjectsFor(prefix).streamName).catch(() => undefined);
  await nc.drain();
  await removeQueueKeys(prefix);
  await database?.drop();
  await rm(workDir, { recursive: true, force: true });
}, 60_000);

describe("runs on agents", () => {
  it("runs a pool's workspaces only on that pool's agents, and records the agent on the plan and the apply", async () => {
    const [runA, runB] = await Promise.all([startRun(workspaces.A, CONFIG), startRun(workspaces.B, CONFIG, { "plan-only": true })]);
    await Promise.all([waitForStatus(runA, "applied"), waitForStatus(runB, "planned_and_finished")]);

    const planA = await executionDetails(runA, "plan");
    const applyA = await executionDetails(runA, "apply");
    expect(planA).toMatchObject({ mode: "agent", "agent-pool-id": pools.A.id, "agent-pool-name": pools.A.name });
    expect(["a1", "a2"]).toContain(planA["agent-name"]);
    expect(planA["agent-id"]).toMatch(/^agent-/);
    expect(applyA).toMatchObject({ mode: "agent", "agent-pool-id": pools.A.id, "agent-pool-name": pools.A.name });
    expect(["a1", "a2"]).toContain(applyA["agent-name"]);
    const agentRow = await db.agent.findUniqueOrThrow({ where: { id: planA["agent-id"]! } });
    expect(agentRow).toMatchObject({ name: planA["agent-name"], agentPoolId: pools.A.id });

    expect(await executionDetails(runB, "plan")).toMatchObject({ mode: "agent", "agent-name": "b1", "agent-pool-id": pools.B.id, "agent-pool-name": pools.B.name });
    // Dispatch recorded the pool on the run; nothing went through the shared worker queue.
    expect((await db.run.findUniqueOrThrow({ where: { id: runA } })).agentPoolName).toBe(pools.A.name);
    expect(await inWorkerQueue(runA)).toBe(false);
    expect(await inWorkerQueue(runB)).toBe(false);
    // The phase's log went through the job URL: the durable log ends with ETX and shows the plan.
    const planDoc = await api.get(`/runs/${runA}/plan`);
    const log = await httpsRequest(planDoc.body.data.attributes["log-read-url"] as string, { ca: certs.ca });
    expect(log.text).toContain("Plan:");
  }, 120_000);

  it("errors a run whose agent is killed mid-plan, and runs the next one on another agent of the pool", async () => {
    const slow = { ...CONFIG, "terraform-double.json": JSON.stringify({ plan: { seconds: 60 } }) };
    const runId = await startRun(workspaces.A, slow);
    await waitForStatus(runId, "planning");
    const taken = await executionDetails(runId, "plan");
    const victim = taken["agent-name"]!;
    expect(["a1", "a2"]).toContain(victim);
    await agents.get(victim)!.kill();

    // Lost like a worker whose lock expired: the scheduler errors the run (it is never re-run behind the user's back).
    await waitForStatus(runId, "errored", 30_000);
    expect((await db.plan.findUniqueOrThrow({ where: { runId } })).status).toBe("errored");

    const next = await startRun(workspaces.A, CONFIG, { "plan-only": true });
    await waitForStatus(next, "planned_and_finished");
    const survivor = victim === "a1" ? "a2" : "a1";
    expect(await executionDetails(next, "plan")).toMatchObject({ "agent-name": survivor, "agent-pool-id": pools.A.id });
  }, 120_000);

  it("carries a cancel to the agent running the plan in the answer to its ping", async () => {
    const slow = { ...CONFIG, "terraform-double.json": JSON.stringify({ plan: { seconds: 60 } }) };
    const runId = await startRun(workspaces.A, slow, { "plan-only": true });
    await waitForStatus(runId, "planning");
    const cancel = await api.post(`/runs/${runId}/actions/cancel`, { comment: "stop it" });
    expect(cancel.status).toBe(202);
    // terraform was interrupted on the agent, which reported the phase canceled.
    await waitForStatus(runId, "canceled", 30_000);
    expect((await db.plan.findUniqueOrThrow({ where: { runId } })).status).toBe("canceled");
    expect((await db.agentJob.findUniqueOrThrow({ where: { runId_phase: { runId, phase: "plan" } } })).signal).toBe("SIGINT");
  }, 60_000);

  it("stops an agent whose token is revoked at its next call: it exits non-zero and says why", async () => {
    const b1 = agents.get("b1")!;
    await db.agentToken.delete({ where: { id: pools.B.tokenId } });
    const code = await waitFor(() => (b1.child.exitCode !== null ? b1.child.exitCode : undefined), { timeoutMs: 20_000, intervalMs: 100, what: "b1 to exit" });
    expect(code).not.toBe(0);
    expect(b1.output()).toMatch(/agent token was rejected \(401\): it is invalid or has been revoked/);
    // A fresh agent with the revoked token is refused at registration.
    const again = await startApp("agent", agentEnv("B", "b2"));
    processes.push(again);
    const code2 = await waitFor(() => (again.child.exitCode !== null ? again.child.exitCode : undefined), { timeoutMs: 60_000, intervalMs: 100, what: "b2 to exit" });
    expect(code2).not.toBe(0);
    expect(again.output()).toMatch(/rejected \(401\)/);
  }, 90_000);

  it("leaves a run of a pool without agents queued with a run event, until an agent in a network of its own that reaches only the gateway's HTTPS port takes it", async () => {
    const runId = await startRun(workspaces.C, CONFIG, { "plan-only": true });
    await waitForStatus(runId, "plan_queued");
    const waiting = await waitFor(
      async () => {
        const events = await api.get(`/runs/${runId}/run-events`);
        return (events.body.data as Array<{ attributes: { description: string | null } }>).find((e) => e.attributes.description === `Waiting for an agent in pool ${pools.C.name}`);
      },
      { timeoutMs: 15_000, intervalMs: 250, what: "the waiting-for-agent run event" },
    );
    expect(waiting).toBeDefined();
    // Several reconcile rounds later it is still queued, not errored.
    await new Promise((resolve) => setTimeout(resolve, AGENT_TIMEOUT_MS + 1_000));
    expect(await runStatus(runId)).toBe("plan_queued");

    // The bridge out of the namespace: a Unix socket (the filesystem is shared) to the gateway's HTTPS port, nothing else.
    const socketPath = path.join(workDir, "gateway.sock");
    bridge = net.createServer((inbound) => {
      const outbound = net.connect(gatewayPort, "127.0.0.1");
      inbound.pipe(outbound).pipe(inbound);
      inbound.on("error", () => outbound.destroy());
      outbound.on("error", () => inbound.destroy());
    });
    await new Promise<void>((resolve) => bridge!.listen(socketPath, resolve));
    const external = Object.values(os.networkInterfaces()).flat().find((i) => i && i.family === "IPv4" && !i.internal)?.address;
    const probes = ["127.0.0.1:5432", "127.0.0.1:6379", "127.0.0.1:4222", ...(external ? [`${external}:5432`, `${external}:6379`] : [])];
    const [tsx, tsxArgs] = appCommand("agent");
    const child = spawn(
      "unshare",
      ["--net", "--", process.execPath, path.join(REPO_ROOT, "tests", "e2e", "netns-launch.cjs"), String(gatewayPort), socketPath, probes.join(","), "--", tsx, ...tsxArgs],
      { cwd: REPO_ROOT, env: { ...process.env, ...agentEnv("C", "c1-netns") }, stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    nsAgent = { child, output: () => out, exited: new Promise((resolve) => child.once("exit", (code) => resolve(code))) };

    const probeLine = await waitFor(() => /^PROBE (.*)$/m.exec(out)?.[1], { timeoutMs: 30_000, intervalMs: 100, what: "the namespace's connectivity probe" }).catch((err: Error) => {
      throw new Error(`${err.message}\n${out}`);
    });
    const results = JSON.parse(probeLine) as Array<{ target: string; connected: boolean; error?: string }>;
    expect(results).toHaveLength(probes.length);
    // PostgreSQL, Redis and NATS are unreachable from inside: refused on loopback, no route elsewhere.
    for (const r of results) expect(r).toMatchObject({ connected: false });

    await waitForStatus(runId, "planned_and_finished", 90_000);
    expect(await executionDetails(runId, "plan")).toMatchObject({ mode: "agent", "agent-name": "c1-netns", "agent-pool-id": pools.C.id, "agent-pool-name": pools.C.name });
    const registered = await db.agent.findFirstOrThrow({ where: { name: "c1-netns" } });
    // It reached the gateway through the bridge (from the gateway's view, the loopback).
    expect(registered.ipAddress).toMatch(/127\.0\.0\.1/);

    child.kill("SIGTERM");
    expect(await nsAgent.exited).toBe(0);
    expect((await db.agent.findUniqueOrThrow({ where: { id: registered.id } })).status).toBe("exited");
  }, 150_000);
});
