"use strict";
// plan, apply, show, output, validate and version.

const fs = require("node:fs");
const { DoubleError } = require("./ui");
const { parseFlags } = require("./flags");
const { loadModule } = require("./config");
const { loadScript } = require("./script");
const { ignoreInterruptsFor } = require("./phase");
const { createPlan, readPlanFile, applyPlan } = require("./operation");
const { renderPlan, renderOutputs, renderValue } = require("./render");
const { planJson, stateValues } = require("./showjson");
const { readState } = require("./state");
const { platform } = require("./providers");

const DEFAULT_STATE = "terraform.tfstate";
const RULE = "─".repeat(77);

const PLAN_MODE_FLAGS = {
  destroy: "bool",
  refresh: "bool",
  "refresh-only": "bool",
  target: "multi",
  replace: "multi",
  var: "multi",
  "var-file": "multi",
};
const COMMON_FLAGS = {
  input: "bool",
  "no-color": "bool",
  lock: "bool",
  "lock-timeout": "string",
  parallelism: "int",
  state: "string",
  "compact-warnings": "bool",
};

function planOptions(values, ordered) {
  return {
    destroy: values.destroy === true,
    refresh: values.refresh !== false,
    refresh_only: values["refresh-only"] === true,
    targets: values.target || [],
    replaces: values.replace || [],
    var_args: ordered.filter((f) => f.name === "var" || f.name === "var-file"),
    state_path: values.state || DEFAULT_STATE,
  };
}

function targetWarning(ctx, options) {
  if (options.targets.length === 0) return;
  ctx.ui.warning(
    "Resource targeting is in effect",
    "You are creating a plan with the -target option, which means that the result of this plan may not represent all of the changes requested by the current configuration.\n\nThe -target option is not for routine use, and is provided only for exceptional situations such as recovering from errors or mistakes, or when Terraform specifically suggests to use it as part of an error message.",
  );
}

async function plan(ctx, args) {
  const script = loadScript(ctx.dir);
  ignoreInterruptsFor(script.plan.ignore_interrupt_seconds);
  const { values, ordered, rest } = parseFlags(args, { ...COMMON_FLAGS, ...PLAN_MODE_FLAGS, out: "string", "detailed-exitcode": "bool" }, "plan");
  if (rest.length > 0) {
    throw new DoubleError("Too many command line arguments", "To specify a working directory for the plan, use the global -chdir flag.");
  }
  const options = planOptions(values, ordered);
  const result = await createPlan(ctx, options, script.plan);
  for (const line of renderPlan(result, ctx.ui)) ctx.ui.out(line);
  targetWarning(ctx, options);
  if (values.out) fs.writeFileSync(values.out, JSON.stringify(result, null, 1) + "\n");
  if (!ctx.inAutomation) {
    ctx.ui.out("");
    ctx.ui.out(RULE);
    ctx.ui.out("");
    if (values.out) {
      ctx.ui.out(`Saved the plan to: ${values.out}`);
      ctx.ui.out("");
      ctx.ui.out("To perform exactly these actions, run the following command to apply:");
      ctx.ui.out(`    terraform apply "${values.out}"`);
    } else {
      ctx.ui.out(`Note: You didn't use the -out option to save this plan, so Terraform can't\nguarantee to take exactly these actions if you run "terraform apply" now.`);
    }
  }
  return values["detailed-exitcode"] && result.has_changes ? 2 : 0;
}

async function apply(ctx, args) {
  const script = loadScript(ctx.dir);
  ignoreInterruptsFor(script.apply.ignore_interrupt_seconds);
  const { values, ordered, rest } = parseFlags(
    args,
    { ...COMMON_FLAGS, ...PLAN_MODE_FLAGS, "auto-approve": "bool", "state-out": "string", backup: "string" },
    "apply",
  );
  if (rest.length > 1) {
    throw new DoubleError("Too many command line arguments", "Expected at most one positional argument: the path to a saved plan file.");
  }
  const options = planOptions(values, ordered);
  let saved;
  if (rest.length === 1) {
    if (options.var_args.length > 0) {
      throw new DoubleError(
        "Can't set variables when applying a saved plan",
        "The -var and -var-file options cannot be used when applying a saved plan file, because a saved plan includes the variable values that were set when it was created.",
      );
    }
    saved = readPlanFile(rest[0]);
  } else {
    if (!values["auto-approve"]) {
      throw new DoubleError("Apply requires confirmation", "Terraform cannot ask for confirmation because input is disabled; add -auto-approve to apply without confirmation.");
    }
    saved = await createPlan(ctx, options, script.plan);
    for (const line of renderPlan(saved, ctx.ui)) ctx.ui.out(line);
    targetWarning(ctx, options);
    ctx.ui.out("");
  }
  const statePath = values["state-out"] || values.state || (saved.options && saved.options.state_path) || DEFAULT_STATE;
  return applyPlan(ctx, saved, statePath, script.apply);
}

/** A file given to `show` is a plan file of the double or a state file. */
function readShowable(file) {
  let json;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch {
    json = undefined;
  }
  if (json && json.version === 4) return { state: json };
  if (json && json.format) return { plan: readPlanFile(file) };
  throw new DoubleError("Failed to read the given file as a state or plan file", `State read error: the file "${file}" is neither a state file nor a plan file of the terraform test double.`);
}

async function show(ctx, args) {
  const { values, rest } = parseFlags(args, { json: "bool", "no-color": "bool" }, "show");
  if (rest.length > 1) throw new DoubleError("Too many command line arguments", "Expected at most one positional argument.");
  const target = rest.length === 1 ? readShowable(rest[0]) : { state: readState(DEFAULT_STATE) };
  if (values.json) {
    const doc = target.plan ? planJson(target.plan) : stateValues(target.state, ctx.version);
    process.stdout.write(JSON.stringify(doc) + "\n");
    return 0;
  }
  if (target.plan) {
    for (const line of renderPlan(target.plan, ctx.ui)) ctx.ui.out(line);
    return 0;
  }
  if (!target.state || (target.state.resources || []).length === 0) {
    ctx.ui.out("The state file is empty. No resources are represented.");
    return 0;
  }
  const doc = stateValues(target.state, ctx.version);
  for (const r of doc.values.root_module.resources) {
    ctx.ui.out(`# ${r.address}:`);
    ctx.ui.out(`resource "${r.type}" "${r.name}" {`);
    for (const k of Object.keys(r.values).sort()) ctx.ui.out(`    ${k} = ${renderValue(r.values[k], "", 4)}`);
    ctx.ui.out("}");
    ctx.ui.out("");
  }
  return 0;
}

async function output(ctx, args) {
  const { values, rest } = parseFlags(args, { json: "bool", raw: "bool", "no-color": "bool", state: "string" }, "output");
  const state = readState(values.state || DEFAULT_STATE);
  const outputs = (state && state.outputs) || {};
  if (rest.length === 1) {
    const o = outputs[rest[0]];
    if (!o) {
      throw new DoubleError(`Output "${rest[0]}" not found`, "The output variable requested could not be found in the state file. If you recently added this to your configuration, be sure to run `terraform apply`, since the state won't be updated with new output variables until that command is run.");
    }
    if (values.raw) process.stdout.write(typeof o.value === "string" ? o.value : JSON.stringify(o.value));
    else if (values.json) process.stdout.write(JSON.stringify(o.value) + "\n");
    else ctx.ui.out(renderValue(o.value, "", 0));
    return 0;
  }
  if (values.json) {
    const doc = {};
    for (const [name, o] of Object.entries(outputs)) doc[name] = { sensitive: !!o.sensitive, type: o.type, value: o.value };
    process.stdout.write(JSON.stringify(doc, null, 2) + "\n");
    return 0;
  }
  if (Object.keys(outputs).length === 0) {
    ctx.ui.warning("No outputs found", "The state file either has no outputs defined, or all the defined outputs are empty. Please define an output in your configuration with the `output` keyword and run `terraform refresh` for it to become available. If you are using interpolation, please verify the interpolated value is not empty. You can use the `terraform console` command to assist.");
    return 0;
  }
  for (const line of renderOutputs(outputs)) ctx.ui.out(line);
  return 0;
}

async function validate(ctx, args) {
  const { values } = parseFlags(args, { json: "bool", "no-color": "bool" }, "validate");
  await loadModule(ctx.dir);
  if (values.json) {
    process.stdout.write(JSON.stringify({ format_version: "1.0", valid: true, error_count: 0, warning_count: 0, diagnostics: [] }, null, 2) + "\n");
  } else ctx.ui.out(ctx.ui.green(ctx.ui.bold("Success!") + " The configuration is valid."));
  return 0;
}

async function version(ctx, args) {
  const { values } = parseFlags(args, { json: "bool" }, "version");
  if (values.json) {
    const doc = { terraform_version: ctx.version, platform: platform(), provider_selections: {}, terraform_outdated: false };
    process.stdout.write(JSON.stringify(doc, null, 2) + "\n");
  } else {
    ctx.ui.out(`Terraform v${ctx.version}`);
    ctx.ui.out(`on ${platform()}`);
  }
  return 0;
}

module.exports = { plan, apply, show, output, validate, version };
