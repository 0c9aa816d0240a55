"use strict";
// Terraform state, version 4 JSON format: read, flatten into instances, rebuild, write.

const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const { DoubleError } = require("./ui");

function readState(file) {
  if (!fs.existsSync(file)) return null;
  const text = fs.readFileSync(file, "utf8");
  if (text.trim() === "") return null;
  let state;
  try {
    state = JSON.parse(text);
  } catch (err) {
    throw new DoubleError("Failed to load state", `Error loading state file ${file}: ${err.message}`);
  }
  if (!state || state.version !== 4) {
    throw new DoubleError("Failed to load state", `Unsupported state file format: this terraform test double reads state format version 4 only (found ${JSON.stringify(state && state.version)}).`);
  }
  return state;
}

function writeState(file, state) {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(tmp, JSON.stringify(state, null, 2) + "\n");
  fs.renameSync(tmp, file);
}

function instanceAddress(mode, type, name, index) {
  const base = `${mode === "data" ? "data." : ""}${type}.${name}`;
  if (index === undefined || index === null) return base;
  return typeof index === "number" ? `${base}[${index}]` : `${base}[${JSON.stringify(index)}]`;
}

/** Every instance of the state, keyed by address, in state order. */
function stateInstances(state) {
  const out = new Map();
  for (const res of (state && state.resources) || []) {
    if (res.module) continue; // child modules are outside what the double models
    for (const inst of res.instances || []) {
      const index = inst.index_key === undefined ? undefined : inst.index_key;
      const address = instanceAddress(res.mode, res.type, res.name, index);
      out.set(address, {
        address,
        mode: res.mode,
        type: res.type,
        name: res.name,
        index,
        provider: res.provider,
        attributes: inst.attributes || {},
      });
    }
  }
  return out;
}

/** Inverse of stateInstances: groups instances into state resources, keeping first-seen order. */
function buildResources(instances) {
  const byResource = new Map();
  for (const inst of instances) {
    const key = `${inst.mode}.${inst.type}.${inst.name}`;
    let res = byResource.get(key);
    if (!res) {
      res = { mode: inst.mode, type: inst.type, name: inst.name, provider: inst.provider, instances: [] };
      if (inst.index !== undefined) res.each = typeof inst.index === "number" ? "list" : "map";
      byResource.set(key, res);
    }
    const entry = { schema_version: 0 };
    if (inst.index !== undefined) entry.index_key = inst.index;
    entry.attributes = inst.attributes;
    entry.sensitive_attributes = [];
    res.instances.push(entry);
  }
  return [...byResource.values()];
}

function stateOutputs(outputs) {
  const out = {};
  for (const [name, o] of Object.entries(outputs)) {
    out[name] = { value: o.value, type: typeOf(o.value) };
    if (o.sensitive) out[name].sensitive = true;
  }
  return out;
}

/** Terraform's JSON encoding of a cty type, enough for outputs. */
function typeOf(value) {
  if (typeof value === "string") return "string";
  if (typeof value === "number") return "number";
  if (typeof value === "boolean") return "bool";
  if (Array.isArray(value)) return ["tuple", value.map(typeOf)];
  if (value && typeof value === "object") {
    return ["object", Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeOf(v)]))];
  }
  return "dynamic";
}

function newLineage() {
  return crypto.randomUUID();
}

/** Looks like the decimal ids the null provider assigns. */
function newResourceId() {
  const n = crypto.randomBytes(8).readBigUInt64BE() % 9000000000000000000n;
  return String(n + 1000000000000000000n);
}

function stableJson(value) {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${stableJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value === undefined ? null : value);
}

module.exports = {
  readState,
  writeState,
  instanceAddress,
  stateInstances,
  buildResources,
  stateOutputs,
  newLineage,
  newResourceId,
  stableJson,
};
