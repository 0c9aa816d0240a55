import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { mirroredProviders, renderCliConfig, resolveCliConfigDirs, writeCliConfig } from "@tarmac/runner";
import { terraformBaseEnv } from "@tarmac/runner";

const run = promisify(execFile);
const platform = `${process.platform}_${process.arch === "x64" ? "amd64" : process.arch}`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "tarmac-cli-config-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** An unpacked filesystem-mirror entry: HOSTNAME/NAMESPACE/TYPE/VERSION/OS_ARCH/terraform-provider-TYPE_vVERSION. */
async function mirrorProvider(mirror: string, address: string, version: string): Promise<void> {
  const type = address.split("/").pop() as string;
  const pkg = path.join(mirror, ...address.split("/"), version, platform);
  await mkdir(pkg, { recursive: true });
  await writeFile(path.join(pkg, `terraform-provider-${type}_v${version}`), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
}

describe("the worker's terraform CLI configuration", () => {
  it("says only disable_checkpoint without a mirror or cache: terraform's defaults otherwise", () => {
    expect(renderCliConfig({})).toBe("# Written by the Tarmac worker for one run; the host's CLI configuration is not used.\ndisable_checkpoint = true\n");
  });

  it("installs mirrored providers from the mirror only and the rest directly, with a plugin cache", () => {
    const text = renderCliConfig({ providerMirrorDir: "/srv/mirror", pluginCacheDir: "/var/cache/tf ${x}" }, ["example.com/acme/a", "registry.terraform.io/hashicorp/null"]);
    expect(text).toContain('plugin_cache_dir = "/var/cache/tf $${x}"');
    expect(text).toContain(
      [
        "provider_installation {",
        "  filesystem_mirror {",
        '    path    = "/srv/mirror"',
        '    include = ["example.com/acme/a", "registry.terraform.io/hashicorp/null"]',
        "  }",
        "  direct {",
        '    exclude = ["example.com/acme/a", "registry.terraform.io/hashicorp/null"]',
        "  }",
        "}",
      ].join("\n"),
    );
  });

  it("finds the providers of both mirror layouts and ignores hidden entries", async () => {
    await mirrorProvider(dir, "registry.terraform.io/hashicorp/null", "3.2.3");
    await mkdir(path.join(dir, "example.com", "acme", "packed"), { recursive: true });
    await writeFile(path.join(dir, "example.com", "acme", "packed", `terraform-provider-packed_1.0.0_${platform}.zip`), "");
    await mkdir(path.join(dir, ".git", "x", "y"), { recursive: true });
    expect(await mirroredProviders(dir)).toEqual(["example.com/acme/packed", "registry.terraform.io/hashicorp/null"]);
  });

  it("never lets the host's CLI configuration or plugin cache through, even when listed", () => {
    const env = terraformBaseEnv({ PATH: "/bin", TF_CLI_CONFIG_FILE: "/root/.terraformrc", TF_PLUGIN_CACHE_DIR: "/c" }, ["TF_CLI_CONFIG_FILE"]);
    expect(env).toEqual({ PATH: "/bin" });
  });

  it("refuses a mirror that is not a directory and creates the plugin cache", async () => {
    await expect(resolveCliConfigDirs({ TARMAC_PROVIDER_MIRROR_DIR: path.join(dir, "absent") })).rejects.toThrow(/TARMAC_PROVIDER_MIRROR_DIR/);
    await expect(resolveCliConfigDirs({ TARMAC_PROVIDER_MIRROR_DIR: dir, TARMAC_PLUGIN_CACHE_DIR: dir })).rejects.toThrow(/TARMAC_PLUGIN_CACHE_DIR/);
    const opts = await resolveCliConfigDirs({ TARMAC_PROVIDER_MIRROR_DIR: dir, TARMAC_PLUGIN_CACHE_DIR: path.join(dir, "..", `${path.basename(dir)}-cache`) });
    expect((await stat(opts.pluginCacheDir as string)).isDirectory()).toBe(true);
    await rm(opts.pluginCacheDir as string, { recursive: true });
  });

  // The real terraform (on PATH on every machine of this project) reads the generated file:
  // `init` installs a provider no registry has, from the mirror, without any network.
  it("makes the real terraform init install a required provider from the mirror, offline", async () => {
    const mirror = path.join(dir, "mirror");
    const cache = path.join(dir, "cache");
    await mirrorProvider(mirror, "example.com/tarmac/fake", "1.0.0");
    await mkdir(cache);
    const work = path.join(dir, "work");
    await mkdir(work);
    await writeFile(
      path.join(work, "main.tf"),
      'terraform {\n  required_providers {\n    fake = {\n      source  = "example.com/tarmac/fake"\n      version = "1.0.0"\n    }\n  }\n}\n',
    );
    const configFile = await writeCliConfig(dir, { providerMirrorDir: mirror, pluginCacheDir: cache });
    const { stdout } = await run("terraform", ["init", "-input=false", "-no-color"], {
      cwd: work,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, TF_CLI_CONFIG_FILE: configFile, CHECKPOINT_DISABLE: "1", TF_IN_AUTOMATION: "1" },
      timeout: 60_000,
    });
    expect(stdout).toMatch(/Installing example\.com\/tarmac\/fake v1\.0\.0/);
    expect(stdout).not.toMatch(/Unable to open CLI configuration file/);
    expect(await readFile(path.join(work, ".terraform.lock.hcl"), "utf8")).toContain('provider "example.com/tarmac/fake"');
    // The plugin cache now holds the package too: the next run links it instead of copying the mirror.
    expect((await stat(path.join(cache, "example.com", "tarmac", "fake", "1.0.0", platform))).isDirectory()).toBe(true);
  }, 90_000);
});
