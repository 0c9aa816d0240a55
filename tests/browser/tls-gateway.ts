import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import {
  createTestDatabase,
  freePort,
  makeTestCertificates,
  startApp,
  type StartedProcess,
  type TestCertificates,
  type TestDatabase,
} from "@tarmac/testing";
import { TlsApi } from "../cli/api";

/**
 * The gateway alone over HTTPS (a throwaway CA's certificate for localhost), as a browser and the
 * terraform CLI reach it: `https://localhost:PORT`. Its own database and prefixes; health on the
 * plain-HTTP internal listener.
 */
export interface TlsGateway {
  url: string;
  hostname: string;
  adminToken: string;
  certs: TestCertificates;
  workDir: string;
  process: StartedProcess;
  /** The admin API over HTTPS trusting the CA. */
  api(method: string, apiPath: string, body?: unknown, token?: string): Promise<{ status: number; body: any; text: string }>;
  /** A user with a password, made by the site admin. */
  createUser(username: string, password: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startTlsGateway(env: Record<string, string> = {}): Promise<TlsGateway> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), "tarmac-browser-"));
  const certs = makeTestCertificates(path.join(workDir, "tls"));
  const database: TestDatabase = await createTestDatabase();
  const [port, internalPort] = [await freePort(), await freePort()];
  const adminToken = `admin-${randomBytes(12).toString("hex")}`;
  const hostname = `localhost:${port}`;
  const url = `https://${hostname}`;
  let proc: StartedProcess;
  try {
    proc = await startApp(
      "gateway",
      {
        PORT: String(port),
        DATABASE_URL: database.url,
        TARMAC_ADMIN_TOKEN: adminToken,
        TARMAC_OUTBOX_RELAY: "off",
        TARMAC_NATS_PREFIX: `br${randomBytes(4).toString("hex")}`,
        TARMAC_TLS_CERT_FILE: certs.cert,
        TARMAC_TLS_KEY_FILE: certs.key,
        TARMAC_INTERNAL_PORT: String(internalPort),
        TARMAC_RATE_LIMIT_PER_SECOND: "0",
        TARMAC_RUN_LIST_RATE_LIMIT_PER_MINUTE: "0",
        TARMAC_ACTION_WAIT_MS: "0",
        ...env,
      },
      { readyUrl: `http://127.0.0.1:${internalPort}/readyz`, timeoutMs: 90_000 },
    );
  } catch (err) {
    await database.drop();
    await rm(workDir, { recursive: true, force: true });
    throw err;
  }
  // The same client the CLI suites use over TLS, as whichever token is asked for.
  const api: TlsGateway["api"] = (method, apiPath, body, token = adminToken) => new TlsApi(url, token, certs.ca).request(method, apiPath, body);
  return {
    url,
    hostname,
    adminToken,
    certs,
    workDir,
    process: proc,
    api,
    async createUser(username, password) {
      const res = await api("POST", "/admin/users", { data: { type: "users", attributes: { username, email: `${username}@example.com`, password } } });
      if (res.status !== 201) throw new Error(`create user: ${res.status} ${res.text}`);
      return res.body.data.id as string;
    },
    async stop() {
      await proc.stop();
      await database.drop();
      await rm(workDir, { recursive: true, force: true });
    },
  };
}
