/**
 * The plan document the terraform CLI renders (`GET /plans/:id/json-output-redacted`): terraform's
 * `jsonformat.Plan` (internal/command/jsonformat/plan.go), assembled from `terraform show -json`
 * of the plan and `terraform providers schema -json`. The CLI decodes it for `terraform show` of a
 * saved cloud plan and for structured run output, and looks every resource change's schema up in
 * `provider_schemas` without a nil check: a change whose provider or type is missing crashes it.
 *
 * Redaction: `terraform show -json` carries sensitive values in clear, marked by the
 * `before_sensitive`/`after_sensitive` trees. The renderer prints "(sensitive value)" for a marked
 * value without reading it, but still compares before and after to choose the action it shows.
 * So a marked value becomes an opaque string: null stays null (create/delete), equal values stay
 * equal (no change) and different values stay different (update). The markers themselves, the
 * unknown markers (`after_unknown`) and everything unmarked are kept as terraform wrote them.
 */

type JsonObject = Record<string, unknown>;

export class PlanDocumentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlanDocumentError";
  }
}

/** What a sensitive value becomes; a changed one keeps its difference through a second token. */
export const REDACTED_VALUE = "(sensitive value)";
export const REDACTED_CHANGED_VALUE = "(sensitive value, changed)";

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parse(json: unknown, what: string): JsonObject {
  let doc = json;
  if (typeof json === "string" || Buffer.isBuffer(json)) {
    try {
      doc = JSON.parse(json.toString()) as unknown;
    } catch (err) {
      throw new PlanDocumentError(`the ${what} is not JSON (${(err as Error).message})`);
    }
  }
  if (!isObject(doc)) throw new PlanDocumentError(`the ${what} must be a JSON object`);
  return doc;
}

function isDeepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => isDeepEqual(v, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => k in b && isDeepEqual(a[k], b[k]));
  }
  return false;
}

function childOf(value: unknown, key: string | number): unknown {
  if (typeof key === "number") return Array.isArray(value) ? value[key] : undefined;
  return isObject(value) ? value[key] : undefined;
}

/**
 * Redacts `before`/`after` together, walking the sensitivity trees: a `true` marker on either side
 * hides the whole value on both sides (the renderer hides both, too). Absent stays absent.
 */
function redactPair(before: unknown, after: unknown, beforeSensitive: unknown, afterSensitive: unknown): [unknown, unknown] {
  if (beforeSensitive === true || afterSensitive === true) {
    const hide = (v: unknown, token: string) => (v === undefined || v === null ? v : token);
    if (isDeepEqual(before, after)) return [hide(before, REDACTED_VALUE), hide(after, REDACTED_VALUE)];
    return [hide(before, REDACTED_VALUE), hide(after, REDACTED_CHANGED_VALUE)];
  }
  const hasNested = (m: unknown) => isObject(m) || Array.isArray(m);
  if (!hasNested(beforeSensitive) && !hasNested(afterSensitive)) return [before, after];

  const rebuild = (v: unknown) => (Array.isArray(v) ? [...(v as unknown[])] : isObject(v) ? { ...v } : v);
  const b = rebuild(before);
  const a = rebuild(after);
  const keys = new Set<string | number>();
  for (const v of [before, after]) {
    if (Array.isArray(v)) v.forEach((_, i) => keys.add(i));
    else if (isObject(v)) Object.keys(v).forEach((k) => keys.add(k));
  }
  for (const key of keys) {
    const [rb, ra] = redactPair(childOf(before, key), childOf(after, key), childOf(beforeSensitive, key), childOf(afterSensitive, key));
    assign(b, key, rb);
    assign(a, key, ra);
  }
  return [b, a];
}

function assign(target: unknown, key: string | number, value: unknown): void {
  if (value === undefined) return;
  if (typeof key === "number" && Array.isArray(target)) target[key] = value;
  else if (typeof key === "string" && isObject(target)) target[key] = value;
}

/** A jsonplan.Change with its sensitive values redacted. */
export function redactChange(change: unknown): unknown {
  if (!isObject(change)) return change;
  const [before, after] = redactPair(change.before, change.after, change.before_sensitive, change.after_sensitive);
  const out: JsonObject = { ...change };
  if (before !== undefined) out.before = before;
  if (after !== undefined) out.after = after;
  return out;
}

function redactResourceChange(rc: unknown): unknown {
  return isObject(rc) ? { ...rc, change: redactChange(rc.change) } : rc;
}

function arrayOf(doc: JsonObject, key: string): unknown[] {
  const value = doc[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new PlanDocumentError(`${key} must be an array`);
  return value;
}

/** Provider and (mode, type) of every resource change the renderer looks a schema up for. */
function referencedSchemas(plan: JsonObject): Array<{ provider: string; mode: string; type: string; address: string }> {
  const changes = [
    ...arrayOf(plan, "resource_changes"),
    ...arrayOf(plan, "resource_drift"),
    ...arrayOf(plan, "deferred_changes").map((d) => (isObject(d) ? d.resource_change : undefined)),
  ];
  const out: Array<{ provider: string; mode: string; type: string; address: string }> = [];
  for (const rc of changes) {
    if (!isObject(rc)) continue;
    const { provider_name: provider, mode, type, address } = rc;
    if (typeof provider === "string" && typeof mode === "string" && typeof type === "string") {
      out.push({ provider, mode, type, address: typeof address === "string" ? address : `${type}` });
    }
  }
  return out;
}

function schemaKey(mode: string): "resource_schemas" | "data_source_schemas" | null {
  if (mode === "managed") return "resource_schemas";
  if (mode === "data") return "data_source_schemas";
  return null;
}

/**
 * Keeps only the providers and resource types a plan refers to: a provider's full schema can run
 * to megabytes (every resource type it has), the renderer reads a handful.
 */
export function pruneProviderSchemas(schemasJson: unknown, planJson: unknown): JsonObject {
  const schemas = parse(schemasJson, "provider schemas document");
  const plan = parse(planJson, "JSON plan");
  const all = isObject(schemas.provider_schemas) ? schemas.provider_schemas : {};
  const kept: Record<string, JsonObject> = {};
  for (const ref of referencedSchemas(plan)) {
    const provider = all[ref.provider];
    const key = schemaKey(ref.mode);
    if (!isObject(provider) || key === null) continue;
    const target = (kept[ref.provider] ??= { ...provider, resource_schemas: {}, data_source_schemas: {} });
    const source = provider[key];
    const schema = isObject(source) ? source[ref.type] : undefined;
    if (schema !== undefined) (target[key] as JsonObject)[ref.type] = schema;
  }
  // Action schemas are small and looked up by provider too (terraform ≥ 1.14).
  for (const ai of arrayOf(plan, "action_invocations")) {
    const name = isObject(ai) ? ai.provider_name : undefined;
    const provider = typeof name === "string" ? all[name] : undefined;
    if (typeof name === "string" && isObject(provider)) kept[name] ??= { ...provider, resource_schemas: {}, data_source_schemas: {} };
  }
  for (const [name, provider] of Object.entries(kept)) {
    const original = all[name];
    if (isObject(original) && original.action_schemas !== undefined) provider.action_schemas = original.action_schemas;
  }
  return { ...schemas, provider_schemas: kept };
}

/**
 * Builds the redacted document, or throws PlanDocumentError when a change refers to a provider
 * schema the schemas document lacks (the CLI would dereference nil rendering it).
 */
export function buildRedactedPlan(planJson: unknown, schemasJson: unknown | null): JsonObject {
  const plan = parse(planJson, "JSON plan");
  const schemas = schemasJson === null ? {} : parse(schemasJson, "provider schemas document");
  const providerSchemas = isObject(schemas.provider_schemas) ? schemas.provider_schemas : {};
  for (const ref of referencedSchemas(plan)) {
    const provider = providerSchemas[ref.provider];
    const key = schemaKey(ref.mode);
    const table = isObject(provider) && key !== null ? provider[key] : undefined;
    if (!isObject(table) || !isObject(table[ref.type])) {
      throw new PlanDocumentError(`no schema for ${ref.address} (${ref.mode} ${ref.type} of ${ref.provider})`);
    }
  }
  for (const ai of arrayOf(plan, "action_invocations")) {
    const name = isObject(ai) ? ai.provider_name : undefined;
    if (typeof name === "string" && !isObject(providerSchemas[name])) throw new PlanDocumentError(`no schema for the actions of ${name}`);
  }

  const doc: JsonObject = {
    plan_format_version: typeof plan.format_version === "string" ? plan.format_version : "",
  };
  if (isObject(plan.output_changes)) {
    const outputs: JsonObject = {};
    for (const [name, change] of Object.entries(plan.output_changes)) outputs[name] = redactChange(change);
    doc.output_changes = outputs;
  }
  const resourceChanges = arrayOf(plan, "resource_changes").map(redactResourceChange);
  if (resourceChanges.length > 0) doc.resource_changes = resourceChanges;
  const drift = arrayOf(plan, "resource_drift").map(redactResourceChange);
  if (drift.length > 0) doc.resource_drift = drift;
  const relevant = arrayOf(plan, "relevant_attributes");
  if (relevant.length > 0) doc.relevant_attributes = relevant;
  const deferred = arrayOf(plan, "deferred_changes").map((d) => (isObject(d) ? { ...d, resource_change: redactResourceChange(d.resource_change) } : d));
  if (deferred.length > 0) doc.deferred_changes = deferred;
  const actions = arrayOf(plan, "action_invocations").map((ai) => {
    if (!isObject(ai) || ai.config_values === undefined) return ai;
    return { ...ai, config_values: redactPair(ai.config_values, ai.config_values, ai.config_sensitive, ai.config_sensitive)[0] };
  });
  if (actions.length > 0) doc.action_invocations = actions;
  doc.provider_format_version = typeof schemas.format_version === "string" ? schemas.format_version : "1.0";
  doc.provider_schemas = providerSchemas;
  return doc;
}
