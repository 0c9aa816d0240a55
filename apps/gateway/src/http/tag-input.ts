import { z } from "zod";
import { tagsRepo, type Tx } from "@tarmac/db";
import { invalidAttribute } from "./request-body";

/** HCP's flat tag names: letters, numbers, `:`, `-` and `_`, up to 255 characters, stored lowercase. */
export const flatTagName = z
  .string()
  .min(1, "Tag name can't be blank")
  .max(255, "Tag name is too long (maximum is 255 characters)")
  .regex(/^[A-Za-z0-9:_-]+$/, "Tag names may contain letters, numbers, :, - and _");

/** Tags have no rows of their own: the id is derived from the name. */
export const TAG_ID_PREFIX = "tag-";

// go-tfe sends a flat tag by name ({"type":"tags","attributes":{"name":…}}) or by id.
const tagRef = z.object({
  type: z.literal("tags"),
  id: z.string().max(300).optional(),
  attributes: z.object({ name: flatTagName }).optional(),
});

export const tagRefs = z.array(tagRef).max(1000);

/** Names of `{"type":"tags"}` references, lowercased and de-duplicated; `pointer` locates the array. */
export function flatTagNamesOf(refs: z.infer<typeof tagRefs>, pointer: string): string[] {
  const names = refs.map((t, i) => {
    const name = t.attributes?.name ?? (t.id?.startsWith(TAG_ID_PREFIX) ? t.id.slice(TAG_ID_PREFIX.length) : undefined);
    if (!name || !flatTagName.safeParse(name).success) throw invalidAttribute("Tag name or id is required", `${pointer}/${i}`);
    return name.toLowerCase();
  });
  return [...new Set(names)];
}

/** At most this many tag bindings per workspace or project (HCP: "cannot exceed 10 bindings per resource"). */
export const MAX_TAG_BINDINGS = 10;

const TAG_KEY = /^[A-Za-z0-9_.:/-]+$/;

// go-tfe marshals TagBinding as {"type":"tag-bindings","attributes":{"key":…,"value":…}}; value is omitted when empty.
const bindingRef = z.object({
  type: z.literal("tag-bindings"),
  id: z.string().optional(),
  attributes: z.object({
    key: z
      .string()
      .min(1, "Key can't be blank")
      .max(128, "Key is too long (maximum is 128 characters)")
      .regex(TAG_KEY, "Key may only contain letters, numbers, -, _, ., : and /"),
    value: z
      .string()
      .max(256, "Value is too long (maximum is 256 characters)")
      // eslint-disable-next-line no-control-regex
      .regex(/^[^\u0000-\u001f\u007f]*$/, "Value may not contain control characters")
      .nullable()
      .optional(),
  }),
});

export const bindingRefs = z.array(bindingRef).max(1000);

/** Bindings of a request, with duplicate keys and the per-resource limit refused. */
export function bindingsOf(refs: z.infer<typeof bindingRefs>, pointer: string): tagsRepo.TagBindingInput[] {
  const seen = new Set<string>();
  const out = refs.map((b, i) => {
    const value = b.attributes.value ?? "";
    // A key-only binding is a flat tag, and flat tags are lowercase: the CLI's tags mode adds
    // ["Web"] as a key-only binding, which must land on the flat tag "web", not beside it.
    const key = value === "" ? b.attributes.key.toLowerCase() : b.attributes.key;
    if (seen.has(key)) throw invalidAttribute(`Key ${key} is given more than once`, `${pointer}/${i}/attributes/key`);
    seen.add(key);
    return { key, value };
  });
  if (out.length > MAX_TAG_BINDINGS) throw tooManyBindings(pointer);
  return out;
}

export function tooManyBindings(pointer = "/data"): Error {
  return invalidAttribute(`Tag bindings cannot exceed ${MAX_TAG_BINDINGS} bindings per resource`, pointer);
}

/** `{"data":[…tag-bindings…]}`: the body of PATCH/POST …/tag-bindings. */
export const bindingsDocument = z.object({ data: bindingRefs });

/** `{"data":[…tags…]}`: the body of POST/DELETE …/relationships/tags. */
export const tagsDocument = z.object({ data: tagRefs.min(1, "at least one tag is required") });

/** `filter[tagged][i][key]` / `[value]` from either query shape (flat keys or nested objects). */
export function parseTaggedFilter(query: Record<string, unknown>): tagsRepo.TagFilter[] {
  const byIndex = new Map<number, { key?: string; value?: string }>();
  const put = (index: string, field: string, raw: unknown) => {
    const n = Number(index);
    if (!Number.isInteger(n) || n < 0 || n > 100 || (field !== "key" && field !== "value") || typeof raw !== "string") return;
    const entry = byIndex.get(n) ?? {};
    entry[field] = raw;
    byIndex.set(n, entry);
  };
  for (const [k, v] of Object.entries(query)) {
    const m = /^filter\[tagged\]\[(\d+)\]\[(key|value)\]$/.exec(k);
    if (m) put(m[1]!, m[2]!, v);
  }
  const filter = query.filter;
  const tagged = filter && typeof filter === "object" ? (filter as Record<string, unknown>).tagged : undefined;
  if (tagged && typeof tagged === "object") {
    for (const [index, entry] of Object.entries(tagged as Record<string, unknown>)) {
      if (entry && typeof entry === "object") for (const [field, raw] of Object.entries(entry)) put(index, field, raw);
    }
  }
  return [...byIndex.entries()]
    .sort(([a], [b]) => a - b)
    .flatMap(([, e]) => (e.key ? [{ key: e.key, ...(e.value ? { value: e.value } : {}) }] : []));
}

/**
 * Writes a resource's key/value bindings inside the caller's transaction (which holds the
 * resource's row lock): `replace` sets exactly these, `merge` adds or updates keys and refuses
 * a result over the per-resource limit. Workspaces and projects share it.
 */
export async function writeTagBindings(tx: Tx, target: tagsRepo.TagTarget, bindings: tagsRepo.TagBindingInput[], mode: "merge" | "replace"): Promise<void> {
  if (mode === "replace") return tagsRepo.replaceBindings(tx, target, bindings);
  if ((await tagsRepo.keysAfterMerge(tx, target, bindings)) > MAX_TAG_BINDINGS) throw tooManyBindings();
  return tagsRepo.mergeBindings(tx, target, bindings);
}
