"use strict";
// The two operations behind plan and apply: creating a plan (config + variables + state ->
// changes) and applying one (changes -> new state), each paced by the behaviour script.

const fs = require("node:fs");
const { DoubleError } = require("./ui");
const { loadModule, providerFor, requiredProviderAddrs } = require("./config");
const { makeEvaluator, resolveVariables } = require("./eval");
const { checkInstalled } = require("./providers");
const { expandResources, computeChanges, computeOutputChanges, countChanges, resolveResourceRefs } = require("./plan");
const { configurationJson } = require("./showjson");
const { readState, writeState, stateInstances, buildResources, stateOutputs, newLineage, newResourceId, stableJson } = require("./state");
const { isInterrupted, runFor, formatElapsed } = require("./phase");

const PLAN_FORMAT = "terraform-double-plan";

function isActive(change) {
  return change.actions.join(",") !== "no-op" || !!change.importing;
}

function checkPlanOptions(options) {
  if (options.destroy && options.refresh_only) {
    throw new DoubleError("Incompatible plan mode options", "The -destroy and -refresh-only options are mutually-exclusive.");
  }
  if (options.refresh_only && !options.refresh) {
    throw new DoubleError("Incompatible refresh options", "It doesn't make sense to use -refresh-only at the same time as -refresh=false, because Terraform would have nothing to do.");
  }
}

async function createPlan(ctx, options, script) {
  checkPlanOptions(options);
  const mod = await loadModule(ctx.dir);
  if (mod.files.length === 0 && !options.destroy) {
    throw new DoubleError(
      "No configuration files",
      "Plan requires configuration to be present. Planning without a configuration would mark everything for destruction, which is normally not what is desired. If you would like to destroy everything, run plan with the -destroy option. Otherwise, create a Terraform configuration file (.tf file) and try again.",
    );
  }
  await checkInstalled(ctx.dir, ctx.dataDir, requiredProviderAddrs(mod));
  const variables = await resolveVariables({ dir: ctx.dir, declared: mod.variables, env: ctx.env, varArgs: options.var_args, ui: ctx.ui });
  const evaluator = makeEvaluator({ variables, locals: mod.locals });
  const desired = expandResources(mod, evaluator);
  const priorState = readState(options.state_path);
  ctx.log.trace(`backend/local: building plan with ${desired.size} configured instances`);

  if (options.refresh) {
    for (const inst of stateInstances(priorState).values()) {
      if (inst.mode !== "managed") continue;
      if (options.targets.length > 0 && !options.targets.some((t) => inst.address === t || inst.address.startsWith(`${t}[`))) continue;
      ctx.ui.out(`${inst.address}: Refreshing state... [id=${inst.attributes.id}]`);
    }
  }
  const completed = await runFor(script.seconds * 1000, (s) => ctx.ui.out(`Still planning... [${formatElapsed(s)} elapsed]`));
  if (!completed || isInterrupted()) {
    ctx.ui.out("Stopping operation...");
    throw new DoubleError("operation canceled");
  }
  if (script.fail) {
    throw new DoubleError("Scripted plan failure", "The terraform-double.json file of this configuration asks the terraform test double to fail the plan.");
  }

  const { changes, planned } = computeChanges({ mod, desired, priorState, options });
  const { outputs, outputChanges } = computeOutputChanges({ mod, evaluator, priorState, planned, options });
  const counts = countChanges(changes);
  const hasChanges = changes.some(isActive) || Object.values(outputChanges).some((o) => o.actions[0] !== "no-op");
  return {
    format: PLAN_FORMAT,
    format_version: 1,
    terraform_version: ctx.version,
    timestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    options,
    variables: Object.fromEntries(variables),
    prior_state: priorState,
    changes,
    output_changes: outputChanges,
    planned_state: { instances: planned, outputs },
    counts,
    has_changes: hasChanges,
    applyable: hasChanges,
    complete: true,
    errored: false,
    configuration: configurationJson(mod, providerFor),
  };
}

function readPlanFile(file) {
  let plan;
  try {
    plan = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (err) {
    throw new DoubleError(`Failed to load "${file}" as a plan file`, `Error: ${err.code === "ENOENT" ? `open ${file}: no such file or directory` : "the file is not a plan file of the terraform test double"}`);
  }
  if (!plan || plan.format !== PLAN_FORMAT) {
    throw new DoubleError(`Failed to load "${file}" as a plan file`, "Error: the file is not a plan file of the terraform test double");
  }
  return plan;
}

const VERBS = {
  create: { start: "Creating...", still: "creating", done: "Creation complete" },
  update: { start: "Modifying...", still: "modifying", done: "Modifications complete" },
  delete: { start: "Destroying...", still: "destroying", done: "Destruction complete" },
};

/** Applies `plan`; returns the process exit code. State is written whenever anything was applied. */
async function applyPlan(ctx, plan, statePath, script) {
  const current = readState(statePath);
  const same = (a, b) => (a ? `${a.lineage}/${a.serial}` : "none") === (b ? `${b.lineage}/${b.serial}` : "none");
  if (!same(current, plan.prior_state)) {
    throw new DoubleError("Saved plan is stale", "The given plan file can no longer be applied because the state was changed by another operation after the plan was created.");
  }
  if (plan.errored) throw new DoubleError("Cannot apply incomplete plan", "The plan was not created successfully.");

  const instances = stateInstances(current);
  const plannedByAddress = new Map(plan.planned_state.instances.map((i) => [i.address, i]));
  const active = plan.changes.filter(isActive);
  const perChange = active.length > 0 ? (script.seconds * 1000) / active.length : 0;
  let failure = null;
  let halted = false;
  let progressed = false;

  const step = async (address, verb, idText, durationMs) => {
    ctx.ui.out(`${address}: ${VERBS[verb].start}${idText ? ` [id=${idText}]` : ""}`);
    const started = Date.now();
    const ok = await runFor(durationMs, (s) => ctx.ui.out(`${address}: Still ${VERBS[verb].still}... [${idText ? `id=${idText}, ` : ""}${formatElapsed(s)} elapsed]`));
    return { ok: ok && !isInterrupted(), seconds: Math.floor((Date.now() - started) / 1000) };
  };

  if (active.length === 0 && script.seconds > 0) {
    halted = !(await runFor(script.seconds * 1000, (s) => ctx.ui.out(`Still applying... [${formatElapsed(s)} elapsed]`)));
  }
  for (let i = 0; i < active.length && !halted; i++) {
    const c = active[i];
    const kind = c.actions.join(",");
    const fails = script.fail && i === active.length - 1;
    if (isInterrupted()) {
      halted = true;
      break;
    }
    if (c.importing && kind === "no-op") {
      ctx.ui.out(`${c.address}: Importing... [id=${c.importing.id}]`);
      const ok = (await runFor(perChange, () => {})) && !isInterrupted();
      if (!ok) halted = true;
      else if (fails) failure = c;
      else {
        ctx.ui.out(`${c.address}: Import complete [id=${c.importing.id}]`);
        instances.set(c.address, plannedByAddress.get(c.address));
        progressed = true;
      }
      continue;
    }
    const steps = kind === "delete,create" ? ["delete", "create"] : kind === "create,delete" ? ["create", "delete"] : [kind];
    for (const verb of steps) {
      const oldId = c.before && c.before.id;
      const r = await step(c.address, verb, verb === "create" ? "" : oldId, perChange / steps.length);
      if (!r.ok) {
        halted = true;
        break;
      }
      if (fails) {
        failure = c;
        break;
      }
      if (verb === "delete") {
        instances.delete(c.address);
        progressed = true;
        ctx.ui.out(`${c.address}: ${VERBS.delete.done} after ${r.seconds}s`);
      } else {
        const next = JSON.parse(JSON.stringify(plannedByAddress.get(c.address)));
        if (next.attributes.id === null) next.attributes.id = newResourceId();
        instances.set(c.address, next);
        progressed = true;
        ctx.ui.out(`${c.address}: ${VERBS[verb].done} after ${r.seconds}s [id=${next.attributes.id}]`);
      }
    }
    if (failure) break;
  }

  const finished = !halted && !failure;
  let outputs = (current && current.outputs) || {};
  if (finished) {
    const resolved = {};
    for (const [name, o] of Object.entries(plan.planned_state.outputs)) {
      const r = resolveResourceRefs(o.expr === undefined ? o.value : o.expr, instances);
      resolved[name] = { value: r.value, sensitive: o.sensitive };
    }
    outputs = stateOutputs(resolved);
  }
  const resources = buildResources([...instances.values()]);
  const changed = !current || stableJson(resources) !== stableJson(current.resources || []) || stableJson(outputs) !== stableJson(current.outputs || {});
  if (changed && (finished || progressed)) {
    writeState(statePath, {
      version: 4,
      terraform_version: ctx.version,
      serial: current ? current.serial + 1 : 1,
      lineage: current ? current.lineage : newLineage(),
      outputs,
      resources,
      check_results: null,
    });
  }
  if (halted) {
    ctx.ui.out("Stopping operation...");
    ctx.ui.error("execution halted");
    return 1;
  }
  if (failure) {
    ctx.ui.error("Scripted apply failure", `  with ${failure.address},\n\nThe terraform-double.json file of this configuration asks the terraform test double to fail the apply.`);
    return 1;
  }
  const n = plan.counts;
  ctx.ui.out("");
  if (plan.options.destroy) ctx.ui.out(ctx.ui.bold(ctx.ui.green(`Destroy complete! Resources: ${n.destroy} destroyed.`)));
  else {
    const imported = n.import > 0 ? `${n.import} imported, ` : "";
    ctx.ui.out(ctx.ui.bold(ctx.ui.green(`Apply complete! Resources: ${imported}${n.add} added, ${n.change} changed, ${n.destroy} destroyed.`)));
  }
  if (Object.keys(outputs).length > 0 && !plan.options.destroy) {
    const { renderOutputs } = require("./render");
    ctx.ui.out("");
    ctx.ui.out(ctx.ui.bold(ctx.ui.green("Outputs:")));
    ctx.ui.out("");
    for (const line of renderOutputs(outputs)) ctx.ui.out(line);
  }
  return 0;
}

module.exports = { createPlan, readPlanFile, applyPlan, isActive };
