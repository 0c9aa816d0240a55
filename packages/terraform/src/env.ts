/** The environment terraform runs with. */

export interface TerraformEnvOptions {
  /** The worker's own environment to start from (PATH, HOME, proxies...). */
  base: Readonly<Record<string, string | undefined>>;
  /** Environment variables of the workspace and run (category "env"). */
  variables?: Readonly<Record<string, string>>;
  /** The run's debugging-mode: terraform logs at TRACE level into the run's log. */
  debuggingMode?: boolean;
}

export function buildTerraformEnv(opts: TerraformEnvOptions): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(opts.base)) if (value !== undefined) env[key] = value;
  Object.assign(env, opts.variables ?? {});
  // Automation wording in terraform's output, never a prompt, no version-check calls home.
  env.TF_IN_AUTOMATION = "1";
  env.TF_INPUT = "0";
  env.CHECKPOINT_DISABLE = "1";
  if (opts.debuggingMode) env.TF_LOG = "TRACE";
  return env;
}
