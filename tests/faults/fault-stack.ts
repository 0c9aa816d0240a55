import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { terraformDoublePath } from "@tarmac/terraform/test";
import { ApiClient, freePort, startApp, waitFor, type StartedProcess } from "@tarmac/testing";
import { FINAL_STATUSES, makeArchive } from "../e2e/stack";
import { startOwnInfra, type OwnInfra } from "./infra";

/**
 * The real gateway, scheduler and worker processes on a fault test's own PostgreSQL, Redis and
 * NATS (see infra.ts), driven over the TFE API. Probes count what a fault cost: runs lost,
 * runs errored, the time to recover and the 5xx answers seen.
 */

const hex = (n: number) => randomBytes(n).toString("hex");
const START_TIMEOUT_MS = 120_000;

/** Reconcile often; a phase whose heartbeat events stop is suspect after 4 s (NATS outages last longer). */
export const FAULT_ENGINE_ENV = {
  TARMAC_RECONCILE_INTERVAL_MS: "500",
  TARMAC_HEARTBEAT_TIMEOUT_MS: "4000",
  TARMAC_RECONCILE_GRACE_MS: "2000",
};

export interface FaultStack {
  infra: OwnInfra;
  api: ApiClient;
  gatewayUrl: string;
  workDir: string;
  gateway: StartedProcess;
  schedulers: StartedProcess[];
  workers: StartedProcess[];
  startScheduler(): Promise<StartedProcess>;
  startWorker(): Promise<StartedProcess>;
  /** 5xx answers the probe's own API calls got. */
  serverErrors: number;
  /** Of those, the ones that were not a dependency-outage answer (503 + Retry-After + JSON:API error document): 500s and the like. */
  improperErrors: string[];
  stop(): Promise<void>;
}

export async function startFaultStack(): Promise<FaultStack> {
  const infra = await startOwnInfra();
  const prefix = `flt${hex(3)}`;
  const workDir = await mkdtemp(path.join(os.tmpdir(), "tarmac-faults-"));
  const common = {
    TARMAC_NATS_PREFIX: prefix,
    TARMAC_QUEUE_PREFIX: prefix,
    TARMAC_ENCRYPTION_KEY: `key-${hex(8)}`,
    REDIS_URL: infra.redis.url,
    NATS_URL: infra.nats.url,
  };
  const gatewayPort = await freePort();
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const adminToken = `admin-${hex(12)}`;
  const gateway = await startApp(
    "gateway",
    {
      ...common,
      PORT: String(gatewayPort),
      DATABASE_URL: infra.pg.url,
      TARMAC_PUBLIC_URL: gatewayUrl,
      TARMAC_ADMIN_TOKEN: adminToken,
      TARMAC_RATE_LIMIT_PER_SECOND: "0",
      TARMAC_RUN_LIST_RATE_LIMIT_PER_MINUTE: "0",
    },
    { readyUrl: `${gatewayUrl}/readyz`, timeoutMs: START_TIMEOUT_MS },
  ).catch(async (err: unknown) => {
    await infra.destroy();
    throw err;
  });
  const schedulers: StartedProcess[] = [];
  const workers: StartedProcess[] = [];
  const stack: FaultStack = {
    infra,
    api: new ApiClient(gatewayUrl, adminToken),
    gatewayUrl,
    workDir,
    gateway,
    schedulers,
    workers,
    serverErrors: 0,
    improperErrors: [],
    async startScheduler() {
      const port = await freePort();
      const scheduler = await startApp(
        "scheduler",
        { ...common, ...FAULT_ENGINE_ENV, DATABASE_URL: infra.pg.url, TARMAC_GATEWAY_URL: gatewayUrl, HEALTH_PORT: String(port), TARMAC_DB_POOL_SIZE: "6" },
        { readyUrl: `http://127.0.0.1:${port}/readyz`, timeoutMs: START_TIMEOUT_MS },
      );
      schedulers.push(scheduler);
      return scheduler;
    },
    async startWorker() {
      const port = await freePort();
      const worker = await startApp(
        "worker",
        {
          ...common,
          DATABASE_URL: "",
          TARMAC_TERRAFORM_BIN: terraformDoublePath,
          // Every worker of the stack shares one work dir, as workers of one machine do.
          TARMAC_WORK_DIR: path.join(workDir, "sandboxes"),
          HEALTH_PORT: String(port),
          TARMAC_HEARTBEAT_INTERVAL_MS: "500",
          WORKER_CONCURRENCY: "4",
          SHUTDOWN_TIMEOUT_MS: "4000",
        },
        { readyUrl: `http://127.0.0.1:${port}/readyz`, timeoutMs: START_TIMEOUT_MS },
      );
      workers.push(worker);
      return worker;
    },
    async stop() {
      await Promise.all(workers.map((w) => w.stop(6_000)));
      await Promise.all(schedulers.map((s) => s.stop(6_000)));
      await gateway.stop(6_000);
      await infra.destroy();
      await rm(workDir, { recursive: true, force: true });
    },
  };
  try {
    await Promise.all([stack.startScheduler(), stack.startWorker()]);
  } catch (err) {
    await stack.stop();
    throw err;
  }
  return stack;
}

/** A terraform-double script: how long each phase takes. */
export function timedConfiguration(planSeconds: number, applySeconds = 0): Record<string, string> {
  return {
    "main.tf": `resource "null_resource" "a" {}\n`,
    "terraform-double.json": JSON.stringify({ plan: { seconds: planSeconds }, apply: { seconds: applySeconds } }),
  };
}

/** Internal error text an outage answer must not show. */
const INTERNAL_TEXT = /127\.0\.0\.1|ECONNREFUSED|ECONNRESET|Can't reach|prisma|P10\d\d|postgres(ql)?:\/\/|redis:\/\/|at .*\.[tj]s/i;

/**
 * Counts a 5xx answer; one that is not a proper outage answer (503, Retry-After in seconds,
 * a JSON:API error document with status "503" and no internal text) is recorded as improper.
 */
export function countServerError(stack: FaultStack, label: string, res: { status: number; headers: Headers; text: string }): void {
  if (res.status < 500) return;
  stack.serverErrors++;
  let doc: any;
  try {
    doc = JSON.parse(res.text);
  } catch {
    doc = undefined;
  }
  const proper =
    res.status === 503 &&
    /^\d+$/.test(res.headers.get("retry-after") ?? "") &&
    /^application\/vnd\.api\+json/.test(res.headers.get("content-type") ?? "") &&
    Array.isArray(doc?.errors) &&
    doc.errors.every((e: any) => e.status === "503") &&
    !INTERNAL_TEXT.test(res.text);
  if (!proper) stack.improperErrors.push(`${label} ${res.status} retry-after=${res.headers.get("retry-after")} ${res.text.slice(0, 200)}`);
}

async function must(stack: FaultStack, method: "GET" | "POST", url: string, body?: unknown): Promise<any> {
  const res = await stack.api.request(method, url, body);
  countServerError(stack, `${method} ${url}`, res);
  if (res.status >= 300) throw new Error(`${method} ${url} answered ${res.status}: ${res.text}`);
  return res.body;
}

/**
 * Creates `count` auto-apply workspaces, each with an uploaded configuration, and queues one
 * run in each; returns the run ids.
 */
export async function queueRuns(stack: FaultStack, count: number, files: Record<string, string>): Promise<string[]> {
  const org = `org-${hex(4)}`;
  await must(stack, "POST", "/organizations", {
    data: { type: "organizations", attributes: { name: org, email: `${org}@example.com`, "cost-estimation-enabled": false } },
  });
  const archive = await makeArchive(files);
  const runs: string[] = [];
  for (let i = 0; i < count; i++) {
    const ws = await must(stack, "POST", `/organizations/${org}/workspaces`, {
      data: { type: "workspaces", attributes: { name: `ws-${i}-${hex(2)}`, "auto-apply": true } },
    });
    const wsId = ws.data.id as string;
    const cv = await must(stack, "POST", `/workspaces/${wsId}/configuration-versions`, {
      data: { type: "configuration-versions", attributes: { "auto-queue-runs": false } },
    });
    const upload = await fetch(cv.data.attributes["upload-url"] as string, { method: "PUT", body: new Uint8Array(archive) });
    if (upload.status !== 200) throw new Error(`upload answered ${upload.status}`);
    const run = await must(stack, "POST", "/runs", {
      data: {
        type: "runs",
        attributes: { message: "fault probe" },
        relationships: {
          workspace: { data: { type: "workspaces", id: wsId } },
          "configuration-version": { data: { type: "configuration-versions", id: cv.data.id } },
        },
      },
    });
    runs.push(run.data.id as string);
  }
  return runs;
}

/** Each run's status; a 5xx (a dependency is down) is counted and leaves the status unknown. */
export async function statusesOf(stack: FaultStack, runs: string[]): Promise<(string | null)[]> {
  return Promise.all(
    runs.map(async (id) => {
      const res = await stack.api.get(`/runs/${id}`).catch(() => null);
      if (!res) return null;
      countServerError(stack, `GET /runs/${id}`, res);
      return res.status === 200 ? (res.body.data.attributes.status as string) : null;
    }),
  );
}

export async function waitForStatuses(stack: FaultStack, runs: string[], accept: (status: string) => boolean, timeoutMs: number, what: string): Promise<string[]> {
  return waitFor(
    async () => {
      const statuses = await statusesOf(stack, runs);
      return statuses.every((s) => s !== null && accept(s)) ? (statuses as string[]) : undefined;
    },
    { timeoutMs, intervalMs: 500, what },
  );
}

export const isFinal = (s: string) => FINAL_STATUSES.includes(s);

export interface ProbeFigures {
  probe: string;
  runs: number;
  runsLost: number;
  runsErrored: number;
  recoverySeconds: number;
  serverErrors: number;
  /** 5xx answers other than 503 + Retry-After + JSON:API document (must be 0). */
  improperServerErrors: number;
  /** Of those, 500 Internal Server Error answers. */
  internalErrors: number;
}

/**
 * Waits for every run to end (up to `timeoutMs`), then prints and returns the probe's figures:
 * a run that has not ended by then is lost.
 */
export async function settleAndReport(stack: FaultStack, probe: string, runs: string[], faultEndedAt: number, timeoutMs: number): Promise<ProbeFigures & { statuses: (string | null)[] }> {
  let statuses: (string | null)[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    statuses = await statusesOf(stack, runs);
    if (statuses.every((s) => s !== null && isFinal(s)) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const figures: ProbeFigures = {
    probe,
    runs: runs.length,
    runsLost: statuses.filter((s) => s === null || !isFinal(s)).length,
    runsErrored: statuses.filter((s) => s === "errored").length,
    recoverySeconds: Math.round((Date.now() - faultEndedAt) / 100) / 10,
    serverErrors: stack.serverErrors,
    improperServerErrors: stack.improperErrors.length,
    internalErrors: stack.improperErrors.filter((e) => / 500 /.test(e)).length,
  };
  process.stdout.write(`FAULT PROBE ${JSON.stringify(figures)} statuses=${JSON.stringify(statuses)}\n`);
  for (const e of stack.improperErrors.slice(0, 5)) process.stdout.write(`FAULT PROBE improper 5xx: ${e}\n`);
  if (figures.runsErrored > 0 || figures.runsLost > 0) {
    // What the engine said about it: its warnings and errors name the path that failed the run.
    for (const p of [...stack.schedulers, ...stack.workers]) {
      const lines = p.output().split("\n").filter((l) => /"level":(40|50|"warn"|"error")/.test(l));
      for (const l of lines.slice(-15)) process.stdout.write(`FAULT PROBE ${p.name}: ${l.slice(0, 400)}\n`);
    }
  }
  return { ...figures, statuses };
}

/** The sandbox directories under the workers' shared work dir (per worker process, then per job). */
export async function sandboxDirs(stack: FaultStack): Promise<string[]> {
  const root = path.join(stack.workDir, "sandboxes");
  const out: string[] = [];
  for (const proc of await readdir(root).catch(() => [] as string[])) {
    for (const entry of await readdir(path.join(root, proc)).catch(() => [] as string[])) {
      if (entry !== "owner.json") out.push(path.join(proc, entry));
    }
  }
  return out;
}
