import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os, { userInfo } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { connect as connectNats } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";
import { jetstreamManager } from "@nats-io/jetstream";
import { Redis } from "ioredis";
import { createTestDatabase, freePort, freePortPair, waitFor, type TestDatabase } from "@tarmac/testing";
import { asPostgres, OwnServer } from "../faults/infra";

/**
 * Clustered infrastructure of a scale-out test's own, from Debian's packages, on free ports:
 * a Redis Cluster (3 primaries, 3 replicas), a 3-node NATS JetStream cluster, and PgBouncer in
 * transaction mode in front of a fresh database on the machine's PostgreSQL. The shared
 * services (6379, 4222) are never touched; PostgreSQL only hosts the database.
 */

const run = promisify(execFile);

export interface RedisClusterNode {
  port: number;
  server: OwnServer;
}

export interface OwnRedisCluster {
  /** For REDIS_CLUSTER_NODES. */
  nodes: string;
  all: RedisClusterNode[];
  /** The node serving `key`'s slot as primary right now. */
  primaryFor(key: string): Promise<RedisClusterNode>;
  /** Resolves once every live node says cluster_state:ok and `key`'s slot has a live primary. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  destroy(): Promise<void>;
}

export async function startOwnRedisCluster(size = 6): Promise<OwnRedisCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tarmac-scale-redis-"));
  const all: RedisClusterNode[] = [];
  for (let i = 0; i < size; i++) {
    const port = await freePortPair(10_000);
    const nodeDir = path.join(dir, String(port));
    await mkdir(nodeDir);
    const server = new OwnServer(
      "redis-server",
      () => [
        "--port", String(port), "--bind", "127.0.0.1", "--dir", nodeDir,
        "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
        // A primary that stops answering is replaced by its replica after this long.
        "--cluster-node-timeout", "2000",
        "--save", "", "--appendonly", "no",
      ],
      port,
    );
    all.push({ port, server });
  }
  await Promise.all(all.map((n) => n.server.start()));
  await run("redis-cli", ["--cluster", "create", ...all.map((n) => `127.0.0.1:${n.port}`), "--cluster-replicas", "1", "--cluster-yes"], { timeout: 60_000 });

  const ask = async <T>(port: number, fn: (r: Redis) => Promise<T>): Promise<T> => {
    const r = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    r.on("error", () => undefined);
    try {
      await r.connect();
      return await fn(r);
    } finally {
      r.disconnect();
    }
  };
  const cluster: OwnRedisCluster = {
    nodes: all.map((n) => `127.0.0.1:${n.port}`).join(","),
    all,
    async primaryFor(key) {
      const live = all.find((n) => n.server.isRunning)!;
      const slot = await ask(live.port, (r) => r.cluster("KEYSLOT", key));
      const slots = await ask(live.port, (r) => r.cluster("SLOTS"));
      const owner = slots.find(([from, to]) => slot >= from && slot <= to);
      const port = owner?.[2]?.[1];
      const node = all.find((n) => n.port === port);
      if (!node) throw new Error(`no primary serves slot ${slot}`);
      return node;
    },
    async waitHealthy(timeoutMs = 30_000) {
      await waitFor(
        async () => {
          for (const n of all.filter((x) => x.server.isRunning)) {
            const info = await ask(n.port, (r) => r.cluster("INFO")).catch(() => "");
            if (!/cluster_state:ok/.test(String(info))) return undefined;
          }
          return true;
        },
        { timeoutMs, intervalMs: 200, what: "the Redis Cluster to be healthy" },
      );
    },
    async destroy() {
      await Promise.all(all.map((n) => n.server.stop(true)));
      await rm(dir, { recursive: true, force: true });
    },
  };
  await cluster.waitHealthy();
  return cluster;
}

export interface NatsClusterNode {
  name: string;
  port: number;
  url: string;
  server: OwnServer;
}

export interface OwnNatsCluster {
  /** For NATS_URL: every server, comma-separated. */
  url: string;
  all: NatsClusterNode[];
  /** The server leading `stream` (its RAFT leader), by name. */
  streamLeader(stream: string): Promise<NatsClusterNode | undefined>;
  destroy(): Promise<void>;
}

export async function startOwnNatsCluster(size = 3): Promise<OwnNatsCluster> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tarmac-scale-nats-"));
  const ports = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routePorts = await Promise.all(Array.from({ length: size }, () => freePort()));
  const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(",");
  const all: NatsClusterNode[] = ports.map((port, i) => {
    const name = `scale-n${i + 1}`;
    const store = path.join(dir, name);
    return {
      name,
      port,
      url: `nats://127.0.0.1:${port}`,
      server: new OwnServer(
        "nats-server",
        () => ["-a", "127.0.0.1", "-p", String(port), "-n", name, "-js", "-sd", store, "--cluster_name", "tarmac-scale", "--cluster", `nats://127.0.0.1:${routePorts[i]}`, "--routes", routes],
        port,
      ),
    };
  });
  await Promise.all(all.map((n) => n.server.start()));
  const url = all.map((n) => n.url).join(",");
  // JetStream answers once the servers elected a meta leader.
  const nc = await connectNats({ servers: url.split(","), name: "scale-probe" });
  try {
    await waitFor(
      async () => {
        const jsm = await jetstreamManager(nc, { timeout: 2_000 }).catch(() => undefined);
        return jsm ? await jsm.getAccountInfo().then(() => true, () => undefined) : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: "a JetStream meta leader" },
    );
  } finally {
    await nc.close();
  }
  return {
    url,
    all,
    async streamLeader(stream) {
      const live = all.filter((n) => n.server.isRunning).map((n) => n.url);
      const probe: NatsConnection = await connectNats({ servers: live, name: "scale-probe" });
      try {
        const info = await (await jetstreamManager(probe)).streams.info(stream);
        return all.find((n) => n.name === info.cluster?.leader);
      } finally {
        await probe.close();
      }
    },
    async destroy() {
      await Promise.all(all.map((n) => n.server.stop(true)));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface OwnPgBouncer {
  /** Through PgBouncer, transaction pooling, marked `pgbouncer=true`. */
  pooledUrl: string;
  /** The database itself, for LISTEN (DATABASE_DIRECT_URL). */
  directUrl: string;
  database: TestDatabase;
  destroy(): Promise<void>;
}

/** A fresh migrated database on the machine's PostgreSQL, reached through a PgBouncer of our own. */
export async function startOwnPgBouncer(poolSize = 20): Promise<OwnPgBouncer> {
  const database = await createTestDatabase();
  const direct = new URL(database.url);
  const dir = await mkdtemp(path.join(os.tmpdir(), "tarmac-scale-pgbouncer-"));
  const port = await freePort();
  const user = decodeURIComponent(direct.username || "postgres");
  await writeFile(path.join(dir, "users.txt"), `"${user}" ""\n`);
  await writeFile(
    path.join(dir, "pgbouncer.ini"),
    [
      "[databases]",
      `${database.name} = host=${direct.hostname} port=${direct.port || 5432} dbname=${database.name}`,
      "[pgbouncer]",
      "listen_addr = 127.0.0.1",
      `listen_port = ${port}`,
      "unix_socket_dir =",
      "auth_type = trust",
      `auth_file = ${path.join(dir, "users.txt")}`,
      "pool_mode = transaction",
      "max_client_conn = 1000",
      `default_pool_size = ${poolSize}`,
      // Sent by drivers at connect; PgBouncer refuses unknown startup parameters.
      "ignore_startup_parameters = extra_float_digits,options",
      "",
    ].join("\n"),
  );
  if (userInfo().uid === 0) {
    const { stdout: uid } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    for (const f of ["", "users.txt", "pgbouncer.ini"]) await chown(path.join(dir, f), Number(uid.trim()), Number(gid.trim()));
  }
  // PgBouncer refuses to run as root.
  const [bin, args] = asPostgres(existsSync("/usr/sbin/pgbouncer") ? "/usr/sbin/pgbouncer" : "pgbouncer", [path.join(dir, "pgbouncer.ini")]);
  const server = new OwnServer(bin, () => args, port);
  try {
    await server.start();
  } catch (err) {
    await database.drop();
    throw err;
  }
  return {
    pooledUrl: `postgresql://${user}@127.0.0.1:${port}/${database.name}?pgbouncer=true`,
    directUrl: database.url,
    database,
    async destroy() {
      await server.stop();
      await database.drop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
