import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { checkCapability } from "@tarmac/contracts";
import { ApiClient, createTestDatabase, freePort, startApp, waitFor, type AppName, type StartedProcess, type TestDatabase } from "@tarmac/testing";

/**
 * The processes that hold the deployment key refuse to start in production without a strong
 * one, and in development agree on one generated key file.
 */

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";

let database: TestDatabase;
let dir: string;
const started: StartedProcess[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  dir = await mkdtemp(path.join(os.tmpdir(), "tarmac-key-boot-"));
}, 60_000);

afterAll(async () => {
  for (const p of started) await p.stop();
  await database?.drop();
  await rm(dir, { recursive: true, force: true });
}, 60_000);

async function exitOf(app: AppName, env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const proc = await startApp(app, { DATABASE_URL: database.url, REDIS_URL, NATS_URL, HEALTH_PORT: "0", PORT: String(await freePort()), ...env });
  started.push(proc);
  const code = await waitFor(() => (proc.child.exitCode !== null ? proc.child.exitCode : undefined), { timeoutMs: 30_000, what: `${app} to exit` });
  return { code, output: proc.output() };
}

describe("in production (NODE_ENV=production)", () => {
  it.each(["gateway", "scheduler"] as const)("the %s refuses to start without a key, or with a short one, naming the variable", async (app) => {
    const file = path.join(dir, `${app}-never.key`);
    const missing = await exitOf(app, { NODE_ENV: "production", TARMAC_ENCRYPTION_KEY: "", TARMAC_ENCRYPTION_KEY_FILE: file });
    expect(missing.code).not.toBe(0);
    expect(missing.output).toMatch(/TARMAC_ENCRYPTION_KEY: is required when NODE_ENV=production/);
    const short = await exitOf(app, { NODE_ENV: "production", TARMAC_ENCRYPTION_KEY: randomBytes(16).toString("base64url"), TARMAC_ENCRYPTION_KEY_FILE: file });
    expect(short.code).not.toBe(0);
    expect(short.output).toMatch(/TARMAC_ENCRYPTION_KEY: must be at least 43 characters/);
    // Production never falls back to a generated key.
    await expect(stat(file)).rejects.toThrow(/ENOENT/);
  }, 60_000);

  it("the gateway refuses the former built-in default key even in development", async () => {
    const { code, output } = await exitOf("gateway", { TARMAC_ENCRYPTION_KEY: "tarmac-development-key-change-me" });
    expect(code).not.toBe(0);
    expect(output).toMatch(/TARMAC_ENCRYPTION_KEY: is a publicly known key/);
  }, 60_000);
});

describe("in development without a key", () => {
  it("the gateway and the scheduler start at once and share one generated key file", async () => {
    const file = path.join(dir, "dev", "encryption.key");
    const gatewayPort = await freePort();
    const schedulerPort = await freePort();
    const adminToken = `admin-${randomBytes(8).toString("hex")}`;
    const common = { TARMAC_ENCRYPTION_KEY: "", TARMAC_ENCRYPTION_KEY_FILE: file, NODE_ENV: "development", DATABASE_URL: database.url, REDIS_URL, NATS_URL };
    const prefix = `key${randomBytes(3).toString("hex")}`;
    const [gateway, scheduler] = await Promise.all([
      startApp("gateway", { ...common, PORT: String(gatewayPort), TARMAC_NATS_PREFIX: prefix, TARMAC_OUTBOX_RELAY: "off", TARMAC_ADMIN_TOKEN: adminToken }, { readyUrl: `http://127.0.0.1:${gatewayPort}/readyz`, timeoutMs: 60_000 }),
      startApp("scheduler", { ...common, HEALTH_PORT: String(schedulerPort), TARMAC_NATS_PREFIX: prefix, TARMAC_QUEUE_PREFIX: prefix }, { readyUrl: `http://127.0.0.1:${schedulerPort}/readyz`, timeoutMs: 60_000 }),
    ]);
    started.push(gateway, scheduler);
    const key = (await readFile(file, "utf8")).trim();
    expect(key.length).toBeGreaterThanOrEqual(43);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    for (const p of [gateway, scheduler]) expect(p.output()).toMatch(/TARMAC_ENCRYPTION_KEY is not set/);

    // The gateway signs with the file's key: an upload URL it hands out verifies under it.
    const api = new ApiClient(`http://127.0.0.1:${gatewayPort}`, adminToken);
    const org = `o${randomBytes(4).toString("hex")}`;
    expect((await api.post("/organizations", { data: { type: "organizations", attributes: { name: org, email: `${org}@example.com` } } })).status).toBe(201);
    const ws = await api.post(`/organizations/${org}/workspaces`, { data: { type: "workspaces", attributes: { name: "w" } } });
    expect(ws.status).toBe(201);
    const cv = await api.post(`/workspaces/${ws.body.data.id}/configuration-versions`, { data: { type: "configuration-versions", attributes: {} } });
    expect(cv.status).toBe(201);
    const secret = String(cv.body.data.attributes["upload-url"]).split("/").at(-1)!;
    expect(checkCapability({ current: key, previous: [] }, "upload", cv.body.data.id, secret)).toBe("valid");
  }, 120_000);
});
