import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { DEFAULT_ARCHIVE_LIMITS } from "@tarmac/archive";
import { durationMs, envNameList, logLevel, niceness, parseEnv, positiveInt, url } from "@tarmac/config";

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));


/**
 * An agent runs in a network of its own and knows only Tarmac's address and its agent token:
 * there is no DATABASE_URL, REDIS_URL or NATS_URL to give it. The CA that signed the gateway's
 * certificate is trusted through NODE_EXTRA_CA_CERTS, or SSL_CERT_FILE (`npm start` runs node
 * with --use-openssl-ca, which makes OpenSSL read it).
 */
export const agentEnvSchema = z.object({
  LOG_LEVEL: logLevel("info"),
  /** The agent token of the pool (shown once when it was created). */
  TARMAC_AGENT_TOKEN: z.string().trim().min(1, "is required: the agent token of the pool this agent serves"),
  /** Tarmac's public address, e.g. https://tarmac.example.com. */
  TARMAC_ADDRESS: url(undefined, { protocols: ["https:", "http:"] }),
  TARMAC_AGENT_NAME: z.string().trim().min(1).default(os.hostname()),
  /** Jobs this agent runs at once; the pool's concurrency is the sum over its live agents. */
  TARMAC_AGENT_CAPACITY: positiveInt(1),
  /** How often the agent pings (the scheduler deems it lost after TARMAC_AGENT_HEARTBEAT_TIMEOUT_MS, default 30 s). */
  TARMAC_AGENT_PING_INTERVAL_MS: positiveInt(5_000),
  /** How long one poll for a job waits for one (the gateway caps it at 30 s). */
  TARMAC_AGENT_POLL_WAIT_MS: positiveInt(30_000),
  /** Progress heartbeats of a running phase. */
  TARMAC_HEARTBEAT_INTERVAL_MS: positiveInt(5_000),
  /**
   * The niceness terraform and its providers run at, so that a run's CPU-heavy work yields to
   * this machine's control-plane processes (this agent's own pings and
   * heartbeats, and whatever else serves on it); 0 runs them at the agent's own priority.
   */
  TARMAC_TERRAFORM_NICE: niceness(10),
  /** A path or a command name; when unset, `terraform` on PATH (or a version under the versions dir). */
  TARMAC_TERRAFORM_BIN: optionalString,
  TARMAC_TERRAFORM_VERSIONS_DIR: optionalString,
  TARMAC_PROVIDER_MIRROR_DIR: optionalString,
  TARMAC_PLUGIN_CACHE_DIR: optionalString,
  TARMAC_WORK_DIR: z.string().default(path.join(os.tmpdir(), "tarmac-agent")),
  TARMAC_SANDBOX_MAX_AGE_MS: durationMs(24 * 3600 * 1000),
  TARMAC_MAX_ARCHIVE_BYTES: positiveInt(DEFAULT_ARCHIVE_LIMITS.maxCompressedBytes),
  TARMAC_MAX_UNPACKED_BYTES: positiveInt(DEFAULT_ARCHIVE_LIMITS.maxUnpackedBytes),
  TARMAC_ARCHIVE_INSPECT_TIMEOUT_MS: positiveInt(DEFAULT_ARCHIVE_LIMITS.deadlineMs),
  /** Budget for a graceful stop (SIGTERM): running phases are interrupted and report errored. */
  SHUTDOWN_TIMEOUT_MS: durationMs(20_000),
  /** This process's variables terraform inherits besides the basics (PATH, HOME, proxies, CA files…). */
  TARMAC_TERRAFORM_ENV_PASSTHROUGH: envNameList(),
});

export type AgentEnv = z.infer<typeof agentEnvSchema>;

export function loadAgentEnv(env: NodeJS.ProcessEnv = process.env): AgentEnv {
  return parseEnv(agentEnvSchema, env);
}
