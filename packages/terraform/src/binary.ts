/** Chooses the terraform executable a run uses. */
import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import path from "node:path";

export interface ResolveTerraformBinOptions {
  /** A path, or a command name looked up on the search path. Wins over everything else. */
  explicitBin?: string;
  /** A directory holding `<version>/terraform` for each installed version. */
  versionsDir?: string;
  /** The workspace's terraform-version; only an exact version selects from versionsDir. */
  version?: string;
  /** The PATH to search; defaults to this process's PATH, as spawning a command name would. */
  searchPath?: string;
}

export type ResolvedTerraformBin = { ok: true; path: string } | { ok: false; message: string };

const EXACT_VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?$/;

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    const info = await stat(file);
    if (!info.isFile()) return false;
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string, searchPath: string): Promise<string | undefined> {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

export async function resolveTerraformBin(opts: ResolveTerraformBinOptions): Promise<ResolvedTerraformBin> {
  const searchPath = opts.searchPath ?? process.env.PATH ?? "";
  if (opts.explicitBin !== undefined && opts.explicitBin !== "") {
    const bin = opts.explicitBin;
    if (bin.includes("/") || bin.includes(path.sep)) {
      const full = path.resolve(bin);
      if (await isExecutableFile(full)) return { ok: true, path: full };
      return { ok: false, message: `the configured terraform binary ${full} (TARMAC_TERRAFORM_BIN) is not an executable file` };
    }
    const found = await findOnPath(bin, searchPath);
    if (found) return { ok: true, path: found };
    return { ok: false, message: `the configured terraform binary "${bin}" (TARMAC_TERRAFORM_BIN) was not found on PATH` };
  }
  // The version comes from API input: only an exact version may become part of a path.
  const version = opts.version && EXACT_VERSION.test(opts.version) ? opts.version : undefined;
  if (opts.versionsDir && version) {
    const candidate = path.join(path.resolve(opts.versionsDir), version, "terraform");
    if (await isExecutableFile(candidate)) return { ok: true, path: candidate };
  }
  const onPath = await findOnPath("terraform", searchPath);
  if (onPath) return { ok: true, path: onPath };
  const what = opts.version ? `terraform ${opts.version}` : "terraform";
  const where = opts.versionsDir
    ? `install it under ${path.join(path.resolve(opts.versionsDir), version ?? "<version>")}`
    : "put terraform on PATH";
  return { ok: false, message: `${what} is not available on this worker: set TARMAC_TERRAFORM_BIN or ${where}` };
}
