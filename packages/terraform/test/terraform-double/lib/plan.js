"use strict";
// Computes a plan: the desired instances from configuration against the instances in state,
// shaped by the plan options (-destroy, -refresh-only, -target, -replace).

const { DoubleError } = require("./ui");
const { providerFor } = require("./config");
const { instanceAddress, stateInstances, stableJson } = require("./state");

const META_ARGUMENTS = new Set(["count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"]);
const RESOURCE_REF = /^\$\{((?:data\.)?[A-Za-z][\w-]*\.[A-Za-z_][\w-]*(?:\[(?:\d+|"[^"]*")\])?)\.([A-Za-z_][\w-]*)\}$/;

function expandResources(mod, evaluator) {
  const desired = new Map();
  for (const r of mod.resources.values()) {
    const provider = providerFor(mod, r.type);
    const raw = Object.fromEntries(Object.entries(r.body).filter(([k]) => !META_ARGUMENTS.has(k)));
    const add = (index, scope) => {
      const address = instanceAddress("managed", r.type, r.name, index);
      desired.set(address, {
        address,
        mode: "managed",
        type: r.type,
        name: r.name,
        index,
        provider_name: provider.full,
        provider: `provider["${provider.full}"]`,
        attributes: evaluator.evaluate(raw, scope),
      });
    };
    if ("count" in r.body) {
      let count = evaluator.evaluate(r.body.count);
      if (typeof count === "string" && /^\d+$/.test(count)) count = Number(count);
      if (!Number.isInteger(count) || count < 0) {
        throw new DoubleError("Invalid count argument", `The given "count" argument value for ${r.type}.${r.name} is unsuitable: must be a whole number greater than or equal to zero.`);
      }
      for (let i = 0; i < count; i++) add(i, { "count.index": i });
    } else if ("for_each" in r.body) {
      const forEach = evaluator.evaluate(r.body.for_each);
      let entries;
      if (Array.isArray(forEach) && forEach.every((v) => typeof v === "string")) entries = forEach.map((v) => [v, v]);
      else if (forEach && typeof forEach === "object" && !Array.isArray(forEach)) entries = Object.entries(forEach);
      else {
        throw new DoubleError("Invalid for_each argument", `The given "for_each" argument value for ${r.type}.${r.name} is unsuitable: the "for_each" argument must be a map, or set of strings.`);
      }
      for (const [key, value] of entries) add(key, { "each.key": key, "each.value": value });
    } else add(undefined, {});
  }
  return desired;
}

function isTargeted(address, targets) {
  if (targets.length === 0) return true;
  return targets.some((t) => address === t || address.startsWith(`${t}[`));
}

/** Absent and null attributes are the same to terraform; `id` is computed, never configured. */
function attributesDiffer(config, state) {
  const keys = new Set([...Object.keys(config), ...Object.keys(state)]);
  keys.delete("id");
  for (const k of keys) {
    if (stableJson(config[k] ?? null) !== stableJson(state[k] ?? null)) return true;
  }
  return false;
}

function change(inst, actions, before, after, extra = {}) {
  return {
    address: inst.address,
    mode: inst.mode,
    type: inst.type,
    name: inst.name,
    index: inst.index,
    provider_name: inst.provider_name,
    provider: inst.provider,
    actions,
    before,
    after,
    ...extra,
  };
}

/** Replaces `${type.name.attr}` (a whole output value) with that attribute of the given instances. */
function resolveResourceRefs(value, instancesByAddress) {
  if (typeof value === "string") {
    const m = RESOURCE_REF.exec(value);
    if (!m) return { value, unknown: false };
    const inst = instancesByAddress.get(m[1]);
    if (!inst) return { value, unknown: false };
    const attr = inst.attributes[m[2]];
    if (attr === null && m[2] === "id") return { value: null, unknown: true };
    return { value: attr === undefined ? null : attr, unknown: false };
  }
  if (Array.isArray(value)) {
    const parts = value.map((v) => resolveResourceRefs(v, instancesByAddress));
    return { value: parts.map((p) => p.value), unknown: parts.some((p) => p.unknown) };
  }
  if (value && typeof value === "object") {
    const parts = Object.entries(value).map(([k, v]) => [k, resolveResourceRefs(v, instancesByAddress)]);
    return { value: Object.fromEntries(parts.map(([k, p]) => [k, p.value])), unknown: parts.some(([, p]) => p.unknown) };
  }
  return { value, unknown: false };
}

function computeChanges({ mod, desired, priorState, options }) {
  const prior = stateInstances(priorState);
  const imports = new Map(mod.imports.map((i) => [i.to, i.id]));
  for (const to of imports.keys()) {
    if (!desired.has(to)) {
      throw new DoubleError("Configuration for import target does not exist", `The configuration for the given import target ${to} does not exist. All target instances must have an associated configuration to be imported.`);
    }
  }
  const changes = [];
  const planned = [];
  const targeted = (address) => isTargeted(address, options.targets);

  for (const [address, inst] of prior) {
    if (inst.mode !== "managed") {
      planned.push(inst);
      continue;
    }
    const want = desired.get(address);
    if (options.refresh_only || !targeted(address)) {
      planned.push(inst);
    } else if (options.destroy) {
      changes.push(change({ ...inst, provider_name: providerName(inst) }, ["delete"], inst.attributes, null));
    } else if (!want) {
      changes.push(change({ ...inst, provider_name: providerName(inst) }, ["delete"], inst.attributes, null, { action_reason: "delete_because_no_resource_config" }));
    } else if (options.replaces.includes(address)) {
      const after = { id: null, ...want.attributes };
      changes.push(change(want, ["delete", "create"], inst.attributes, after, { action_reason: "replace_by_request" }));
      planned.push({ ...want, attributes: after });
    } else if (attributesDiffer(want.attributes, inst.attributes)) {
      const after = { id: inst.attributes.id ?? null, ...want.attributes };
      changes.push(change(want, ["update"], inst.attributes, after));
      planned.push({ ...want, attributes: after });
    } else {
      changes.push(change(want, ["no-op"], inst.attributes, inst.attributes));
      planned.push({ ...inst, provider_name: want.provider_name });
    }
  }
  if (!options.destroy && !options.refresh_only) {
    for (const [address, want] of desired) {
      if (prior.has(address) || !targeted(address)) continue;
      if (imports.has(address)) {
        const after = { id: imports.get(address), ...want.attributes };
        changes.push(change(want, ["no-op"], after, after, { importing: { id: imports.get(address) } }));
        planned.push({ ...want, attributes: after });
      } else {
        const after = { id: null, ...want.attributes };
        changes.push(change(want, ["create"], null, after));
        planned.push({ ...want, attributes: after });
      }
    }
  }
  changes.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
  return { changes, planned };
}

function providerName(inst) {
  const m = /provider\["([^"]+)"\]/.exec(inst.provider || "");
  return m ? m[1] : `registry.terraform.io/hashicorp/${inst.type.split("_")[0]}`;
}

function computeOutputChanges({ mod, evaluator, priorState, planned, options }) {
  const priorOutputs = (priorState && priorState.outputs) || {};
  const outputs = {};
  const outputChanges = {};
  if (options.refresh_only || options.targets.length > 0) {
    for (const [name, o] of Object.entries(priorOutputs)) outputs[name] = { value: o.value, sensitive: !!o.sensitive, unknown: false };
    return { outputs, outputChanges };
  }
  const byAddress = new Map(planned.map((i) => [i.address, i]));
  if (!options.destroy) {
    for (const [name, body] of mod.outputs) {
      const expr = evaluator.evaluate(body.value === undefined ? null : body.value);
      const resolved = resolveResourceRefs(expr, byAddress);
      const sensitive = body.sensitive === true;
      outputs[name] = { expr, value: resolved.value, unknown: resolved.unknown, sensitive };
      const before = name in priorOutputs ? priorOutputs[name].value : null;
      let actions;
      if (!(name in priorOutputs)) actions = ["create"];
      else if (resolved.unknown || stableJson(before) !== stableJson(resolved.value)) actions = ["update"];
      else actions = ["no-op"];
      outputChanges[name] = { actions, before, after: resolved.unknown ? null : resolved.value, after_unknown: resolved.unknown, sensitive };
    }
  }
  for (const [name, o] of Object.entries(priorOutputs)) {
    if (name in outputs) continue;
    outputChanges[name] = { actions: ["delete"], before: o.value, after: null, after_unknown: false, sensitive: !!o.sensitive };
  }
  return { outputs, outputChanges };
}

function countChanges(changes) {
  const counts = { add: 0, change: 0, destroy: 0, import: 0 };
  for (const c of changes) {
    const a = c.actions.join(",");
    if (a === "create") counts.add++;
    else if (a === "update") counts.change++;
    else if (a === "delete") counts.destroy++;
    else if (a === "delete,create" || a === "create,delete") {
      counts.add++;
      counts.destroy++;
    }
    if (c.importing) counts.import++;
  }
  return counts;
}

module.exports = { expandResources, computeChanges, computeOutputChanges, countChanges, resolveResourceRefs };
