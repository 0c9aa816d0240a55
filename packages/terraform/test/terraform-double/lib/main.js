"use strict";
// Entry point: global options (-chdir, -version, -help), invocation recording, dispatch.

const fs = require("node:fs");
const path = require("node:path");
const { DoubleError, Ui, Logger } = require("./ui");
const { installSignalHandlers } = require("./phase");
const { init } = require("./init");
const commands = require("./commands");
const { providers } = require("./schema");

const SUBCOMMANDS = {
  init,
  plan: commands.plan,
  apply: commands.apply,
  show: commands.show,
  output: commands.output,
  validate: commands.validate,
  version: commands.version,
  providers,
};

/** Which environment variables a recording keeps: terraform's own settings, never credentials. */
function recordedEnv(env) {
  const keep = {};
  for (const [k, v] of Object.entries(env)) {
    if (k === "TF_DOUBLE_RECORD" || k.startsWith("TF_TOKEN_")) continue;
    if (k.startsWith("TF_VAR_") || k.startsWith("TF_CLI_ARGS") || ["TF_LOG", "TF_LOG_PATH", "TF_IN_AUTOMATION", "TF_INPUT", "TF_DATA_DIR", "TF_WORKSPACE", "TF_DOUBLE_VERSION"].includes(k)) {
      keep[k] = v;
    }
  }
  return keep;
}

function record(argv, env) {
  if (!env.TF_DOUBLE_RECORD) return;
  const line = JSON.stringify({ argv, cwd: process.cwd(), env: recordedEnv(env), pid: process.pid, time: new Date().toISOString() });
  fs.appendFileSync(env.TF_DOUBLE_RECORD, line + "\n");
}

const HELP = `Usage: terraform [global options] <subcommand> [args]

This is the terraform test double. It implements the subcommands below with
terraform's arguments, exit codes and output formats, for tests only.

Main commands:
  init          Prepare your working directory for other commands
  validate      Check whether the configuration is valid
  plan          Show changes required by the current configuration
  apply         Create or update infrastructure

All other commands:
  output        Show output values from your root module
  show          Show the current state or a saved plan
  version       Show the current Terraform version

Global options (use these before the subcommand, if any):
  -chdir=DIR    Switch to a different working directory before executing the
                given subcommand.
  -help         Show this help output, or the help for a specified subcommand.
  -version      An alias for the "version" subcommand.`;

async function main(argv) {
  const env = process.env;
  record(argv, env);
  const ui = new Ui({ color: !argv.includes("-no-color") });
  const log = new Logger(env);
  installSignalHandlers(log);
  const version = env.TF_DOUBLE_VERSION || "1.9.8";
  log.info(`Terraform version: ${version}`);
  log.info(`Go runtime version: go1.22.5 (terraform test double)`);
  log.info(`CLI args: []string{${["terraform", ...argv].map((a) => JSON.stringify(a)).join(", ")}}`);

  let i = 0;
  let chdir;
  let subcommand;
  for (; i < argv.length && argv[i].startsWith("-"); i++) {
    const arg = argv[i];
    if (arg === "-v" || arg === "-version" || arg === "--version") {
      subcommand = "version";
      i++;
      break;
    } else if (arg === "-h" || arg === "-help" || arg === "--help") {
      ui.out(HELP);
      return 0;
    } else if (arg.startsWith("-chdir=")) chdir = arg.slice("-chdir=".length);
    else if (arg === "-chdir" && i + 1 < argv.length) chdir = argv[++i];
    else {
      ui.error("Invalid global option", `The global option ${arg} is not recognized. Global options go before the subcommand; the options of a subcommand go after it.`);
      return 1;
    }
  }
  if (!subcommand) subcommand = argv[i++];
  const args = argv.slice(i);
  if (!subcommand) {
    ui.out(HELP);
    return 1;
  }
  const run = SUBCOMMANDS[subcommand];
  if (!run) {
    process.stderr.write(`Terraform has no command named "${subcommand}".\n\nTo see all of Terraform's top-level commands, run:\n  terraform -help\n\n`);
    return 1;
  }
  if (chdir !== undefined) {
    try {
      process.chdir(chdir);
    } catch {
      ui.error(`Error handling -chdir option: chdir ${chdir}: no such file or directory`);
      return 1;
    }
  }
  log.trace(`Meta.Backend: working directory ${process.cwd()}`);
  const inAutomation = !!env.TF_IN_AUTOMATION;
  const ctx = {
    dir: process.cwd(),
    dataDir: path.resolve(env.TF_DATA_DIR || ".terraform"),
    env,
    ui,
    log,
    version,
    inAutomation,
  };
  try {
    const code = await run(ctx, args);
    log.debug(`${subcommand} exited with code ${code}`);
    return code;
  } catch (err) {
    if (!(err instanceof DoubleError)) throw err;
    ui.error(err.summary, err.detail);
    return 1;
  }
}

module.exports = { main };
