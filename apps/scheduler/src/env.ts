import { z } from "zod";
import { commonEnv, databaseEnv, deploymentKeyEnv, durationMs, natsEnv, parseEnv, port, positiveInt, redisEnv, url } from "@tarmac/config";

const HOUR_MS = 60 * 60 * 1000;

export const schedulerEnvSchema = z.object({
  ...commonEnv,
  ...databaseEnv,
  ...redisEnv,
  ...natsEnv,
  TARMAC_NATS_PREFIX: z.string().default("tarmac"),
  /** Whether this process relays the outbox to JetStream (every scheduler replica may). */
  TARMAC_OUTBOX_RELAY: z.enum(["on", "off"]).default("on"),
  /** BullMQ key prefix; workers must use the same one. */
  TARMAC_QUEUE_PREFIX: z.string().default("tarmac"),
  /** Base URL workers reach the gateway at (its job capability URLs hang off it). */
  TARMAC_GATEWAY_URL: url(undefined, { protocols: ["http:", "https:"] }).optional(),
  TARMAC_PUBLIC_URL: url(undefined, { protocols: ["http:", "https:"] }).optional(),
  /** The gateway's internal listener for workers; when set, TARMAC_GATEWAY_URL defaults to it. */
  TARMAC_INTERNAL_PORT: port().optional(),
  TARMAC_INTERNAL_HOST: z.string().min(1).default("127.0.0.1"),
  /** The deployment key job URLs are minted under; the gateway must use the same one. */
  ...deploymentKeyEnv,
  HEALTH_PORT: port(8081, { allowZero: true }),
  /** Wins over HEALTH_PORT, so one environment can hold every app's (`npm start`); 0 = any free port. */
  SCHEDULER_HEALTH_PORT: port(undefined, { allowZero: true }).optional(),
  TARMAC_RECONCILE_INTERVAL_MS: positiveInt(5_000),
  TARMAC_PLAN_TIMEOUT_MS: positiveInt(2 * HOUR_MS),
  TARMAC_APPLY_TIMEOUT_MS: positiveInt(24 * HOUR_MS),
  /** A running phase whose worker sent no heartbeat for this long is failed. */
  TARMAC_HEARTBEAT_TIMEOUT_MS: positiveInt(30_000),
  /** An agent that has not pinged the gateway for this long is lost: the job it holds errors. */
  TARMAC_AGENT_HEARTBEAT_TIMEOUT_MS: positiveInt(30_000),
  /** How long a queued run's finished BullMQ job may sit before the reconcile loop acts on it. */
  TARMAC_RECONCILE_GRACE_MS: durationMs(10_000),
  /** Handlers running at once per consumer in this process (six consumers). */
  TARMAC_SCHEDULER_CONCURRENCY: positiveInt(4),
  /**
   * How long an event a replica took may stay unacknowledged before JetStream hands it to
   * another replica: the delay after a replica crashes mid-event.
   */
  TARMAC_EVENT_ACK_WAIT_MS: positiveInt(30_000),
  /** A run task without a final result this long after its stage started errors (HCP: 10 minutes). */
  TARMAC_RUN_TASK_TIMEOUT_MS: positiveInt(10 * 60_000),
  /** How long one request to a run task's URL may take. */
  TARMAC_RUN_TASK_REQUEST_TIMEOUT_MS: positiveInt(10_000),
  /** PostgreSQL connections of this process; each handler holds one for its transaction. */
  TARMAC_DB_POOL_SIZE: positiveInt(20),
});

export type SchedulerEnv = z.infer<typeof schedulerEnvSchema>;

export function loadSchedulerEnv(env: NodeJS.ProcessEnv = process.env): SchedulerEnv {
  return parseEnv(schedulerEnvSchema, env);
}

/** The base URL workers use for job capability URLs. */
export function gatewayBaseUrl(env: SchedulerEnv): string {
  return (env.TARMAC_GATEWAY_URL ?? internalGatewayUrl(env) ?? env.TARMAC_PUBLIC_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
}

/** The API's public base URL, where run task integrations call back and download from. */
export function publicApiUrl(env: SchedulerEnv): string {
  return (env.TARMAC_PUBLIC_URL ?? env.TARMAC_GATEWAY_URL ?? "http://127.0.0.1:8080").replace(/\/+$/, "");
}

/** The gateway's plain-HTTP internal listener, as workers on the same network reach it. */
function internalGatewayUrl(env: SchedulerEnv): string | undefined {
  if (env.TARMAC_INTERNAL_PORT === undefined) return undefined;
  const host = env.TARMAC_INTERNAL_HOST;
  // A wildcard bind is reachable on loopback; an IPv6 literal needs brackets in a URL.
  const reachable = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "[::1]" : host.includes(":") ? `[${host}]` : host;
  return `http://${reachable}:${env.TARMAC_INTERNAL_PORT}`;
}
