/**
 * Command lines for the terraform subcommands a run executes. Every command is non-interactive
 * (`-input=false`) and uncoloured (`-no-color`): the output becomes the run's log.
 */

export interface PlanArgsOptions {
  /** Where terraform saves the plan, relative to the working directory (or absolute). */
  planFile: string;
  isDestroy: boolean;
  /** false adds `-refresh=false`. */
  refresh: boolean;
  refreshOnly: boolean;
  targetAddrs: readonly string[];
  replaceAddrs: readonly string[];
  varFiles?: readonly string[];
  /** Machine-readable UI (`-json`): the log becomes JSON lines, as structured run output wants. */
  json?: boolean;
}

export function buildInitArgs(): string[] {
  return ["init", "-input=false", "-no-color"];
}

/**
 * `-detailed-exitcode` makes "succeeded with changes" exit 2, so callers must treat 0 and 2 as
 * success (see {@link isPlanSuccess}).
 */
export function buildPlanArgs(opts: PlanArgsOptions): string[] {
  if (opts.isDestroy && opts.refreshOnly) {
    throw new Error("a plan cannot be both a destroy plan and a refresh-only plan");
  }
  if (opts.refreshOnly && !opts.refresh) {
    throw new Error("a refresh-only plan cannot disable refresh");
  }
  const args = ["plan", "-input=false", "-no-color", `-out=${opts.planFile}`, "-detailed-exitcode"];
  if (opts.isDestroy) args.push("-destroy");
  if (!opts.refresh) args.push("-refresh=false");
  if (opts.refreshOnly) args.push("-refresh-only");
  for (const addr of opts.targetAddrs) args.push(`-target=${addr}`);
  for (const addr of opts.replaceAddrs) args.push(`-replace=${addr}`);
  for (const file of opts.varFiles ?? []) args.push(`-var-file=${file}`);
  if (opts.json) args.push("-json");
  return args;
}

/** Applying a saved plan needs no approval prompt; `-auto-approve` is harmless and explicit. */
export function buildApplyArgs(planFile: string, opts: { json?: boolean } = {}): string[] {
  return ["apply", "-input=false", "-no-color", "-auto-approve", ...(opts.json ? ["-json"] : []), planFile];
}

export function buildShowPlanArgs(planFile: string): string[] {
  return ["show", "-json", planFile];
}

/** Exit codes of `plan -detailed-exitcode`: 0 no changes, 2 changes, anything else an error. */
export function isPlanSuccess(exitCode: number | null): boolean {
  return exitCode === 0 || exitCode === 2;
}

/** The schemas of the providers the working directory's configuration uses (after init). */
export function buildProvidersSchemaArgs(): string[] {
  return ["providers", "schema", "-json"];
}
