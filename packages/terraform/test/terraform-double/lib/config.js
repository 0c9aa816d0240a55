"use strict";
// Loads a root module the way terraform does: every *.tf and *.tf.json file of the directory,
// then the override files (override.tf, *_override.tf, and their .json forms) merged in
// lexical order. Only what the double needs is modelled: resource, variable, locals, output,
// import and terraform.required_providers. `cloud` and `backend` blocks are accepted and ignored.

const crypto = require("node:crypto");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { DoubleError } = require("./ui");

const HCL2JSON_VERSION = require("@cdktf/hcl2json/package.json").version;
const CACHE_DIR = process.env.TF_DOUBLE_HCL_CACHE || path.join(os.tmpdir(), "terraform-double-hcl-cache");

let hcl;
/**
 * HashiCorp's own HCL parser (compiled to WebAssembly). Starting its Go runtime costs about half a
 * second per process, so results are cached on disk by content: parsing is a pure function.
 */
async function parseHcl(fileName, source) {
  const key = crypto.createHash("sha256").update(`${HCL2JSON_VERSION}\0${fileName}\0${source}`).digest("hex");
  const cached = path.join(CACHE_DIR, `${key}.json`);
  try {
    return JSON.parse(fs.readFileSync(cached, "utf8"));
  } catch {
    // not cached yet (or unreadable): parse for real below
  }
  hcl = hcl || require("@cdktf/hcl2json");
  let result;
  try {
    result = await hcl.parse(fileName, source);
  } catch (err) {
    throw hclDiagnostic(String(err && err.message ? err.message : err));
  }
  try {
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    const tmp = `${cached}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(result));
    fs.renameSync(tmp, cached);
  } catch {
    // a cache that cannot be written only costs speed
  }
  return result;
}

/** hcl2json reports `parse config: [file:line,col-col: Summary; Detail]`; terraform prints that as a diagnostic. */
function hclDiagnostic(message) {
  const match = /\[([^:\]]+):(\d+),\d+-[\d,]+: ([^;]+); ([^\]]*)\]/.exec(message);
  if (!match) return new DoubleError("Invalid configuration", message);
  const [, file, line, summary, detail] = match;
  return new DoubleError(summary, `  on ${file} line ${line}:\n\n${detail}`);
}

function isConfigFile(name) {
  if (name.startsWith(".") || name.startsWith("#") || name.endsWith("~")) return false;
  return name.endsWith(".tf") || name.endsWith(".tf.json");
}

function isOverrideFile(name) {
  const stem = name.replace(/\.tf(\.json)?$/, "");
  return stem === "override" || stem.endsWith("_override");
}

async function parseConfigFile(dir, name) {
  const source = fs.readFileSync(path.join(dir, name), "utf8");
  if (!name.endsWith(".json")) return parseHcl(name, source);
  try {
    return JSON.parse(source);
  } catch (err) {
    throw new DoubleError("Invalid JSON syntax", `  on ${name}:\n\n${err.message}`);
  }
}

/** Block bodies are arrays in hcl2json output and may be single objects in .tf.json files. */
function asBodies(value, what) {
  const bodies = Array.isArray(value) ? value : [value];
  for (const body of bodies) {
    if (!body || typeof body !== "object" || Array.isArray(body)) {
      throw new DoubleError(`Invalid ${what} block`, `A ${what} block must have a body of arguments and blocks.`);
    }
  }
  return bodies;
}

function emptyModule() {
  return {
    files: [],
    resources: new Map(), // "type.name" -> { type, name, body, file }
    variables: new Map(), // name -> body
    locals: new Map(), // name -> raw expression
    outputs: new Map(), // name -> body
    imports: [], // { to, id }
    requiredProviders: new Map(), // local name -> source address
  };
}

function addBlocks(mod, parsed, file, isOverride) {
  for (const [type, byName] of Object.entries(parsed.resource || {})) {
    if (!byName || typeof byName !== "object" || Array.isArray(byName)) {
      throw new DoubleError("Missing name for resource", `  on ${file}:\n\nAll resource blocks must have 2 labels (type, name).`);
    }
    for (const [name, value] of Object.entries(byName)) {
      if (!Array.isArray(value) && file.endsWith(".tf")) {
        throw new DoubleError("Extraneous label for resource", `  on ${file}:\n\nOnly 2 labels (type, name) are expected for resource blocks.`);
      }
      for (const body of asBodies(value, "resource")) {
        const key = `${type}.${name}`;
        const existing = mod.resources.get(key);
        if (isOverride) {
          if (!existing) {
            throw new DoubleError("Missing resource to override", `  on ${file}:\n\nThere is no ${type} resource named "${name}". An override file can only override a resource block defined in a primary configuration file.`);
          }
          Object.assign(existing.body, body);
        } else if (existing) {
          throw new DoubleError(`Duplicate resource "${type}" configuration`, `  on ${file}:\n\nA ${type} resource named "${name}" was already declared at ${existing.file}. Resource names must be unique per type in each module.`);
        } else {
          mod.resources.set(key, { type, name, body: { ...body }, file });
        }
      }
    }
  }
  mergeNamed(mod.variables, parsed.variable, file, isOverride, "variable");
  mergeNamed(mod.outputs, parsed.output, file, isOverride, "output");
  for (const body of parsed.locals ? asBodies(parsed.locals, "locals") : []) {
    for (const [name, expr] of Object.entries(body)) {
      if (mod.locals.has(name) && !isOverride) {
        throw new DoubleError("Duplicate local value definition", `  on ${file}:\n\nA local value named "${name}" was already defined. Local value names must be unique within a module.`);
      }
      mod.locals.set(name, expr);
    }
  }
  for (const body of parsed.import ? asBodies(parsed.import, "import") : []) {
    const to = typeof body.to === "string" ? body.to.replace(/^\$\{(.*)\}$/, "$1") : "";
    if (!to || typeof body.id !== "string") {
      throw new DoubleError("Invalid import block", `  on ${file}:\n\nAn import block needs "to" (a resource address) and "id" (a string).`);
    }
    mod.imports.push({ to, id: body.id });
  }
  for (const tf of parsed.terraform ? asBodies(parsed.terraform, "terraform") : []) {
    // `cloud` and `backend` are deliberately ignored: the double always keeps state locally.
    for (const req of tf.required_providers ? asBodies(tf.required_providers, "required_providers") : []) {
      for (const [local, spec] of Object.entries(req)) {
        const source = typeof spec === "string" ? spec : spec && spec.source;
        if (typeof source === "string") mod.requiredProviders.set(local, source);
      }
    }
  }
}

function mergeNamed(target, blocks, file, isOverride, what) {
  for (const [name, value] of Object.entries(blocks || {})) {
    for (const body of asBodies(value, what)) {
      const existing = target.get(name);
      if (isOverride && existing) Object.assign(existing, body);
      else if (isOverride) {
        throw new DoubleError(`Missing base ${what} declaration to override`, `  on ${file}:\n\nThere is no ${what} named "${name}". An override file can only override a ${what} that was already declared in a primary configuration file.`);
      } else if (existing) {
        throw new DoubleError(`Duplicate ${what} declaration`, `  on ${file}:\n\nA ${what} named "${name}" was already declared. ${what[0].toUpperCase()}${what.slice(1)} names must be unique within a module.`);
      } else target.set(name, { ...body });
    }
  }
}

async function loadModule(dir) {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new DoubleError("Invalid working directory", `The directory ${dir} does not exist.`);
  }
  const names = fs.readdirSync(dir).filter(isConfigFile).sort();
  const mod = emptyModule();
  mod.files = names;
  const primary = names.filter((n) => !isOverrideFile(n));
  const overrides = names.filter(isOverrideFile);
  for (const name of primary) addBlocks(mod, await parseConfigFile(dir, name), name, false);
  for (const name of overrides) addBlocks(mod, await parseConfigFile(dir, name), name, true);
  return mod;
}

/** "null_resource" -> provider "null", unless required_providers maps that local name elsewhere. */
function providerFor(mod, resourceType) {
  const local = resourceType.split("_")[0];
  const source = mod.requiredProviders.get(local) || `hashicorp/${local}`;
  const parts = source.split("/");
  const full = parts.length === 3 ? source : `registry.terraform.io/${source}`;
  return { local, full };
}

function requiredProviderAddrs(mod) {
  const set = new Set();
  for (const r of mod.resources.values()) set.add(providerFor(mod, r.type).full);
  return [...set].sort();
}

module.exports = { parseHcl, loadModule, providerFor, requiredProviderAddrs, isOverrideFile };
