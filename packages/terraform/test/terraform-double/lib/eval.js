"use strict";
// Expression evaluation, deliberately minimal: literals, and `${var.x}`, `${local.x}`,
// `${count.index}`, `${each.key}`, `${each.value}` either as a whole value or interpolated in a
// string. Any other expression stays as its source text, which the double treats as a literal.
// Also assembles input variable values in terraform's precedence order.

const fs = require("node:fs");
const path = require("node:path");
const { DoubleError } = require("./ui");
const { parseHcl } = require("./config");

const REF = /(?<!\$)\$\{(var|local|count|each)\.([A-Za-z_][A-Za-z0-9_-]*)\}/g;
const WHOLE_REF = /^\$\{(var|local|count|each)\.([A-Za-z_][A-Za-z0-9_-]*)\}$/;

function makeEvaluator({ variables, locals }) {
  const localValues = new Map();
  const resolving = new Set();

  function lookup(kind, name, scope) {
    if (kind === "var") {
      if (!variables.has(name)) {
        throw new DoubleError("Reference to undeclared input variable", `An input variable with the name "${name}" has not been declared. This variable can be declared with a variable "${name}" {} block.`);
      }
      return variables.get(name);
    }
    if (kind === "local") {
      if (!locals.has(name)) {
        throw new DoubleError("Reference to undeclared local value", `A local value with the name "${name}" has not been declared.`);
      }
      if (!localValues.has(name)) {
        if (resolving.has(name)) throw new DoubleError("Cycle in local values", `local.${name} refers to itself.`);
        resolving.add(name);
        localValues.set(name, evaluate(locals.get(name), {}));
        resolving.delete(name);
      }
      return localValues.get(name);
    }
    const key = `${kind}.${name}`;
    if (!(key in scope)) {
      throw new DoubleError(`Reference to "${kind}" in wrong context`, `The "${kind}" object can be used only in resource blocks that set the "${kind === "count" ? "count" : "for_each"}" argument.`);
    }
    return scope[key];
  }

  function evaluate(value, scope = {}) {
    if (typeof value === "string") {
      const whole = WHOLE_REF.exec(value);
      if (whole) return lookup(whole[1], whole[2], scope);
      const replaced = value.replace(REF, (_m, kind, name) => {
        const v = lookup(kind, name, scope);
        return typeof v === "string" ? v : JSON.stringify(v);
      });
      return replaced.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");
    }
    if (Array.isArray(value)) return value.map((v) => evaluate(v, scope));
    if (value && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, evaluate(v, scope)]));
    }
    return value;
  }

  return { evaluate };
}

/** Converts a string given on the command line or in TF_VAR_ to the variable's declared type. */
async function convertRawValue(name, raw, typeExpr) {
  const type = typeof typeExpr === "string" ? typeExpr.replace(/^\$\{(.*)\}$/, "$1").trim() : "any";
  if (type === "string" || type === "any") return raw;
  if (type === "number") {
    if (raw.trim() === "" || !Number.isFinite(Number(raw))) throw invalidValue(name, "a number is required");
    return Number(raw);
  }
  if (type === "bool") {
    if (raw === "true") return true;
    if (raw === "false") return false;
    throw invalidValue(name, "a bool is required");
  }
  const parsed = await parseHcl(`<value for var.${name}>`, `v = ${raw}\n`);
  return literal(parsed.v);
}

/**
 * Variable values are literals, but hcl2json hands strings back in template form, with `$${` and
 * `%%{` still escaped.
 */
function literal(value) {
  if (typeof value === "string") return value.replace(/\$\$\{/g, "${").replace(/%%\{/g, "%{");
  if (Array.isArray(value)) return value.map(literal);
  if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, literal(v)]));
  return value;
}

function invalidValue(name, why) {
  return new DoubleError("Invalid value for input variable", `The given value is not suitable for var.${name}: ${why}.`);
}

async function readVarFile(dir, file, ui, declared, fromCli) {
  const full = path.resolve(dir, file);
  if (!fs.existsSync(full)) {
    throw new DoubleError("Failed to read variables file", `Given variables file ${file} does not exist.`);
  }
  const source = fs.readFileSync(full, "utf8");
  let values;
  if (file.endsWith(".json")) {
    try {
      values = JSON.parse(source);
    } catch (err) {
      throw new DoubleError("Invalid JSON syntax", `  on ${file}:\n\n${err.message}`);
    }
  } else values = literal(await parseHcl(path.basename(file), source));
  for (const name of Object.keys(values)) {
    if (!declared.has(name)) {
      if (fromCli) {
        throw new DoubleError("Value for undeclared variable", `The root module does not declare a variable named "${name}" but a value was found in file "${file}". To use this value, add a "variable" block to the configuration.`);
      }
      ui.warning("Value for undeclared variable", `The root module does not declare a variable named "${name}" but a value was found in file "${file}". If you meant to use this value, add a "variable" block to the configuration.\n\nTo silence these warnings, use TF_VAR_... environment variables to provide certain "global" settings to all configurations in your organization. To reduce the verbosity of these warnings, use the -compact-warnings option.`);
      delete values[name];
    }
  }
  return values;
}

/**
 * Terraform's precedence, lowest first: defaults, TF_VAR_ environment variables,
 * terraform.tfvars, terraform.tfvars.json, *.auto.tfvars(.json) in lexical order, then -var and
 * -var-file options in command-line order.
 */
async function resolveVariables({ dir, declared, env, varArgs, ui }) {
  const values = new Map();
  for (const [name, body] of declared) if ("default" in body) values.set(name, body.default);
  for (const [key, raw] of Object.entries(env)) {
    if (!key.startsWith("TF_VAR_")) continue;
    const name = key.slice("TF_VAR_".length);
    if (declared.has(name)) values.set(name, await convertRawValue(name, raw, declared.get(name).type));
  }
  const files = fs.readdirSync(dir);
  const autoFiles = files.filter((n) => n.endsWith(".auto.tfvars") || n.endsWith(".auto.tfvars.json")).sort();
  const implicit = ["terraform.tfvars", "terraform.tfvars.json"].filter((n) => files.includes(n)).concat(autoFiles);
  for (const file of implicit) {
    for (const [name, v] of Object.entries(await readVarFile(dir, file, ui, declared, false))) values.set(name, v);
  }
  for (const arg of varArgs) {
    if (arg.name === "var-file") {
      for (const [name, v] of Object.entries(await readVarFile(dir, arg.value, ui, declared, true))) values.set(name, v);
      continue;
    }
    const eq = arg.value.indexOf("=");
    if (eq <= 0) {
      throw new DoubleError("Invalid -var option", `The given -var option "${arg.value}" is not correctly specified. It must be a variable name and value separated an equals sign, like -var="key=value".`);
    }
    const name = arg.value.slice(0, eq);
    if (!declared.has(name)) {
      throw new DoubleError("Value for undeclared variable", `A variable named "${name}" was assigned on the command line, but the root module does not declare a variable of that name. To use this value, add a "variable" block to the configuration.`);
    }
    values.set(name, await convertRawValue(name, arg.value.slice(eq + 1), declared.get(name).type));
  }
  for (const name of declared.keys()) {
    if (!values.has(name)) {
      throw new DoubleError("No value for required variable", `The root module input variable "${name}" is not set, and has no default value. Use a -var or -var-file command line argument to provide a value for this variable.`);
    }
  }
  return values;
}

module.exports = { makeEvaluator, resolveVariables };
