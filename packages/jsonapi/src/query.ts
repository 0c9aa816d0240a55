/**
 * `include=a,b.c`: snake_case paths with dots. Both `-` and `_` spellings are
 * accepted (go-tfe mixes them). Unknown values are ignored, never an error:
 * the terraform CLI aborts on a 400 for `include=task_stages` (notes §0.3).
 */
export function parseInclude(query: Record<string, unknown>): Set<string> {
  const raw = query.include;
  const values = Array.isArray(raw) ? raw : [raw];
  const out = new Set<string>();
  for (const v of values) {
    if (typeof v !== "string") continue;
    for (const part of v.split(",")) {
      const p = part.trim().replace(/-/g, "_");
      if (p) out.add(p);
    }
  }
  return out;
}

/** `filter[x]=a,b` (or repeated) → list; absent → undefined. Reads qs-nested and flat forms. */
export function parseListParam(query: Record<string, unknown>, group: string, key: string): string[] | undefined {
  const nested = query[group];
  let raw: unknown = undefined;
  if (nested && typeof nested === "object" && !Array.isArray(nested)) raw = (nested as Record<string, unknown>)[key];
  if (raw === undefined) raw = query[`${group}[${key}]`];
  if (raw === undefined) return undefined;
  const values = (Array.isArray(raw) ? raw : [raw]).filter((v): v is string => typeof v === "string");
  return values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
}

/** A single-valued parameter such as `search[basic]` or `filter[status_group]`. */
export function parseStringParam(query: Record<string, unknown>, group: string, key: string): string | undefined {
  const list = parseListParam(query, group, key);
  if (list === undefined) return undefined;
  const nested = query[group];
  const raw =
    nested && typeof nested === "object" && !Array.isArray(nested)
      ? (nested as Record<string, unknown>)[key]
      : query[`${group}[${key}]`];
  return typeof raw === "string" ? raw : list.join(",");
}

/** The query string as flat `key=value` pairs (for pagination links). */
export function flattenQuery(query: Record<string, unknown>, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(query)) {
    const key = prefix ? `${prefix}[${k}]` : k;
    if (typeof v === "string") out[key] = v;
    else if (Array.isArray(v)) out[key] = v.filter((x) => typeof x === "string").join(",");
    else if (v && typeof v === "object") Object.assign(out, flattenQuery(v as Record<string, unknown>, key));
  }
  return out;
}
