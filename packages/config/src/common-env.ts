import { z } from "zod";
import { durationMs, logLevel, url } from "./fields";

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
};

export const redisEnv = {
  REDIS_URL: url("redis://127.0.0.1:6379", { protocols: REDIS_PROTOCOLS }),
};

export const natsEnv = {
  NATS_URL: url("nats://127.0.0.1:4222", { protocols: NATS_PROTOCOLS }),
};

export const commonEnv = {
  LOG_LEVEL: logLevel("info"),
  /** Overall budget for graceful shutdown; orchestrators should wait a little longer before SIGKILL. */
  SHUTDOWN_TIMEOUT_MS: durationMs(10_000),
  /** Base OTLP/HTTP endpoint (`/v1/traces` is appended); traces are exported only when set. */
  OTEL_EXPORTER_OTLP_ENDPOINT: url(undefined, { protocols: ["http:", "https:"] }).optional(),
  OTEL_SERVICE_NAME: z.string().min(1).optional(),
};
