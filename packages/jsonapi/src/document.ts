/** JSON:API shapes as HCP Terraform writes them (kebab-case attributes, `type` strings exact). */
export interface ResourceIdentifier {
  type: string;
  id: string;
}

export interface Relationship {
  data?: ResourceIdentifier | ResourceIdentifier[] | null;
  links?: { related?: string; self?: string };
}

export interface Resource {
  id: string;
  type: string;
  attributes: Record<string, unknown>;
  relationships?: Record<string, Relationship>;
  links?: Record<string, string>;
  meta?: Record<string, unknown>;
}

export interface Document {
  data: Resource | Resource[] | null;
  included?: Resource[];
  links?: Record<string, string | null>;
  meta?: Record<string, unknown>;
}

export const MEDIA_TYPE = "application/vnd.api+json";

export const toOne = (type: string, id: string | null | undefined, related?: string): Relationship => ({
  data: id ? { type, id } : null,
  ...(related ? { links: { related } } : {}),
});

export const toMany = (type: string, ids: readonly string[], related?: string): Relationship => ({
  data: ids.map((id) => ({ type, id })),
  ...(related ? { links: { related } } : {}),
});

/** Top-level times: RFC 3339 in UTC with milliseconds and a Z. */
export const time = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** Adds included resources without duplicates (same type and id). */
export function addIncluded(included: Resource[], resources: readonly (Resource | null | undefined)[]): void {
  for (const r of resources) {
    if (!r) continue;
    if (!included.some((x) => x.type === r.type && x.id === r.id)) included.push(r);
  }
}
