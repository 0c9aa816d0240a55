import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { create as createTar } from "tar";
import { ApiClient, freePort, startApp, startGateway, type StartedGateway, type StartedProcess } from "@tarmac/testing";
import { terraformDoublePath } from "@tarmac/terraform/test";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
/**
 * The apps run as production runs them, from their build output (`turbo run build`, which
 * `npm run bench` runs first); BENCH_RUNTIME=tsx runs their TypeScript through tsx instead.
 */
export const COMPILED = process.env.BENCH_RUNTIME !== "tsx";
/** BENCH_CPU_PROF=<dir>: each app writes a V8 CPU profile there when it stops (node --cpu-prof). */
/** BENCH_NODE_ARGS: more flags for node itself, space-separated (e.g. V8 heap settings, to measure them). */
const nodeArgs = [
  ...(process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : []),
  ...(process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((a) => a !== ""),
];

export interface Stack {
  prefix: string;
  gateway: StartedGateway;
  api: ApiClient;
  scheduler?: StartedProcess;
  worker?: StartedProcess;
  workDir: string;
}

/** Environment shared by the three apps of one benchmark deployment. */
function commonEnv(prefix: string, key: string): Record<string, string> {
  return { TARMAC_NATS_PREFIX: prefix, TARMAC_QUEUE_PREFIX: prefix, TARMAC_ENCRYPTION_KEY: key, REDIS_URL, NATS_URL, LOG_LEVEL: "warn" };
}

// One deployment key per benchmark stack, 43 characters like a production key.
const KEY_SALT = randomBytes(16).toString("hex");
const keyOf = (prefix: string) => createHash("sha256").update(`${KEY_SALT}:${prefix}`).digest("base64url");

export async function startGatewayFor(databaseUrl: string, prefix = `bench${randomBytes(4).toString("hex")}`): Promise<Stack> {
  const gatewayEnv = process.env.BENCH_GATEWAY_ENV ? (JSON.parse(process.env.BENCH_GATEWAY_ENV) as Record<string, string>) : {};
  const gateway = await startGateway(
    databaseUrl,
    {
      ...commonEnv(prefix, keyOf(prefix)),
      // The benchmark token must never be throttled: both limits off.
      TARMAC_RATE_LIMIT_PER_SECOND: "0",
      TARMAC_RUN_LIST_RATE_LIMIT_PER_MINUTE: "0",
      ...gatewayEnv,
    },
    { compiled: COMPILED, nodeArgs },
  );
  // With several gateway processes, readiness is the first one's: the others boot on (and their
  // boot would count as CPU of the measured requests), so give them time to finish.
  const processes = Number(gatewayEnv.TARMAC_GATEWAY_PROCESSES ?? "1");
  if (processes > 1) await new Promise((r) => setTimeout(r, Number(process.env.BENCH_GATEWAY_SETTLE_MS ?? 20_000)));
  const workDir = await mkdtemp(path.join(os.tmpdir(), "tarmac-bench-work-"));
  return { prefix, gateway, api: new ApiClient(gateway.url, gateway.adminToken), workDir };
}

/** Starts the scheduler and the worker (terraform = the test double) next to the gateway. */
export async function startEngine(stack: Stack, databaseUrl: string, workerConcurrency: number): Promise<void> {
  const env = commonEnv(stack.prefix, keyOf(stack.prefix));
  const schedulerPort = await freePort();
  stack.scheduler = await startApp(
    "scheduler",
    { ...env, DATABASE_URL: databaseUrl, TARMAC_GATEWAY_URL: stack.gateway.url, HEALTH_PORT: String(schedulerPort) },
    { readyUrl: `http://127.0.0.1:${schedulerPort}/readyz`, timeoutMs: 60_000, compiled: COMPILED, nodeArgs },
  );
  const workerPort = await freePort();
  stack.worker = await startApp(
    "worker",
    {
      ...env,
      DATABASE_URL: "",
      TARMAC_TERRAFORM_BIN: terraformDoublePath,
      WORKER_CONCURRENCY: String(workerConcurrency),
      TARMAC_WORK_DIR: path.join(stack.workDir, "worker"),
      HEALTH_PORT: String(workerPort),
    },
    { readyUrl: `http://127.0.0.1:${workerPort}/readyz`, timeoutMs: 60_000, compiled: COMPILED, nodeArgs },
  );
}

/**
 * Fresh processes of the same deployment (database, prefix, key): a process's memory and caches
 * then show what the next scenario does, not what earlier ones left behind.
 */
export async function restartStack(stack: Stack, databaseUrl: string, workerConcurrency: number): Promise<Stack> {
  await stopEngine(stack);
  await stack.gateway.process.stop(15_000);
  await rm(stack.workDir, { recursive: true, force: true });
  const fresh = await startGatewayFor(databaseUrl, stack.prefix);
  await startEngine(fresh, databaseUrl, workerConcurrency);
  return fresh;
}

export async function stopEngine(stack: Stack): Promise<void> {
  await stack.worker?.stop(15_000);
  await stack.scheduler?.stop(15_000);
  stack.worker = undefined;
  stack.scheduler = undefined;
}

/** A tar.gz of the given files, as `terraform` uploads a configuration. */
export async function makeArchive(files: Record<string, string>): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tarmac-bench-cfg-"));
  try {
    const root = path.join(dir, "cfg");
    await mkdir(root);
    for (const [name, content] of Object.entries(files)) await writeFile(path.join(root, name), content);
    const out = path.join(dir, "cfg.tar.gz");
    await createTar({ gzip: true, file: out, cwd: root, portable: true }, Object.keys(files));
    return await readFile(out);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Setup calls (not measured) are retried on a 5xx a few times: a transient failure on a busy
 * machine must not throw away a nine-minute run. Each retry is reported.
 */
async function retrying<R extends { status: number; text: string }>(what: string, call: () => Promise<R>): Promise<R> {
  for (let attempt = 1; ; attempt++) {
    const res = await call();
    if (res.status < 500 || attempt === 3) return res;
    process.stderr.write(`[bench] ${what}: ${res.status} ${res.text.slice(0, 300)}; retrying\n`);
    await new Promise((r) => setTimeout(r, 1000 * attempt));
  }
}

function expectStatus(what: string, res: { status: number; text: string }, status: number): void {
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
}

export async function createOrganization(api: ApiClient, name: string): Promise<string> {
  const res = await api.post("/organizations", { data: { type: "organizations", attributes: { name, email: `${name}@example.com` } } });
  expectStatus("create organization", res, 201);
  return res.body.data.id as string;
}

export async function createWorkspace(api: ApiClient, org: string, name: string, attributes: Record<string, unknown> = {}): Promise<string> {
  const res = await retrying(`create workspace ${name}`, () =>
    api.post(`/organizations/${org}/workspaces`, { data: { type: "workspaces", attributes: { name, ...attributes } } }),
  );
  expectStatus(`create workspace ${name}`, res, 201);
  return res.body.data.id as string;
}

/** A configuration version with the archive uploaded through its upload-url. */
export async function uploadConfiguration(api: ApiClient, workspaceId: string, archive: Buffer): Promise<string> {
  const cv = await retrying("create configuration version", () =>
    api.post(`/workspaces/${workspaceId}/configuration-versions`, {
      data: { type: "configuration-versions", attributes: { "auto-queue-runs": false } },
    }),
  );
  expectStatus("create configuration version", cv, 201);
  const upload = await fetch(cv.body.data.attributes["upload-url"] as string, { method: "PUT", body: new Uint8Array(archive) });
  if (upload.status !== 200) throw new Error(`upload: ${upload.status} ${await upload.text()}`);
  return cv.body.data.id as string;
}

export async function lockWorkspace(api: ApiClient, workspaceId: string): Promise<void> {
  expectStatus("lock workspace", await retrying("lock workspace", () => api.post(`/workspaces/${workspaceId}/actions/lock`, { reason: "benchmark" })), 200);
}

export function runBody(workspaceId: string, cvId: string, attributes: Record<string, unknown> = {}): object {
  return {
    data: {
      type: "runs",
      attributes: { message: "benchmark", ...attributes },
      relationships: {
        workspace: { data: { type: "workspaces", id: workspaceId } },
        "configuration-version": { data: { type: "configuration-versions", id: cvId } },
      },
    },
  };
}

export async function createRun(api: ApiClient, workspaceId: string, cvId: string, attributes: Record<string, unknown> = {}): Promise<string> {
  const res = await retrying("create run", () => api.post("/runs", runBody(workspaceId, cvId, attributes)));
  expectStatus("create run", res, 201);
  return res.body.data.id as string;
}
