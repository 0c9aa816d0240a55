import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  createTestDatabase,
  freePort,
  httpsRequest,
  makeTestCertificates,
  startApp,
  waitFor,
  type StartedProcess,
  type TestCertificates,
  type TestDatabase,
} from "@tarmac/testing";

/**
 * HTTPS on PORT with TARMAC_TLS_CERT_FILE/KEY_FILE (what the terraform CLI requires), and the
 * plain-HTTP internal listener workers use so they need not trust the public certificate.
 */
jest.setTimeout(120_000);

let dir: string;
let certs: TestCertificates;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), "tarmac-tls-"));
  certs = makeTestCertificates(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function exitOf(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const proc = await startApp("gateway", { PORT: String(await freePort()), TARMAC_OUTBOX_RELAY: "off", ...env });
  const code = await new Promise<number | null>((resolve) => {
    if (proc.child.exitCode !== null) resolve(proc.child.exitCode);
    else proc.child.once("exit", (c) => resolve(c));
  });
  return { code, output: proc.output() };
}

describe("gateway TLS configuration", () => {
  it("refuses to start with a certificate and no key, naming the missing variable", async () => {
    const { code, output } = await exitOf({ TARMAC_TLS_CERT_FILE: certs.cert });
    expect(code).toBe(1);
    expect(output).toContain("TARMAC_TLS_KEY_FILE: required when TARMAC_TLS_CERT_FILE is set");
  });

  it("refuses to start with a key and no certificate", async () => {
    const { code, output } = await exitOf({ TARMAC_TLS_KEY_FILE: certs.key });
    expect(code).toBe(1);
    expect(output).toContain("TARMAC_TLS_CERT_FILE: required when TARMAC_TLS_KEY_FILE is set");
  });

  it("refuses to start when a file cannot be read or is not PEM", async () => {
    const missing = await exitOf({ TARMAC_TLS_CERT_FILE: certs.cert, TARMAC_TLS_KEY_FILE: path.join(dir, "nope.pem") });
    expect(missing.code).toBe(1);
    expect(missing.output).toMatch(/TARMAC_TLS_KEY_FILE: cannot read ".*nope\.pem": ENOENT/);
    const notPem = path.join(dir, "garbage.pem");
    writeFileSync(notPem, "not a certificate");
    const garbage = await exitOf({ TARMAC_TLS_CERT_FILE: notPem, TARMAC_TLS_KEY_FILE: certs.key });
    expect(garbage.code).toBe(1);
    expect(garbage.output).toContain(`TARMAC_TLS_CERT_FILE: "${notPem}" is not a PEM file`);
  });

  it("refuses a bad TARMAC_INTERNAL_PORT", async () => {
    const { code, output } = await exitOf({ TARMAC_INTERNAL_PORT: "http" });
    expect(code).toBe(1);
    expect(output).toContain("TARMAC_INTERNAL_PORT");
  });
});

describe("gateway over HTTPS", () => {
  let database: TestDatabase;
  let gateway: StartedProcess;
  let port: number;
  let internalPort: number;
  const token = `admin-${randomBytes(8).toString("hex")}`;

  beforeAll(async () => {
    database = await createTestDatabase();
    [port, internalPort] = [await freePort(), await freePort()];
    gateway = await startApp(
      "gateway",
      {
        PORT: String(port),
        DATABASE_URL: database.url,
        TARMAC_ADMIN_TOKEN: token,
        TARMAC_OUTBOX_RELAY: "off",
        TARMAC_NATS_PREFIX: `tls${randomBytes(4).toString("hex")}`,
        TARMAC_TLS_CERT_FILE: certs.cert,
        TARMAC_TLS_KEY_FILE: certs.key,
        TARMAC_INTERNAL_PORT: String(internalPort),
      },
      { readyUrl: `http://127.0.0.1:${internalPort}/readyz`, timeoutMs: 90_000 },
    );
  });
  afterAll(async () => {
    await gateway?.stop();
    await database?.drop();
  });

  it("serves the API, discovery and health over HTTPS to a client trusting the CA", async () => {
    const ping = await httpsRequest(`https://localhost:${port}/api/v2/ping`, { ca: certs.ca });
    expect(ping.status).toBe(204);
    const discovery = await httpsRequest(`https://localhost:${port}/.well-known/terraform.json`, { ca: certs.ca });
    expect(discovery.status).toBe(200);
    expect(JSON.parse(discovery.text)).toHaveProperty(["tfe.v2"], "/api/v2/");
    for (const p of ["/healthz", "/readyz"]) {
      expect((await httpsRequest(`https://127.0.0.1:${port}${p}`, { ca: certs.ca })).status).toBe(200);
    }
  });

  it("rejects clients that do not trust the certificate, and plain HTTP on the TLS port", async () => {
    await expect(httpsRequest(`https://localhost:${port}/api/v2/ping`)).rejects.toMatchObject({ code: "UNABLE_TO_VERIFY_LEAF_SIGNATURE" });
    await expect(fetch(`http://127.0.0.1:${port}/api/v2/ping`)).rejects.toThrow("fetch failed");
  });

  it("builds absolute URLs on https://localhost:PORT when TARMAC_PUBLIC_URL is unset", async () => {
    const headers = { Authorization: `Bearer ${token}`, "Content-Type": "application/vnd.api+json" };
    const org = `org-${randomBytes(3).toString("hex")}`;
    const created = await httpsRequest(`https://localhost:${port}/api/v2/organizations`, {
      ca: certs.ca,
      method: "POST",
      headers,
      body: JSON.stringify({ data: { type: "organizations", attributes: { name: org, email: `${org}@example.com` } } }),
    });
    expect(created.status).toBe(201);
    const ws = await httpsRequest(`https://localhost:${port}/api/v2/organizations/${org}/workspaces`, {
      ca: certs.ca,
      method: "POST",
      headers,
      body: JSON.stringify({ data: { type: "workspaces", attributes: { name: "web" } } }),
    });
    expect(ws.status).toBe(201);
    const wsId = JSON.parse(ws.text).data.id as string;
    const cv = await httpsRequest(`https://localhost:${port}/api/v2/workspaces/${wsId}/configuration-versions`, {
      ca: certs.ca,
      method: "POST",
      headers,
      body: JSON.stringify({ data: { type: "configuration-versions", attributes: {} } }),
    });
    expect(cv.status).toBe(201);
    expect(JSON.parse(cv.text).data.attributes["upload-url"]).toMatch(new RegExp(`^https://localhost:${port}/_archivist/uploads/`));
  });

  it("serves workers' job URLs and health on the internal port over plain HTTP, and nothing else", async () => {
    const health = await fetch(`http://127.0.0.1:${internalPort}/readyz`);
    expect(health.status).toBe(200);
    const job = await fetch(`http://127.0.0.1:${internalPort}/_jobs/run-AAAAAAAAAAAAAAAA/not-a-secret/spec`);
    expect(job.status).toBe(404);
    expect(((await job.json()) as { errors?: unknown[] }).errors).toHaveLength(1);
    const api = await fetch(`http://127.0.0.1:${internalPort}/api/v2/ping`);
    expect(api.status).toBe(404);
    const upload = await fetch(`http://127.0.0.1:${internalPort}/_archivist/uploads/cv-x/y`, { method: "PUT", body: "x" });
    expect(upload.status).toBe(404);
  });

  it("stops both listeners on SIGTERM", async () => {
    expect(await gateway.stop()).toBe(0);
    await waitFor(async () => ((await fetch(`http://127.0.0.1:${internalPort}/healthz`).catch(() => null)) === null ? true : undefined), {
      timeoutMs: 5_000,
      what: "the internal listener to close",
    });
  });
});
