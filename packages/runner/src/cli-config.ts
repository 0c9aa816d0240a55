import { mkdir, readdir, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { encodeHclString } from "@tarmac/terraform";

/**
 * Terraform's CLI configuration for a job, written by the worker: the host's TF_CLI_CONFIG_FILE
 * (or ~/.terraformrc) is never what a run sees. It says where providers come from, so installations
 * without internet access run real providers from a filesystem mirror, and where a shared plugin
 * cache lives.
 */
export interface CliConfigOptions {
  /**
   * A filesystem mirror (`terraform providers mirror` output, or unpacked
   * HOSTNAME/NAMESPACE/TYPE/VERSION/OS_ARCH/ directories). Providers found there are installed
   * only from it; others still come from their registry.
   */
  providerMirrorDir?: string;
  /** terraform's plugin_cache_dir: providers installed once per machine, not once per run. */
  pluginCacheDir?: string;
}

export const CLI_CONFIG_FILE = "tarmac.tfrc";

const isDirName = (name: string) => !name.startsWith(".");

/** HOSTNAME/NAMESPACE/TYPE addresses the mirror holds (either layout has them as directories). */
export async function mirroredProviders(mirrorDir: string): Promise<string[]> {
  const dirs = async (dir: string) =>
    (await readdir(dir, { withFileTypes: true }).catch(() => [])).filter((e) => e.isDirectory() && isDirName(e.name)).map((e) => e.name);
  const out: string[] = [];
  for (const host of await dirs(mirrorDir)) {
    for (const namespace of await dirs(path.join(mirrorDir, host))) {
      for (const type of await dirs(path.join(mirrorDir, host, namespace))) out.push(`${host}/${namespace}/${type}`);
    }
  }
  return out.sort();
}

const hclList = (items: readonly string[]) => `[${items.map(encodeHclString).join(", ")}]`;

/** The file's text; `mirrored` is what {@link mirroredProviders} found. */
export function renderCliConfig(opts: CliConfigOptions, mirrored: readonly string[] = []): string {
  const lines = ["# Written by the Tarmac worker for one run; the host's CLI configuration is not used.", "disable_checkpoint = true"];
  if (opts.pluginCacheDir) lines.push(`plugin_cache_dir = ${encodeHclString(opts.pluginCacheDir)}`);
  // With nothing mirrored, terraform's defaults (the registry) apply: an include list may not be empty.
  if (opts.providerMirrorDir && mirrored.length > 0) {
    lines.push(
      "",
      "provider_installation {",
      "  filesystem_mirror {",
      `    path    = ${encodeHclString(opts.providerMirrorDir)}`,
      `    include = ${hclList(mirrored)}`,
      "  }",
      "  direct {",
      `    exclude = ${hclList(mirrored)}`,
      "  }",
      "}",
    );
  }
  return lines.join("\n") + "\n";
}

/** Writes the job's CLI configuration into its sandbox (outside the configuration) and returns its path. */
export async function writeCliConfig(sandbox: string, opts: CliConfigOptions): Promise<string> {
  const mirrored = opts.providerMirrorDir ? await mirroredProviders(opts.providerMirrorDir) : [];
  const file = path.join(sandbox, CLI_CONFIG_FILE);
  await writeFile(file, renderCliConfig(opts, mirrored), { mode: 0o600 });
  return file;
}

/**
 * At start: the mirror must be a directory, the plugin cache is created when missing (terraform
 * will not), and the two must differ (terraform documents that a cache is not a mirror).
 */
export async function resolveCliConfigDirs(env: { TARMAC_PROVIDER_MIRROR_DIR?: string | undefined; TARMAC_PLUGIN_CACHE_DIR?: string | undefined }): Promise<CliConfigOptions> {
  const opts: CliConfigOptions = {};
  if (env.TARMAC_PROVIDER_MIRROR_DIR) {
    const dir = path.resolve(env.TARMAC_PROVIDER_MIRROR_DIR);
    const info = await stat(dir).catch(() => null);
    if (!info?.isDirectory()) throw new Error(`TARMAC_PROVIDER_MIRROR_DIR: ${dir} is not a directory`);
    opts.providerMirrorDir = dir;
  }
  if (env.TARMAC_PLUGIN_CACHE_DIR) {
    const dir = path.resolve(env.TARMAC_PLUGIN_CACHE_DIR);
    if (dir === opts.providerMirrorDir) throw new Error("TARMAC_PLUGIN_CACHE_DIR: the plugin cache cannot be the provider mirror");
    await mkdir(dir, { recursive: true });
    opts.pluginCacheDir = dir;
  }
  return opts;
}
