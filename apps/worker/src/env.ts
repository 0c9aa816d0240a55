import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { DEFAULT_ARCHIVE_LIMITS } from "@tarmac/archive";
import { commonEnv, durationMs, envNameList, natsEnv, niceness, parseEnv, port, positiveInt, redisEnv } from "@tarmac/config";

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

/**
 * Workers run untrusted configurations, so they get no DATABASE_URL: everything a job needs
 * comes through its capability URL.
 */
export const workerEnvSchema = z.object({
  ...commonEnv,
  ...redisEnv,
  ...natsEnv,
  TARMAC_NATS_PREFIX: z.string().default("tarmac"),
  TARMAC_QUEUE_PREFIX: z.string().default("tarmac"),
  /** Jobs run at once per phase queue. */
  WORKER_CONCURRENCY: positiveInt(2),
  /**
   * The niceness terraform and its providers run at, so that a run's CPU-heavy work yields to
   * this machine's control-plane processes (gateway, scheduler, event relay, this process's own
   * heartbeats); 0 runs them at the worker's own priority.
   */
  TARMAC_TERRAFORM_NICE: niceness(10),
  /** A path or a command name; when unset, `terraform` on PATH (or a version under the versions dir). */
  TARMAC_TERRAFORM_BIN: optionalString,
  /** A directory holding `<version>/terraform` for each installed version. */
  TARMAC_TERRAFORM_VERSIONS_DIR: optionalString,
  /** A terraform provider filesystem mirror: providers it holds are installed from it only. */
  TARMAC_PROVIDER_MIRROR_DIR: optionalString,
  /** terraform's plugin_cache_dir, shared by this worker's runs (created when missing). */
  TARMAC_PLUGIN_CACHE_DIR: optionalString,
  /** Where per-job sandboxes are created. */
  TARMAC_WORK_DIR: z.string().default(path.join(os.tmpdir(), "tarmac-worker")),
  /** Leftover sandboxes no live worker can be shown to own are removed past this age. */
  TARMAC_SANDBOX_MAX_AGE_MS: durationMs(24 * 3600 * 1000),
  HEALTH_PORT: port(8082, { allowZero: true }),
  /** Wins over HEALTH_PORT, so one environment can hold every app's (`npm start`); 0 = any free port. */
  WORKER_HEALTH_PORT: port(undefined, { allowZero: true }).optional(),
  TARMAC_HEARTBEAT_INTERVAL_MS: positiveInt(5_000),
  TARMAC_WORKER_ID: z.string().default(`${os.hostname()}-${process.pid}`),
  /** How long a live log stays in Redis after its last chunk (the durable copy is the blob). */
  TARMAC_LIVE_LOG_TTL_MS: durationMs(24 * 3600 * 1000),
  /** Configuration archive bounds, enforced again before extraction: keep them equal to the gateway's. */
  TARMAC_MAX_ARCHIVE_BYTES: positiveInt(DEFAULT_ARCHIVE_LIMITS.maxCompressedBytes),
  TARMAC_MAX_UNPACKED_BYTES: positiveInt(DEFAULT_ARCHIVE_LIMITS.maxUnpackedBytes),
  TARMAC_ARCHIVE_INSPECT_TIMEOUT_MS: positiveInt(DEFAULT_ARCHIVE_LIMITS.deadlineMs),
  /**
   * Names of this process's environment variables terraform inherits besides the basics (PATH,
   * HOME, proxies…), comma-separated: the worker's own settings stay private.
   */
  TARMAC_TERRAFORM_ENV_PASSTHROUGH: envNameList(),
});

export type WorkerEnv = z.infer<typeof workerEnvSchema>;

export function loadWorkerEnv(env: NodeJS.ProcessEnv = process.env): WorkerEnv {
  return parseEnv(workerEnvSchema, env);
}
