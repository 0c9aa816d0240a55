import { z } from "zod";
import { ConfigError } from "./parse-env";
import { describeValue, type EnvField } from "./fields";

/** One Redis server (a cluster node or a sentinel). */
export interface RedisNode {
  host: string;
  port: number;
}

/** Credentials and transport shared by every data node of a cluster or a sentinel-managed primary. */
export interface RedisAuth {
  username?: string;
  password?: string;
  tls: boolean;
  db?: number;
}

/**
 * Where a process's Redis is: one node (REDIS_URL), a Redis Cluster (REDIS_CLUSTER_NODES) or a
 * primary found through Sentinel (REDIS_SENTINELS + REDIS_SENTINEL_NAME). Libraries turn it into
 * a client; BullMQ keys carry a hash tag so each queue's keys share one cluster slot.
 */
export type RedisTarget =
  | { mode: "single"; url: string }
  | { mode: "cluster"; nodes: RedisNode[]; auth: RedisAuth }
  | { mode: "sentinel"; sentinels: RedisNode[]; name: string; sentinelPassword?: string; auth: RedisAuth };

interface ParsedNode extends RedisNode {
  auth?: RedisAuth;
}

function parseNode(raw: string): ParsedNode | undefined {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    if (!URL.canParse(raw)) return undefined;
    const u = new URL(raw);
    if (!["redis:", "rediss:"].includes(u.protocol) || u.hostname === "") return undefined;
    const auth: RedisAuth = { tls: u.protocol === "rediss:" };
    if (u.username) auth.username = decodeURIComponent(u.username);
    if (u.password) auth.password = decodeURIComponent(u.password);
    return { host: u.hostname.replace(/^\[|\]$/g, ""), port: u.port ? Number(u.port) : 6379, auth };
  }
  const m = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(raw);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

/** A comma-separated list of `host:port` or `redis://[user:password@]host:port`; unset: none. */
export function redisNodeList(): EnvField<ParsedNode[] | undefined> {
  return z
    .string()
    .optional()
    .transform((raw, ctx): ParsedNode[] | undefined => {
      if (raw === undefined) return undefined;
      const entries = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
      const nodes: ParsedNode[] = [];
      for (const entry of entries) {
        const node = parseNode(entry);
        if (!node) {
          ctx.addIssue({ code: "custom", message: `expected host:port or a redis:// URL, got ${describeValue(entry)}` });
          return z.NEVER;
        }
        nodes.push(node);
      }
      return nodes.length > 0 ? nodes : undefined;
    });
}

/** What the apps spread into their env schema: REDIS_URL plus the cluster and sentinel settings. */
export const redisTopologyEnv = {
  /** Seed nodes of a Redis Cluster; the first entry's user, password and scheme apply to every node. */
  REDIS_CLUSTER_NODES: redisNodeList(),
  /** Sentinels that know the primary named REDIS_SENTINEL_NAME; its credentials come from REDIS_URL. */
  REDIS_SENTINELS: redisNodeList(),
  REDIS_SENTINEL_NAME: z.string().default("mymaster"),
  REDIS_SENTINEL_PASSWORD: z.string().optional(),
};

export interface RedisTopologyEnv {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: ParsedNode[] | undefined;
  REDIS_SENTINELS?: ParsedNode[] | undefined;
  REDIS_SENTINEL_NAME: string;
  REDIS_SENTINEL_PASSWORD?: string | undefined;
}

function authOf(url: string): RedisAuth {
  return parseNode(url)?.auth ?? { tls: false };
}

/** The Redis a process talks to, from its parsed environment. */
export function redisTarget(env: RedisTopologyEnv): RedisTarget {
  const cluster = env.REDIS_CLUSTER_NODES;
  const sentinels = env.REDIS_SENTINELS;
  if (cluster && sentinels) {
    throw new ConfigError([{ variable: "REDIS_CLUSTER_NODES", message: "cannot be combined with REDIS_SENTINELS: a deployment uses one or the other" }]);
  }
  if (cluster) {
    const auth = cluster.find((n) => n.auth)?.auth ?? { tls: false };
    return { mode: "cluster", nodes: cluster.map(({ host, port }) => ({ host, port })), auth };
  }
  if (sentinels) {
    const auth = authOf(env.REDIS_URL);
    const db = /^\/(\d+)$/.exec(new URL(env.REDIS_URL).pathname)?.[1];
    if (db !== undefined) auth.db = Number(db);
    return {
      mode: "sentinel",
      sentinels: sentinels.map(({ host, port }) => ({ host, port })),
      name: env.REDIS_SENTINEL_NAME,
      ...(env.REDIS_SENTINEL_PASSWORD ? { sentinelPassword: env.REDIS_SENTINEL_PASSWORD } : {}),
      auth,
    };
  }
  return { mode: "single", url: env.REDIS_URL };
}
