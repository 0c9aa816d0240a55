"use strict";
// `terraform show -json`: the plan representation (format_version 1.2) and the state values
// representation, following terraform's JSON output format.

function resourceValues(inst) {
  const values = { ...inst.attributes };
  // Unknown values are left out of planned values; `after_unknown` says which they are.
  if (values.id === null) delete values.id;
  const out = { address: inst.address, mode: inst.mode, type: inst.type, name: inst.name };
  if (inst.index !== undefined) out.index = inst.index;
  out.provider_name = inst.provider_name || providerFromState(inst);
  out.schema_version = 0;
  out.values = values;
  out.sensitive_values = {};
  return out;
}

function providerFromState(inst) {
  const m = /provider\["([^"]+)"\]/.exec(inst.provider || "");
  return m ? m[1] : "";
}

function stateValues(state, terraformVersion) {
  const { stateInstances } = require("./state");
  const out = { format_version: "1.0", terraform_version: (state && state.terraform_version) || terraformVersion };
  if (!state) return out;
  const outputs = {};
  for (const [name, o] of Object.entries(state.outputs || {})) {
    outputs[name] = { sensitive: !!o.sensitive, value: o.value, type: o.type };
  }
  const resources = [...stateInstances(state).values()].map(resourceValues);
  out.values = { outputs, root_module: { resources } };
  return out;
}

function expression(value) {
  const refs = [];
  JSON.stringify(value, (_k, v) => {
    if (typeof v === "string") for (const m of v.matchAll(/(?<!\$)\$\{([^}]*)\}/g)) refs.push(m[1]);
    return v;
  });
  return refs.length > 0 ? { references: refs } : { constant_value: value };
}

function planJson(plan) {
  const out = {
    format_version: "1.2",
    terraform_version: plan.terraform_version,
    variables: Object.fromEntries(Object.entries(plan.variables).map(([k, v]) => [k, { value: v }])),
  };
  const plannedOutputs = {};
  for (const [name, o] of Object.entries(plan.planned_state.outputs)) {
    plannedOutputs[name] = o.unknown ? { sensitive: o.sensitive } : { sensitive: o.sensitive, value: o.value };
  }
  out.planned_values = {
    outputs: plannedOutputs,
    root_module: { resources: plan.planned_state.instances.filter((i) => i.mode === "managed").map(resourceValues) },
  };
  const resourceChanges = plan.changes.map((c) => {
    const rc = { address: c.address, mode: c.mode, type: c.type, name: c.name };
    if (c.index !== undefined) rc.index = c.index;
    rc.provider_name = c.provider_name;
    const after = c.after ? { ...c.after } : null;
    const afterUnknown = {};
    if (after && after.id === null) {
      delete after.id;
      afterUnknown.id = true;
    }
    rc.change = {
      actions: c.actions,
      before: c.before,
      after,
      after_unknown: afterUnknown,
      before_sensitive: c.before ? {} : false,
      after_sensitive: after ? {} : false,
    };
    if (c.importing) rc.change.importing = c.importing;
    if (c.action_reason) rc.action_reason = c.action_reason;
    return rc;
  });
  // terraform omits empty collections here (`omitempty`), so consumers must accept their absence.
  if (resourceChanges.length > 0) out.resource_changes = resourceChanges;
  const outputChanges = {};
  for (const [name, o] of Object.entries(plan.output_changes)) {
    outputChanges[name] = {
      actions: o.actions,
      before: o.before,
      after: o.after,
      after_unknown: o.after_unknown,
      before_sensitive: o.sensitive,
      after_sensitive: o.sensitive,
    };
  }
  if (Object.keys(outputChanges).length > 0) out.output_changes = outputChanges;
  if (plan.prior_state) out.prior_state = stateValues(plan.prior_state, plan.terraform_version);
  out.configuration = plan.configuration;
  out.timestamp = plan.timestamp;
  out.applyable = plan.applyable;
  out.complete = plan.complete;
  out.errored = plan.errored;
  return out;
}

/** The `configuration` section, built from the loaded module. */
function configurationJson(mod, providerFor) {
  const providerConfig = {};
  const resources = [];
  for (const r of mod.resources.values()) {
    const p = providerFor(mod, r.type);
    providerConfig[p.local] = { name: p.local, full_name: p.full };
    const expressions = {};
    for (const [k, v] of Object.entries(r.body)) {
      if (!["count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"].includes(k)) expressions[k] = expression(v);
    }
    const res = { address: `${r.type}.${r.name}`, mode: "managed", type: r.type, name: r.name, provider_config_key: p.local, expressions, schema_version: 0 };
    if ("count" in r.body) res.count_expression = expression(r.body.count);
    if ("for_each" in r.body) res.for_each_expression = expression(r.body.for_each);
    resources.push(res);
  }
  const rootModule = {};
  const outputs = {};
  for (const [name, body] of mod.outputs) {
    outputs[name] = { expression: expression(body.value === undefined ? null : body.value) };
    if (body.sensitive === true) outputs[name].sensitive = true;
  }
  if (Object.keys(outputs).length > 0) rootModule.outputs = outputs;
  if (resources.length > 0) rootModule.resources = resources;
  const variables = {};
  for (const [name, body] of mod.variables) {
    variables[name] = {};
    if ("default" in body) variables[name].default = body.default;
    if (typeof body.description === "string") variables[name].description = body.description;
    if (body.sensitive === true) variables[name].sensitive = true;
  }
  if (Object.keys(variables).length > 0) rootModule.variables = variables;
  return { provider_config: providerConfig, root_module: rootModule };
}

module.exports = { planJson, stateValues, configurationJson };
