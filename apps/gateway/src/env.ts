import { z } from "zod";
import { commonEnv, databaseEnv, deploymentKeyEnv, natsEnv, notificationSendEnv, parseEnv, port, positiveInt, redisEnv } from "@tarmac/config";

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v));

const intFrom = (def: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return def;
      if (!/^\d+$/.test(v)) {
        ctx.addIssue({ code: "custom", message: `expected a non-negative integer, got "${v}"` });
        return z.NEVER;
      }
      return Number(v);
    });

export const gatewayEnvSchema = z.object({
  ...commonEnv,
  ...databaseEnv,
  ...redisEnv,
  ...natsEnv,
  PORT: port(8080),
  /** Absolute base URL clients reach the gateway at; capability URLs are built on it. */
  TARMAC_PUBLIC_URL: optionalString,
  TARMAC_ADMIN_TOKEN: optionalString,
  /** The site-admin user `admin`'s password for web sign-in, set when it has none yet (min. 8 characters). */
  TARMAC_ADMIN_PASSWORD: optionalString,
  /** Failed web sign-ins allowed per username per minute (5× per client address). 0 disables. */
  TARMAC_SIGN_IN_ATTEMPTS_PER_MINUTE: intFrom(10),
  /** TARMAC_ENCRYPTION_KEY(S_OLD): capability URL secrets and sensitive values (AES-256-GCM). */
  ...deploymentKeyEnv,
  /** Requests per second per token (HCP: 30). 0 disables. */
  TARMAC_RATE_LIMIT_PER_SECOND: intFrom(30),
  /** Requests per minute per token on the two run-list endpoints (HCP: 30). 0 disables. */
  TARMAC_RUN_LIST_RATE_LIMIT_PER_MINUTE: intFrom(30),
  TARMAC_FORCE_CANCEL_COOL_OFF_MS: intFrom(10_000),
  /** How long a run action's answer waits for the scheduler to carry it out (then 202 anyway). 0: answer at once. */
  TARMAC_ACTION_WAIT_MS: intFrom(3_000),
  /** Largest configuration archive accepted, compressed and unpacked. */
  TARMAC_MAX_ARCHIVE_BYTES: intFrom(100 * 1024 * 1024),
  TARMAC_MAX_UNPACKED_BYTES: intFrom(512 * 1024 * 1024),
  /** Largest state (or JSON state) accepted at a state version's upload URL. */
  TARMAC_MAX_STATE_BYTES: intFrom(100 * 1024 * 1024),
  /** Seconds sent as x-terraform-snapshot-interval (intermediate state snapshots during local applies). 0 disables. */
  TARMAC_STATE_SNAPSHOT_INTERVAL_SECONDS: intFrom(300),
  /** Wall-clock budget for inspecting one configuration archive (past it: refused, 422). */
  TARMAC_ARCHIVE_INSPECT_TIMEOUT_MS: intFrom(2_000),
  /** Configuration uploads read, inspected and stored at once per process; more wait their turn. */
  TARMAC_MAX_CONCURRENT_UPLOADS: intFrom(2),
  /** Deployment prefix of NATS subjects (and of per-deployment Redis keys such as rate-limit counters). */
  TARMAC_NATS_PREFIX: z.string().default("tarmac"),
  /** PostgreSQL connections of this process's query pool (plus 2 for large uploads and 1 for LISTEN). */
  TARMAC_DB_POOL_SIZE: positiveInt(10),
  /**
   * Gateway processes on this machine, sharing PORT (and the internal port) through node:cluster;
   * a process that dies is replaced. Rate limits are counted in Redis, shared by all of them.
   * Each process has its own database pool of TARMAC_DB_POOL_SIZE.
   */
  TARMAC_GATEWAY_PROCESSES: positiveInt(1),
  /**
   * The scheduler relays the outbox; "on" relays from the gateway too (a deployment without a
   * scheduler nearby). Off, the gateway needs no NATS at all.
   */
  TARMAC_OUTBOX_RELAY: z.enum(["on", "off"]).default("off"),
  /**
   * The web UI's live streams are woken by run and workspace events on NATS (one connection,
   * opened with the first stream); this slow re-read is their safety net for a NATS outage.
   */
  TARMAC_LIVE_SAFETY_POLL_MS: positiveInt(5_000),
  /** PEM certificate chain and key: HTTPS on PORT (both or neither, see tls.ts). */
  TARMAC_TLS_CERT_FILE: optionalString,
  TARMAC_TLS_KEY_FILE: optionalString,
  /** Plain-HTTP listener for workers only (job URLs, health); unset: none. */
  TARMAC_INTERNAL_PORT: port().optional(),
  TARMAC_INTERNAL_HOST: z.string().min(1).default("127.0.0.1"),
  /** Verification requests of notification configurations: timeout and SMTP server. */
  ...notificationSendEnv,
});

export type GatewayEnv = z.infer<typeof gatewayEnvSchema>;

export function loadGatewayEnv(env: NodeJS.ProcessEnv = process.env): GatewayEnv {
  return parseEnv(gatewayEnvSchema, env);
}
