"use strict";
// Provider "installation": init records versions in .terraform.lock.hcl and creates the
// package directories under the data dir; plan refuses to run without them, as terraform does.

const fs = require("node:fs");
const path = require("node:path");
const { DoubleError } = require("./ui");
const { parseHcl } = require("./config");

const LOCK_FILE = ".terraform.lock.hcl";
const KNOWN_VERSIONS = { null: "3.2.3", random: "3.6.3", time: "0.12.1", local: "2.5.2" };

function platform() {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  return `${process.platform}_${arch}`;
}

function latestVersion(addr) {
  return KNOWN_VERSIONS[addr.split("/").pop()] || "1.0.0";
}

/** "registry.terraform.io/hashicorp/null" -> "hashicorp/null", as terraform displays it. */
function displayName(addr) {
  return addr.startsWith("registry.terraform.io/") ? addr.slice("registry.terraform.io/".length) : addr;
}

async function readLock(dir) {
  const file = path.join(dir, LOCK_FILE);
  if (!fs.existsSync(file)) return new Map();
  const parsed = await parseHcl(LOCK_FILE, fs.readFileSync(file, "utf8"));
  const out = new Map();
  for (const [addr, bodies] of Object.entries(parsed.provider || {})) {
    const body = Array.isArray(bodies) ? bodies[0] : bodies;
    if (body && typeof body.version === "string") out.set(addr, body.version);
  }
  return out;
}

function writeLock(dir, selections) {
  const blocks = [...selections.entries()].sort().map(
    ([addr, version]) => `provider "${addr}" {\n  version = "${version}"\n  hashes = [\n    "h1:terraform-double-${version}=",\n  ]\n}\n`,
  );
  const text = `# This file is maintained automatically by "terraform init".\n# Manual edits may be lost in future updates.\n\n${blocks.join("\n")}`;
  fs.writeFileSync(path.join(dir, LOCK_FILE), text);
}

function packageDir(dataDir, addr, version) {
  return path.join(dataDir, "providers", ...addr.split("/"), version, platform());
}

function installPackage(dataDir, addr, version) {
  const dir = packageDir(dataDir, addr, version);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, `terraform-provider-${addr.split("/").pop()}_v${version}`), "");
}

async function checkInstalled(dir, dataDir, required) {
  if (required.length === 0) return;
  const lock = await readLock(dir);
  const missing = required.filter((addr) => !lock.has(addr));
  if (missing.length > 0) {
    throw new DoubleError(
      "Inconsistent dependency lock file",
      "The following dependency selections recorded in the lock file are inconsistent with the current configuration:\n" +
        missing.map((a) => `  - provider ${a}: required by this configuration but no version is selected`).join("\n") +
        "\n\nTo make the initial dependency selections that will initialize the dependency lock file, run:\n  terraform init",
    );
  }
  const absent = required.filter((addr) => !fs.existsSync(packageDir(dataDir, addr, lock.get(addr))));
  if (absent.length > 0) {
    throw new DoubleError(
      "Required plugins are not installed",
      "The installed provider plugins are not consistent with the packages selected in the dependency lock file:\n" +
        absent.map((a) => `  - ${a}: there is no package for ${a} ${lock.get(a)} cached in ${path.relative(dir, path.join(dataDir, "providers")) || "."}`).join("\n") +
        "\n\nTerraform uses external plugins to integrate with a variety of different infrastructure services. To download the plugins required for this configuration, run:\n  terraform init",
    );
  }
}

module.exports = { readLock, writeLock, installPackage, checkInstalled, latestVersion, displayName, platform, LOCK_FILE };
