import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { subjectsFor } from "@tarmac/contracts";
import { terraformDoublePath } from "@tarmac/terraform/test";
import { ApiClient, freePort, startApp, type StartedProcess } from "@tarmac/testing";
import { FAST_ENGINE_ENV } from "../e2e/stack";
import { startOwnNatsCluster, startOwnPgBouncer, startOwnRedisCluster, type OwnNatsCluster, type OwnPgBouncer, type OwnRedisCluster } from "./cluster-infra";

/**
 * The scale-out topology on one machine: several gateways (a port each), schedulers and
 * workers, the real processes, on a Redis Cluster, a NATS JetStream cluster with the stream at
 * R3, and PostgreSQL reached through PgBouncer in transaction mode (LISTEN on a direct URL).
 */

const hex = (n: number) => randomBytes(n).toString("hex");
const START_TIMEOUT_MS = 180_000;

export interface ScaleStackOptions {
  gateways: number;
  schedulers: number;
  workers: number;
}

export interface ScaleStack {
  redis: OwnRedisCluster;
  nats: OwnNatsCluster;
  pg: OwnPgBouncer;
  /** One API client per gateway. */
  apis: ApiClient[];
  gateways: StartedProcess[];
  schedulers: StartedProcess[];
  workers: StartedProcess[];
  /** The BullMQ prefix as configured (the queues add the hash tag). */
  queuePrefix: string;
  streamName: string;
  stop(): Promise<void>;
}

export async function startScaleStack(options: ScaleStackOptions): Promise<ScaleStack> {
  const [redis, nats, pg] = await Promise.all([startOwnRedisCluster(6), startOwnNatsCluster(3), startOwnPgBouncer(20)]);
  const prefix = `scl${hex(3)}`;
  const workDir = await mkdtemp(path.join(os.tmpdir(), "tarmac-scale-"));
  const common = {
    TARMAC_NATS_PREFIX: prefix,
    TARMAC_QUEUE_PREFIX: prefix,
    TARMAC_ENCRYPTION_KEY: randomBytes(32).toString("base64url"),
    // REDIS_URL stays unset on purpose: the cluster's nodes are the only Redis there is.
    REDIS_URL: "",
    REDIS_CLUSTER_NODES: redis.nodes,
    NATS_URL: nats.url,
    NATS_STREAM_REPLICAS: "3",
  };
  const adminToken = `admin-${hex(12)}`;
  const gateways: StartedProcess[] = [];
  const schedulers: StartedProcess[] = [];
  const workers: StartedProcess[] = [];
  const gatewayUrls: string[] = [];
  const stop = async () => {
    await Promise.all(workers.map((w) => w.stop(6_000)));
    await Promise.all(schedulers.map((s) => s.stop(6_000)));
    await Promise.all(gateways.map((g) => g.stop(6_000)));
    await Promise.allSettled([redis.destroy(), nats.destroy(), pg.destroy()]);
    await rm(workDir, { recursive: true, force: true });
  };

  try {
    for (let i = 0; i < options.gateways; i++) gatewayUrls.push(`http://127.0.0.1:${await freePort()}`);
    // The first gateway ensures the admin token and creates the stream; the others then race nothing.
    const startGateway = async (url: string) => {
      const gateway = await startApp(
        "gateway",
        {
          ...common,
          PORT: new URL(url).port,
          DATABASE_URL: pg.pooledUrl,
          DATABASE_DIRECT_URL: pg.directUrl,
          TARMAC_DB_POOL_SIZE: "5",
          TARMAC_PUBLIC_URL: url,
          TARMAC_ADMIN_TOKEN: adminToken,
          // On, and high: the limiter's counters live on the cluster, shared by both gateways.
          TARMAC_RATE_LIMIT_PER_SECOND: "5000",
          TARMAC_RUN_LIST_RATE_LIMIT_PER_MINUTE: "0",
        },
        { readyUrl: `${url}/readyz`, timeoutMs: START_TIMEOUT_MS },
      );
      gateways.push(gateway);
    };
    await startGateway(gatewayUrls[0]!);
    const startScheduler = async (i: number) => {
      const port = await freePort();
      const scheduler = await startApp(
        "scheduler",
        {
          ...common,
          ...FAST_ENGINE_ENV,
          // Heartbeats ride NATS: a server's loss delays some by its failover, not by this much.
          TARMAC_HEARTBEAT_TIMEOUT_MS: "15000",
          DATABASE_URL: pg.pooledUrl,
          // The outbox relay runs here: LISTEN goes straight to PostgreSQL.
          DATABASE_DIRECT_URL: pg.directUrl,
          TARMAC_DB_POOL_SIZE: "6",
          // Each scheduler hands workers its own gateway's capability URLs.
          TARMAC_GATEWAY_URL: gatewayUrls[i % gatewayUrls.length]!,
          SCHEDULER_HEALTH_PORT: String(port),
          TARMAC_EVENT_ACK_WAIT_MS: "10000",
          // Info: a run that fails the suite can be traced through what each process said of it.
          LOG_LEVEL: "info",
        },
        { readyUrl: `http://127.0.0.1:${port}/readyz`, timeoutMs: START_TIMEOUT_MS },
      );
      schedulers.push(scheduler);
    };
    const startWorker = async (i: number) => {
      const port = await freePort();
      const worker = await startApp(
        "worker",
        {
          ...common,
          DATABASE_URL: "",
          TARMAC_TERRAFORM_BIN: terraformDoublePath,
          TARMAC_WORK_DIR: path.join(workDir, `worker-${i}`),
          TARMAC_WORKER_ID: `scale-worker-${i}`,
          WORKER_HEALTH_PORT: String(port),
          TARMAC_HEARTBEAT_INTERVAL_MS: "1000",
          WORKER_CONCURRENCY: "3",
          SHUTDOWN_TIMEOUT_MS: "4000",
          TARMAC_LIVE_LOG_TTL_MS: "600000",
          LOG_LEVEL: "info",
        },
        { readyUrl: `http://127.0.0.1:${port}/readyz`, timeoutMs: START_TIMEOUT_MS },
      );
      workers.push(worker);
    };
    await Promise.all([
      ...gatewayUrls.slice(1).map((url) => startGateway(url)),
      ...Array.from({ length: options.schedulers }, (_, i) => startScheduler(i)),
      ...Array.from({ length: options.workers }, (_, i) => startWorker(i)),
    ]);
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    redis,
    nats,
    pg,
    apis: gatewayUrls.map((url) => new ApiClient(url, adminToken)),
    gateways,
    schedulers,
    workers,
    queuePrefix: prefix,
    streamName: subjectsFor(prefix).streamName,
    stop,
  };
}
