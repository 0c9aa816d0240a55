import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { subjectsFor } from "@tarmac/contracts";
import { connectNats, deleteStream } from "@tarmac/events";
import {
  createTestDatabase,
  freePort,
  makeTestCertificates,
  startApp,
  type StartedProcess,
  type TestCertificates,
  type TestDatabase,
} from "@tarmac/testing";
import { removeQueueKeys } from "../e2e/stack";
import { TlsApi } from "./api";

/**
 * The whole engine as an operator runs it for the terraform CLI: the gateway serving HTTPS
 * with a certificate from a throwaway CA, workers reaching it on its plain-HTTP internal
 * listener, and the real terraform binary as the workers' executor. Isolated like every
 * end-to-end stack: its own database, NATS prefix and BullMQ prefix, free ports.
 */
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const START_TIMEOUT_MS = 120_000;

const hex = (n: number) => randomBytes(n).toString("hex");

export interface CliStack {
  /** `localhost:PORT`: the cloud block's hostname and the credentials block's label. */
  hostname: string;
  url: string;
  adminToken: string;
  certs: TestCertificates;
  /** The site admin over HTTPS, for assertions on API state. */
  api: TlsApi;
  /** Scratch space for this file's working directories; removed by stop(). */
  workDir: string;
  processes: StartedProcess[];
  /** Everything the processes wrote, for a failing test's message. */
  logs(): string;
  stop(): Promise<void>;
}

export async function startCliStack(): Promise<CliStack> {
  const workDir = await mkdtemp(path.join(os.tmpdir(), "tarmac-cli-"));
  const certs = makeTestCertificates(path.join(workDir, "tls"));
  const database: TestDatabase = await createTestDatabase();
  const prefix = `cli${hex(4)}`;
  const common = {
    TARMAC_NATS_PREFIX: prefix,
    TARMAC_QUEUE_PREFIX: prefix,
    TARMAC_ENCRYPTION_KEY: `key-${hex(8)}`,
    REDIS_URL,
    NATS_URL,
  };
  const [port, internalPort, schedulerHealth, workerHealth] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const hostname = `localhost:${port}`;
  const adminToken = `admin-${hex(12)}`;
  const processes: StartedProcess[] = [];
  const cleanup = async () => {
    await Promise.all(processes.map((p) => p.stop(8_000)));
    const nc = await connectNats(NATS_URL, "cli-cleanup");
    await deleteStream(nc, subjectsFor(prefix).streamName).catch(() => undefined);
    await nc.drain();
    await removeQueueKeys(prefix);
    await database.drop();
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    processes.push(
      await startApp(
        "gateway",
        {
          ...common,
          PORT: String(port),
          DATABASE_URL: database.url,
          TARMAC_TLS_CERT_FILE: certs.cert,
          TARMAC_TLS_KEY_FILE: certs.key,
          TARMAC_INTERNAL_PORT: String(internalPort),
          TARMAC_ADMIN_TOKEN: adminToken,
          TARMAC_RATE_LIMIT_PER_SECOND: "0",
          TARMAC_RUN_LIST_RATE_LIMIT_PER_MINUTE: "0",
          TARMAC_FORCE_CANCEL_COOL_OFF_MS: "1000",
        },
        { readyUrl: `http://127.0.0.1:${internalPort}/readyz`, timeoutMs: START_TIMEOUT_MS },
      ),
    );
    const [scheduler, worker] = await Promise.all([
      startApp(
        "scheduler",
        {
          ...common,
          DATABASE_URL: database.url,
          // No TARMAC_GATEWAY_URL: the scheduler hands workers the internal listener.
          TARMAC_INTERNAL_PORT: String(internalPort),
          TARMAC_PUBLIC_URL: `https://${hostname}`,
          HEALTH_PORT: String(schedulerHealth),
          TARMAC_RECONCILE_INTERVAL_MS: "500",
          TARMAC_DB_POOL_SIZE: "6",
        },
        { readyUrl: `http://127.0.0.1:${schedulerHealth}/readyz`, timeoutMs: START_TIMEOUT_MS },
      ),
      startApp(
        "worker",
        {
          ...common,
          DATABASE_URL: "",
          // The real terraform on PATH runs the plans and applies.
          TARMAC_TERRAFORM_BIN: "",
          TF_CLI_CONFIG_FILE: "",
          TARMAC_WORK_DIR: path.join(workDir, "worker"),
          HEALTH_PORT: String(workerHealth),
          TARMAC_HEARTBEAT_INTERVAL_MS: "1000",
          WORKER_CONCURRENCY: "4",
          SHUTDOWN_TIMEOUT_MS: "6000",
          TARMAC_LIVE_LOG_TTL_MS: "600000",
        },
        { readyUrl: `http://127.0.0.1:${workerHealth}/readyz`, timeoutMs: START_TIMEOUT_MS },
      ),
    ]);
    processes.push(scheduler, worker);
  } catch (err) {
    await cleanup();
    throw err;
  }
  const url = `https://${hostname}`;
  return {
    hostname,
    url,
    adminToken,
    certs,
    api: new TlsApi(url, adminToken, certs.ca),
    workDir,
    processes,
    logs: () => processes.map((p) => `--- ${p.name} ---\n${p.output()}`).join("\n"),
    stop: cleanup,
  };
}
