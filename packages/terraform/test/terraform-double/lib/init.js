"use strict";
// `terraform init`: validates the configuration, "installs" its providers (lock file entries and
// package directories under the data dir), and prints terraform's init messages.

const fs = require("node:fs");
const { DoubleError } = require("./ui");
const { parseFlags } = require("./flags");
const { loadModule, requiredProviderAddrs } = require("./config");
const { readLock, writeLock, installPackage, latestVersion, displayName, LOCK_FILE } = require("./providers");

const INIT_FLAGS = {
  input: "bool",
  "no-color": "bool",
  backend: "bool",
  "backend-config": "multi",
  upgrade: "bool",
  reconfigure: "bool",
  "migrate-state": "bool",
  "force-copy": "bool",
  get: "bool",
  "plugin-dir": "multi",
  lockfile: "string",
  lock: "bool",
  "lock-timeout": "string",
};

async function init(ctx, args) {
  const { values, rest } = parseFlags(args, INIT_FLAGS, "init");
  if (rest.length > 0) throw new DoubleError("Too many command line arguments", "Did you mean to use -chdir?");
  let mod;
  try {
    mod = await loadModule(ctx.dir);
  } catch (err) {
    if (err instanceof DoubleError) {
      process.stderr.write(
        "Terraform encountered problems during initialisation, including problems\nwith the configuration, described below.\n\nThe Terraform configuration must be valid before initialization so that\nTerraform can determine which modules and providers need to be installed.\n",
      );
    }
    throw err;
  }
  if (mod.files.length === 0) {
    ctx.ui.out(ctx.ui.bold("Terraform initialized in an empty directory!"));
    ctx.ui.out("");
    ctx.ui.out("The directory has no Terraform configuration files. You may begin working\nwith Terraform immediately by creating Terraform configuration files.");
    return 0;
  }
  fs.mkdirSync(ctx.dataDir, { recursive: true });
  if (values.backend !== false) {
    ctx.ui.out(ctx.ui.bold("Initializing the backend..."));
  }
  ctx.ui.out(ctx.ui.bold("Initializing provider plugins..."));
  const lock = await readLock(ctx.dir);
  const hadLock = fs.existsSync(`${ctx.dir}/${LOCK_FILE}`);
  let lockChanged = false;
  for (const addr of requiredProviderAddrs(mod)) {
    let version = values.upgrade ? undefined : lock.get(addr);
    if (version) ctx.ui.out(`- Reusing previous version of ${displayName(addr)} from the dependency lock file`);
    else {
      ctx.ui.out(`- Finding latest version of ${displayName(addr)}...`);
      version = latestVersion(addr);
      lock.set(addr, version);
      lockChanged = true;
    }
    ctx.log.debug(`installing provider ${addr} v${version} into ${ctx.dataDir}`);
    ctx.ui.out(`- Installing ${displayName(addr)} v${version}...`);
    installPackage(ctx.dataDir, addr, version);
    ctx.ui.out(`- Installed ${displayName(addr)} v${version} (signed by HashiCorp)`);
  }
  if (lockChanged) {
    if (values.lockfile === "readonly") {
      throw new DoubleError("Provider dependency changes detected", "Changes to the required provider dependencies were detected, but the lock file is read-only. To use and record these requirements, run \"terraform init\" without the \"-lockfile=readonly\" flag.");
    }
    writeLock(ctx.dir, lock);
    ctx.ui.out(
      hadLock
        ? "Terraform has made some changes to the provider dependency selections recorded\nin the .terraform.lock.hcl file. Review those changes and commit them to your\nversion control system if they represent changes you intended to make."
        : "Terraform has created a lock file .terraform.lock.hcl to record the provider\nselections it made above. Include this file in your version control repository\nso that Terraform can guarantee to make the same selections by default when\nyou run \"terraform init\" in the future.",
    );
  }
  ctx.ui.out("");
  ctx.ui.out(ctx.ui.bold(ctx.ui.green("Terraform has been successfully initialized!")));
  if (!ctx.inAutomation) {
    ctx.ui.out(
      ctx.ui.green(
        '\nYou may now begin working with Terraform. Try running "terraform plan" to see\nany changes that are required for your infrastructure. All Terraform commands\nshould now work.\n\nIf you ever set or change modules or backend configuration for Terraform,\nrerun this command to reinitialize your working directory. If you forget, other\ncommands will detect it and remind you to do so if necessary.',
      ),
    );
  }
  return 0;
}

module.exports = { init };
