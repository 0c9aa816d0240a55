import { mkdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ArchiveLimits } from "@tarmac/archive";
import type { JobSpec } from "@tarmac/contracts";
import { writeLocalBackendOverride, writeVariables, type RunVariable } from "@tarmac/terraform";
import { extractConfiguration } from "./extract";

export class PreparationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PreparationError";
  }
}

export interface PreparedWorkspace {
  /** The directory terraform runs in (the configuration root joined with the working directory). */
  workingDir: string;
  /** The state restored as terraform.tfstate, or null when the workspace had none. */
  initialState: Buffer | null;
  /** Environment variables of the workspace and the run. */
  env: Record<string, string>;
}

export const STATE_FILE = "terraform.tfstate";

/** The working directory inside the configuration root, refusing anything that leaves it. */
export function resolveWorkingDir(root: string, workingDirectory: string | null): string {
  const rel = (workingDirectory ?? "").replace(/\\/g, "/").replace(/^\/+/, "").trim();
  if (rel === "") return root;
  const normalized = path.posix.normalize(rel).replace(/\/+$/, "");
  if (normalized.startsWith("..") || path.isAbsolute(normalized) || normalized.split("/").includes("..")) {
    throw new PreparationError(`the workspace's working directory "${workingDirectory}" leaves the configuration`);
  }
  return path.join(root, normalized);
}

/**
 * Workspace variables first, run variables last, so the run's win (as on HCP). Run variables are
 * terraform variables whose values are HCL literals.
 */
export function mergeVariables(spec: JobSpec): RunVariable[] {
  const vars: RunVariable[] = spec.variables.map((v) => ({ key: v.key, value: v.value, category: v.category, hcl: v.hcl }));
  for (const v of spec.run.variables) vars.push({ key: v.key, value: v.value, category: "terraform", hcl: true });
  return vars;
}

export interface PrepareOptions {
  sandbox: string;
  spec: JobSpec;
  archive: Buffer;
  state: Buffer | null;
  /**
   * Terraform variables go into an auto-loaded tfvars file for a plan; an apply of a saved plan
   * takes them from the plan (terraform refuses new values then), so it only needs the env ones.
   */
  writeTerraformVariables: boolean;
  /** The bounds the gateway inspected the archive with; the package defaults when absent. */
  archiveLimits?: ArchiveLimits;
}

export async function prepareWorkspace(opts: PrepareOptions): Promise<PreparedWorkspace> {
  const root = path.join(opts.sandbox, "config");
  await mkdir(root, { recursive: true, mode: 0o700 });
  const archiveFile = path.join(opts.sandbox, "config.tar.gz");
  await writeFile(archiveFile, opts.archive, { mode: 0o600 });
  await extractConfiguration(archiveFile, root, opts.archiveLimits);

  const workingDir = resolveWorkingDir(root, opts.spec.workspace.workingDirectory);
  const info = await stat(workingDir).catch(() => null);
  if (!info?.isDirectory()) {
    throw new PreparationError(`the working directory "${opts.spec.workspace.workingDirectory}" does not exist in the configuration`);
  }
  if (opts.state) await writeFile(path.join(workingDir, STATE_FILE), opts.state, { mode: 0o600 });

  const vars = mergeVariables(opts.spec).filter((v) => opts.writeTerraformVariables || v.category === "env");
  let env: Record<string, string>;
  try {
    ({ env } = await writeVariables(workingDir, vars));
  } catch (err) {
    throw new PreparationError((err as Error).message);
  }
  await writeLocalBackendOverride(workingDir);
  return { workingDir, initialState: opts.state, env };
}
