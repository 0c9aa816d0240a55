"use strict";
// `terraform providers schema -json`: a small valid document (format 1.0) with one resource
// schema per resource type the configuration uses. Every configured attribute is "dynamic"
// (the double does not type them) and `id` is a computed string, as terraform's would be.

const { DoubleError } = require("./ui");
const { parseFlags } = require("./flags");
const { loadModule, providerFor, requiredProviderAddrs } = require("./config");
const { checkInstalled } = require("./providers");

function resourceSchema(attributeNames) {
  const attributes = { id: { type: "string", description_kind: "plain", computed: true } };
  for (const name of [...attributeNames].sort()) {
    if (name !== "id") attributes[name] = { type: "dynamic", description_kind: "plain", optional: true };
  }
  return { version: 0, block: { attributes, description_kind: "plain" } };
}

const META_ARGUMENTS = new Set(["count", "for_each", "provider", "depends_on", "lifecycle", "provisioner", "connection"]);

async function providers(ctx, args) {
  const [sub, ...rest] = args;
  if (sub !== "schema") {
    throw new DoubleError("Unsupported providers subcommand", "The terraform test double implements only `terraform providers schema -json`.");
  }
  const { values } = parseFlags(rest, { json: "bool" }, "providers schema");
  if (!values.json) {
    throw new DoubleError("The `terraform providers schema` command requires the `-json` flag.", "");
  }
  const mod = await loadModule(ctx.dir);
  await checkInstalled(ctx.dir, ctx.dataDir, requiredProviderAddrs(mod));
  const byProvider = new Map();
  for (const r of mod.resources.values()) {
    const provider = providerFor(mod, r.type).full;
    const types = byProvider.get(provider) || new Map();
    const names = types.get(r.type) || new Set();
    for (const key of Object.keys(r.body)) if (!META_ARGUMENTS.has(key)) names.add(key);
    types.set(r.type, names);
    byProvider.set(provider, types);
  }
  const schemas = {};
  for (const [provider, types] of [...byProvider.entries()].sort()) {
    const resources = {};
    for (const [type, names] of [...types.entries()].sort()) resources[type] = resourceSchema(names);
    schemas[provider] = { provider: { version: 0, block: { description_kind: "plain" } }, resource_schemas: resources };
  }
  process.stdout.write(JSON.stringify({ format_version: "1.0", provider_schemas: schemas }) + "\n");
  return 0;
}

module.exports = { providers };
