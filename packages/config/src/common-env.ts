import { z } from "zod";
import { describeValue, durationMs, logLevel, url, type EnvField } from "./fields";
import { redisTopologyEnv } from "./redis-target";

/**
 * Schema pieces the apps compose into their own `src/env.ts`:
 * `z.object({ ...commonEnv, ...databaseEnv, PORT: port(8080) })`.
 * They are zod shapes (plain objects of fields) so they spread into one object schema.
 */

export const POSTGRES_PROTOCOLS = ["postgresql:", "postgres:"] as const;
export const REDIS_PROTOCOLS = ["redis:", "rediss:"] as const;
export const NATS_PROTOCOLS = ["nats:", "tls:", "ws:", "wss:"] as const;

export const databaseEnv = {
  DATABASE_URL: url("postgresql://postgres@127.0.0.1:5432/tarmac", { protocols: POSTGRES_PROTOCOLS }),
  /**
   * A connection that bypasses a transaction-mode pooler (PgBouncer), for session features
   * (LISTEN). Unset: DATABASE_URL is direct, unless it says `pgbouncer=true`.
   */
  DATABASE_DIRECT_URL: url(undefined, { protocols: POSTGRES_PROTOCOLS }).optional(),
};

export const redisEnv = {
  REDIS_URL: url("redis://127.0.0.1:6379", { protocols: REDIS_PROTOCOLS }),
  ...redisTopologyEnv,
};

export const natsEnv = {
  /** One server, or several comma-separated (a cluster): the client fails over between them. */
  NATS_URL: natsUrls("nats://127.0.0.1:4222"),
  /** Replicas of the event stream: 1 on one server, 3 (or 5) on a JetStream cluster. */
  NATS_STREAM_REPLICAS: streamReplicas(1),
};

export const commonEnv = {
  LOG_LEVEL: logLevel("info"),
  /** Overall budget for graceful shutdown; orchestrators should wait a little longer before SIGKILL. */
  SHUTDOWN_TIMEOUT_MS: durationMs(10_000),
  /** Base OTLP/HTTP endpoint (`/v1/traces` is appended); traces are exported only when set. */
  OTEL_EXPORTER_OTLP_ENDPOINT: url(undefined, { protocols: ["http:", "https:"] }).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
};

/** A comma-separated list of NATS server URLs, returned as given. */
function natsUrls(defaultValue: string): EnvField<string> {
  const schemes = NATS_PROTOCOLS.map((p) => `${p}//`).join(" or ");
  return z
    .string()
    .optional()
    .transform((raw, ctx): string => {
      if (raw === undefined) return defaultValue;
      const entries = raw.split(",").map((s) => s.trim()).filter((s) => s !== "");
      for (const entry of entries) {
        const ok = /^[a-z][a-z0-9+.-]*:\/\//i.test(entry) && URL.canParse(entry) && (NATS_PROTOCOLS as readonly string[]).includes(new URL(entry).protocol);
        if (!ok) {
          ctx.addIssue({ code: "custom", message: `expected URLs starting with ${schemes}, comma-separated, got ${describeValue(entry)}` });
          return z.NEVER;
        }
      }
      return entries.join(",");
    });
}

/** JetStream allows 1 to 5 replicas; an even count buys nothing over the odd one below it. */
function streamReplicas(defaultValue: number): EnvField<number> {
  return z
    .string()
    .optional()
    .transform((raw, ctx): number => {
      if (raw === undefined) return defaultValue;
      const value = raw.trim();
      if (!/^[1-5]$/.test(value)) {
        ctx.addIssue({ code: "custom", message: `expected an integer between 1 and 5, got ${describeValue(raw)}` });
        return z.NEVER;
      }
      return Number(value);
    });
}
