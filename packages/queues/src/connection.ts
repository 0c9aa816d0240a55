import type { ConnectionOptions } from "bullmq";
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from "ioredis";
import type { RedisTarget } from "@tarmac/config";

/** A URL (one node), ioredis options, or a parsed target: one node, a Redis Cluster or Sentinel. */
export type RedisConnection = string | RedisOptions | RedisTarget;

/** What every Redis user in Tarmac holds: a client of one node (maybe via Sentinel) or of a cluster. */
export type RedisClient = Redis | Cluster;

function isTarget(connection: RedisConnection): connection is RedisTarget {
  return typeof connection === "object" && "mode" in connection && typeof connection.mode === "string";
}

/**
 * BullMQ keeps each queue's keys in one slot only when the prefix carries a hash tag: its Lua
 * scripts touch several keys at once, which Redis Cluster refuses across slots (CROSSSLOT).
 * Every deployment gets the tag, one node or a cluster, so the keys are the same on both.
 * A prefix that already holds a `{tag}` is kept as it is.
 */
export function queueKeyPrefix(prefix: string): string {
  return /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
}

/**
 * How long a cluster client waits for the cluster to heal (a failover promotes a replica within
 * cluster-node-timeout plus an election) before it fails a command.
 */
const CLUSTER_OPTIONS: ClusterOptions = {
  retryDelayOnFailover: 200,
  retryDelayOnClusterDown: 300,
  retryDelayOnTryAgain: 200,
  retryDelayOnMoved: 50,
  maxRedirections: 64,
  slotsRefreshTimeout: 2_000,
  clusterRetryStrategy: (times: number) => Math.min(100 * times, 2_000),
};

function sentinelOptions(target: Extract<RedisTarget, { mode: "sentinel" }>): RedisOptions {
  const { auth } = target;
  return {
    sentinels: target.sentinels,
    name: target.name,
    ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
    ...(auth.username ? { username: auth.username } : {}),
    ...(auth.password ? { password: auth.password } : {}),
    ...(auth.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
    ...(auth.db !== undefined ? { db: auth.db } : {}),
  };
}

/**
 * A client for the target. `overrides` are ioredis options for the data connections
 * (e.g. maxRetriesPerRequest); a string or plain options still mean one node.
 */
export function createRedisClient(connection: RedisConnection, overrides: RedisOptions = {}): RedisClient {
  if (typeof connection === "string") return new Redis(connection, overrides);
  if (!isTarget(connection)) return new Redis({ ...connection, ...overrides });
  switch (connection.mode) {
    case "single":
      return new Redis(connection.url, overrides);
    case "cluster": {
      const { auth } = connection;
      return new Cluster(connection.nodes, {
        ...CLUSTER_OPTIONS,
        redisOptions: {
          ...(auth.username ? { username: auth.username } : {}),
          ...(auth.password ? { password: auth.password } : {}),
          ...(auth.tls ? { tls: {} } : {}),
          ...overrides,
        },
      });
    }
    case "sentinel":
      return new Redis({ ...sentinelOptions(connection), ...overrides });
  }
}

export interface BullConnection {
  connection: ConnectionOptions;
  /** Closes what this module opened for BullMQ (BullMQ leaves a client it was given open). */
  close(): Promise<void>;
}

/**
 * BullMQ opens its own ioredis clients from options (one per Queue, two per Worker), so one node
 * and Sentinel go as options; a cluster goes as a client of its own, which BullMQ duplicates for
 * a worker's blocking connection. Never a client shared with anything else: a blocking
 * connection must be nobody else's.
 */
export function bullConnection(connection: RedisConnection): BullConnection {
  // Workers block on BZPOPMIN-like commands; BullMQ requires maxRetriesPerRequest null.
  if (typeof connection === "string") return { connection: { url: connection, maxRetriesPerRequest: null }, close: async () => undefined };
  if (isTarget(connection) && connection.mode === "cluster") {
    const client = createRedisClient(connection, { maxRetriesPerRequest: null });
    return {
      connection: client,
      async close() {
        await client.quit().catch(() => client.disconnect());
      },
    };
  }
  if (isTarget(connection)) {
    const options: ConnectionOptions =
      connection.mode === "single" ? { url: connection.url, maxRetriesPerRequest: null } : { ...sentinelOptions(connection), maxRetriesPerRequest: null };
    return { connection: options, close: async () => undefined };
  }
  return { connection: { ...connection, maxRetriesPerRequest: null }, close: async () => undefined };
}
