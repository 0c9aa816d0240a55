import { archiveLimits } from "@tarmac/archive";
import { claimSandboxRoot, resolveCliConfigDirs, terraformBaseEnv } from "@tarmac/runner";
import { createLogger } from "@tarmac/telemetry";
import { Agent } from "./agent";
import { loadAgentEnv } from "./env";
import { AgentProtocolClient } from "./protocol-client";

/** Exit code when the agent token is rejected (revoked or invalid) or the agent's registration is gone: restarting as is will not help. */
export const EXIT_TOKEN_REJECTED = 3;

async function main(): Promise<void> {
  const env = loadAgentEnv();
  const logger = createLogger({ name: "agent", level: env.LOG_LEVEL });
  const cliConfig = await resolveCliConfigDirs(env);
  const sandboxes = await claimSandboxRoot({
    workDir: env.TARMAC_WORK_DIR,
    maxAgeMs: env.TARMAC_SANDBOX_MAX_AGE_MS,
    onRemoved: (dir, reason) => logger.info({ dir, reason }, "leftover sandbox removed"),
  });
  await sandboxes.sweep();

  const agent = new Agent({
    client: new AgentProtocolClient(env.TARMAC_ADDRESS, env.TARMAC_AGENT_TOKEN),
    logger,
    name: env.TARMAC_AGENT_NAME,
    capacity: env.TARMAC_AGENT_CAPACITY,
    pingIntervalMs: env.TARMAC_AGENT_PING_INTERVAL_MS,
    pollWaitMs: env.TARMAC_AGENT_POLL_WAIT_MS,
    heartbeatIntervalMs: env.TARMAC_HEARTBEAT_INTERVAL_MS,
    terraformNice: env.TARMAC_TERRAFORM_NICE,
    workDir: sandboxes.dir,
    ...(env.TARMAC_TERRAFORM_BIN ? { terraformBin: env.TARMAC_TERRAFORM_BIN } : {}),
    ...(env.TARMAC_TERRAFORM_VERSIONS_DIR ? { terraformVersionsDir: env.TARMAC_TERRAFORM_VERSIONS_DIR } : {}),
    terraformBaseEnv: terraformBaseEnv(process.env, env.TARMAC_TERRAFORM_ENV_PASSTHROUGH),
    cliConfig,
    archiveLimits: archiveLimits({
      maxCompressedBytes: env.TARMAC_MAX_ARCHIVE_BYTES,
      maxUnpackedBytes: env.TARMAC_MAX_UNPACKED_BYTES,
      deadlineMs: env.TARMAC_ARCHIVE_INSPECT_TIMEOUT_MS,
    }),
    onFatal: (err) => {
      // Give terraform a moment to die, then leave: nothing this agent can do helps.
      process.stderr.write(`tarmac-agent: ${err.message}; exiting\n`);
      // (Not unref'd: with polling stopped, nothing else keeps the process alive until then.)
      setTimeout(() => {
        void sandboxes.release().finally(() => process.exit(EXIT_TOKEN_REJECTED));
      }, 1_000);
    },
  });

  let isShuttingDown = false;
  const shutdown = (signal: string) => {
    if (isShuttingDown) return;
    isShuttingDown = true;
    logger.info({ signal }, "agent stopping");
    const force = setTimeout(() => process.exit(1), env.SHUTDOWN_TIMEOUT_MS + 5_000);
    force.unref();
    void agent
      .stop(Math.floor(env.SHUTDOWN_TIMEOUT_MS * 0.7))
      .then(() => sandboxes.release())
      .then(() => process.exit(0), () => process.exit(1));
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));

  await agent.start();
  logger.info({ name: env.TARMAC_AGENT_NAME, address: env.TARMAC_ADDRESS, capacity: env.TARMAC_AGENT_CAPACITY }, "agent started");
}

main().catch((err: unknown) => {
  // Configuration and boot errors (a rejected token at registration among them): say what is wrong and exit non-zero.
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`tarmac-agent: ${message}\n`);
  process.exit(/rejected \(401\)/.test(message) ? EXIT_TOKEN_REJECTED : 1);
});
