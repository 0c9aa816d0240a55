import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { gunzipSync } from "node:zlib";
import os from "node:os";
import path from "node:path";
import { create as createTar } from "tar";
import { subjectsFor } from "@tarmac/contracts";
import { connectNats, deleteStream } from "@tarmac/events";
import { readDoubleRecord, terraformDoublePath, type DoubleInvocation } from "@tarmac/terraform/test";
import {
  ApiClient,
  createTestDatabase,
  freePort,
  startApp,
  waitFor,
  type StartedGateway,
  type StartedProcess,
  type TestDatabase,
} from "@tarmac/testing";

/**
 * The whole engine as real processes (gateway with its outbox relay, schedulers, workers) on
 * the machine's PostgreSQL, Redis and NATS, isolated by a fresh database, NATS prefix and
 * BullMQ prefix; the tests drive it over the TFE API only.
 */
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";

const hex = (n: number) => randomBytes(n).toString("hex");

export interface StackOptions {
  schedulers?: number;
  workers?: number;
  /** Added to every process's environment (e.g. OTEL_EXPORTER_OTLP_ENDPOINT). */
  env?: Record<string, string>;
  /** The workers' terraform: the test double unless given (e.g. "terraform", the real one on PATH). */
  terraformBin?: string;
  /** Notifier processes started with the stack (none unless asked). */
  notifiers?: number;
  /** Added to every notifier's environment. */
  notifierEnv?: Record<string, string>;
}

export interface Stack {
  api: ApiClient;
  gateway: StartedGateway;
  schedulers: StartedProcess[];
  workers: StartedProcess[];
  notifiers: StartedProcess[];
  /** BullMQ key prefix shared by the scheduler and the workers. */
  queuePrefix: string;
  /** Every terraform invocation of every worker (TF_DOUBLE_RECORD). */
  invocations(): Promise<DoubleInvocation[]>;
  startScheduler(): Promise<StartedProcess>;
  startWorker(): Promise<StartedProcess>;
  startNotifier(): Promise<StartedProcess>;
  stop(): Promise<void>;
}

/** Intervals short enough that recovery happens within a test's patience. */
export const FAST_ENGINE_ENV = {
  TARMAC_RECONCILE_INTERVAL_MS: "500",
  TARMAC_HEARTBEAT_TIMEOUT_MS: "3000",
  TARMAC_RECONCILE_GRACE_MS: "2000",
};

const START_TIMEOUT_MS = 90_000;

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const database: TestDatabase = await createTestDatabase();
  const prefix = `e2e${hex(4)}`;
  const workDir = await mkdtemp(path.join(os.tmpdir(), "tarmac-e2e-"));
  const recordFile = path.join(workDir, "terraform-record.jsonl");
  const common = {
    TARMAC_NATS_PREFIX: prefix,
    TARMAC_QUEUE_PREFIX: prefix,
    TARMAC_ENCRYPTION_KEY: randomBytes(32).toString("base64url"),
    REDIS_URL,
    NATS_URL,
    ...options.env,
  };
  const gatewayPort = await freePort();
  const gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
  const adminToken = `admin-${hex(12)}`;
  // As startGateway does, with more patience: on a loaded 2-core machine tsx alone can take half a minute.
  const gatewayProcess = await startApp(
    "gateway",
    {
      ...common,
      PORT: String(gatewayPort),
      DATABASE_URL: database.url,
      TARMAC_PUBLIC_URL: gatewayUrl,
      TARMAC_ADMIN_TOKEN: adminToken,
      TARMAC_RATE_LIMIT_PER_SECOND: "0",
      TARMAC_RUN_LIST_RATE_LIMIT_PER_MINUTE: "0",
      TARMAC_FORCE_CANCEL_COOL_OFF_MS: "1000",
    },
    { readyUrl: `${gatewayUrl}/readyz`, timeoutMs: START_TIMEOUT_MS },
  ).catch(async (err: unknown) => {
    await database.drop();
    throw err;
  });
  const gateway: StartedGateway = { url: gatewayUrl, adminToken, process: gatewayProcess, keys: { current: common.TARMAC_ENCRYPTION_KEY, previous: [] } };
  const schedulers: StartedProcess[] = [];
  const workers: StartedProcess[] = [];
  const notifiers: StartedProcess[] = [];

  const startScheduler = async () => {
    const port = await freePort();
    const scheduler = await startApp(
      "scheduler",
      { ...common, ...FAST_ENGINE_ENV, DATABASE_URL: database.url, TARMAC_GATEWAY_URL: gateway.url, SCHEDULER_HEALTH_PORT: String(port), TARMAC_DB_POOL_SIZE: "8" },
      { readyUrl: `http://127.0.0.1:${port}/readyz`, timeoutMs: START_TIMEOUT_MS },
    );
    schedulers.push(scheduler);
    return scheduler;
  };
  const startWorker = async () => {
    const port = await freePort();
    const worker = await startApp(
      "worker",
      {
        ...common,
        DATABASE_URL: "",
        TARMAC_TERRAFORM_BIN: options.terraformBin ?? terraformDoublePath,
        TARMAC_TERRAFORM_ENV_PASSTHROUGH: "TF_DOUBLE_RECORD",
        TF_DOUBLE_RECORD: recordFile,
        TARMAC_WORK_DIR: path.join(workDir, `worker-${workers.length}`),
        WORKER_HEALTH_PORT: String(port),
        TARMAC_HEARTBEAT_INTERVAL_MS: "500",
        WORKER_CONCURRENCY: "3",
        SHUTDOWN_TIMEOUT_MS: "4000",
        // Live logs sit under an unprefixed Redis key; the durable copy is the blob.
        TARMAC_LIVE_LOG_TTL_MS: "600000",
      },
      { readyUrl: `http://127.0.0.1:${port}/readyz`, timeoutMs: START_TIMEOUT_MS },
    );
    workers.push(worker);
    return worker;
  };

  const startNotifier = async () => {
    const port = await freePort();
    const notifier = await startApp(
      "notifier",
      { ...common, DATABASE_URL: database.url, TARMAC_PUBLIC_URL: gateway.url, NOTIFIER_HEALTH_PORT: String(port), ...options.notifierEnv },
      { readyUrl: `http://127.0.0.1:${port}/readyz`, timeoutMs: START_TIMEOUT_MS },
    );
    notifiers.push(notifier);
    return notifier;
  };

  try {
    await Promise.all([
      ...Array.from({ length: options.schedulers ?? 1 }, () => startScheduler()),
      ...Array.from({ length: options.workers ?? 1 }, () => startWorker()),
      ...Array.from({ length: options.notifiers ?? 0 }, () => startNotifier()),
    ]);
  } catch (err) {
    await Promise.all([...schedulers, ...workers, ...notifiers].map((p) => p.kill()));
    await gateway.process.stop();
    await database.drop();
    throw err;
  }

  return {
    api: new ApiClient(gateway.url, gateway.adminToken),
    gateway,
    schedulers,
    workers,
    notifiers,
    queuePrefix: prefix,
    invocations: () => readDoubleRecord(recordFile),
    startScheduler,
    startWorker,
    startNotifier,
    async stop() {
      await Promise.all(notifiers.map((n) => n.stop(6_000)));
      await Promise.all(workers.map((w) => w.stop(6_000)));
      await Promise.all(schedulers.map((s) => s.stop(6_000)));
      await gateway.process.stop();
      const nc = await connectNats(NATS_URL, "e2e-cleanup");
      await deleteStream(nc, subjectsFor(prefix).streamName);
      await nc.drain();
      await removeQueueKeys(prefix);
      await database.drop();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/**
 * Removes a stack's keys from the shared Redis: BullMQ's under the hash-tagged queue prefix,
 * and the scheduler's lease under the plain one.
 */
export async function removeQueueKeys(prefix: string): Promise<void> {
  const { Redis } = await import("ioredis");
  const { queueKeyPrefix } = await import("@tarmac/queues");
  const redis = new Redis(REDIS_URL);
  try {
    for (const pattern of [`${queueKeyPrefix(prefix)}:*`, `${prefix}:*`]) {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 500);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== "0");
    }
  } finally {
    await redis.quit();
  }
}

/** A tar.gz of the given files, as `tar czf` of a configuration directory would make it. */
export async function makeArchive(files: Record<string, string>): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tarmac-e2e-cfg-"));
  try {
    for (const [name, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await writeFile(path.join(dir, name), content);
    }
    const chunks: Buffer[] = [];
    const stream = createTar({ gzip: true, cwd: dir, portable: true }, Object.keys(files));
    for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
    return Buffer.concat(chunks);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The run's statuses that end it. */
export const FINAL_STATUSES = ["applied", "planned_and_finished", "planned_and_saved", "errored", "canceled", "discarded", "force_canceled"];

/** Speaks the TFE API for the scenarios: organizations, workspaces, uploads, runs, actions. */
export class Tfe {
  constructor(readonly api: ApiClient) {}

  async createWorkspace(attributes: Record<string, unknown> = {}): Promise<{ org: string; wsId: string }> {
    const org = `org-${hex(4)}`;
    // Cost estimation (on by default, as in HCP) would add a stage after `planned`.
    const orgAttributes = { name: org, email: `${org}@example.com`, "cost-estimation-enabled": false };
    const created = await this.api.post("/organizations", { data: { type: "organizations", attributes: orgAttributes } });
    expect(created.status).toBe(201);
    const ws = await this.api.post(`/organizations/${org}/workspaces`, {
      data: { type: "workspaces", attributes: { name: `ws-${hex(3)}`, ...attributes } },
    });
    expect(ws.status).toBe(201);
    return { org, wsId: ws.body.data.id as string };
  }

  async addVariable(wsId: string, attributes: { key: string; value: string; category: "terraform" | "env"; hcl?: boolean }): Promise<void> {
    const res = await this.api.post(`/workspaces/${wsId}/vars`, { data: { type: "vars", attributes } });
    expect(res.status).toBe(201);
  }

  /** Creates a configuration version and uploads the files through its upload-url. */
  async upload(wsId: string, files: Record<string, string>, attributes: Record<string, unknown> = { "auto-queue-runs": false }): Promise<string> {
    const cv = await this.api.post(`/workspaces/${wsId}/configuration-versions`, { data: { type: "configuration-versions", attributes } });
    expect(cv.status).toBe(201);
    const upload = await fetch(cv.body.data.attributes["upload-url"] as string, { method: "PUT", body: new Uint8Array(await makeArchive(files)) });
    expect(upload.status).toBe(200);
    return cv.body.data.id as string;
  }

  async createRun(wsId: string, cvId: string | null, attributes: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<string> {
    const relationships: Record<string, unknown> = { workspace: { data: { type: "workspaces", id: wsId } } };
    if (cvId) relationships["configuration-version"] = { data: { type: "configuration-versions", id: cvId } };
    const body = { data: { type: "runs", attributes: { message: "e2e", ...attributes }, relationships } };
    const created = await this.api.request("POST", "/runs", body, headers);
    if (created.status !== 201) throw new Error(`POST /runs answered ${created.status}: ${created.text}`);
    return created.body.data.id as string;
  }

  async run(runId: string): Promise<{ id: string; attributes: Record<string, any>; relationships: Record<string, any> }> {
    const r = await this.api.get(`/runs/${runId}`);
    expect(r.status).toBe(200);
    return r.body.data;
  }

  async status(runId: string): Promise<string> {
    return (await this.run(runId)).attributes.status as string;
  }

  action(runId: string, action: "apply" | "discard" | "cancel" | "force-cancel" | "force-execute", comment?: string) {
    return this.api.post(`/runs/${runId}/actions/${action}`, comment ? { comment } : undefined);
  }

  /** Waits until the run is in `status`; fails at once if it ends in another status. */
  async waitForStatus(runId: string, status: string, timeoutMs = 45_000) {
    const run = await waitFor(
      async () => {
        const run = await this.run(runId);
        const current = run.attributes.status as string;
        return current === status || FINAL_STATUSES.includes(current) ? run : undefined;
      },
      { timeoutMs, intervalMs: 200, what: `run ${runId} to be ${status}` },
    );
    if (run.attributes.status !== status) throw new Error(`run ${runId} ended ${run.attributes.status} while waiting for ${status}`);
    return run;
  }

  async readLog(url: string): Promise<string> {
    const res = await fetch(url);
    return Buffer.from(await res.arrayBuffer()).toString("utf8");
  }
}

export const NULL_RESOURCE = `resource "null_resource" "a" {}\n`;

/** The plan invocations whose environment carries this marker (a workspace env variable). */
export function plansMarked(invocations: DoubleInvocation[], marker: string): DoubleInvocation[] {
  return invocations.filter((i) => i.env?.TF_VAR_marker === marker && i.argv.includes("plan"));
}

export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  attributes: Record<string, unknown>;
}

export interface OtlpReceiver {
  /** Base endpoint for OTEL_EXPORTER_OTLP_ENDPOINT (`/v1/traces` is appended by the exporter). */
  endpoint: string;
  spans: ReceivedSpan[];
  /** Bodies that were not OTLP/JSON (e.g. protobuf): a test asserting on spans should see none. */
  unreadable: number;
  close(): Promise<void>;
}

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
  doubleValue?: number;
}

const otlpValue = (v: OtlpValue | undefined): unknown => v?.stringValue ?? v?.intValue ?? v?.boolValue ?? v?.doubleValue;

/** A minimal OTLP/HTTP trace receiver (JSON encoding, what @opentelemetry/exporter-trace-otlp-http sends). */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const spans: ReceivedSpan[] = [];
  const receiver = { spans, unreadable: 0 } as OtlpReceiver;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      let body = Buffer.concat(chunks);
      if (req.headers["content-encoding"] === "gzip") body = gunzipSync(body);
      if (req.method !== "POST" || req.url !== "/v1/traces" || !String(req.headers["content-type"]).includes("json")) {
        receiver.unreadable++;
        res.writeHead(req.url === "/v1/traces" ? 415 : 404).end();
        return;
      }
      const doc = JSON.parse(body.toString("utf8")) as {
        resourceSpans?: Array<{
          resource?: { attributes?: Array<{ key: string; value?: OtlpValue }> };
          scopeSpans?: Array<{ spans?: Array<{ traceId: string; spanId: string; parentSpanId?: string; name: string; attributes?: Array<{ key: string; value?: OtlpValue }> }> }>;
        }>;
      };
      for (const rs of doc.resourceSpans ?? []) {
        const service = String(otlpValue(rs.resource?.attributes?.find((a) => a.key === "service.name")?.value) ?? "");
        for (const ss of rs.scopeSpans ?? []) {
          for (const span of ss.spans ?? []) {
            spans.push({
              service,
              traceId: span.traceId,
              spanId: span.spanId,
              parentSpanId: span.parentSpanId ?? "",
              name: span.name,
              attributes: Object.fromEntries((span.attributes ?? []).map((a) => [a.key, otlpValue(a.value)])),
            });
          }
        }
      }
      res.writeHead(200, { "Content-Type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address !== "object") throw new Error("receiver has no port");
  receiver.endpoint = `http://127.0.0.1:${address.port}`;
  receiver.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return receiver;
}
