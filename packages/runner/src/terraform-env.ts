/**
 * Terraform runs untrusted configurations: it inherits only what it needs from the worker's
 * environment (never REDIS_URL, NATS_URL or other worker settings), plus the operator's explicit
 * passthrough list.
 */
export const BASE_PASSTHROUGH = [
  "PATH",
  "HOME",
  "USER",
  "LANG",
  "LC_ALL",
  "TZ",
  "TMPDIR",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "no_proxy",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
] as const;

/**
 * Written by the worker for each job (cli-config.ts): the host's CLI configuration and plugin cache
 * never reach a run, even when listed in the passthrough.
 */
const WORKER_OWNED = new Set(["TF_CLI_CONFIG_FILE", "TF_PLUGIN_CACHE_DIR"]);

export function terraformBaseEnv(source: NodeJS.ProcessEnv, extra: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of [...BASE_PASSTHROUGH, ...extra]) {
    if (WORKER_OWNED.has(name)) continue;
    const value = source[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}
