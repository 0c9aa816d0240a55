import { newId } from "@tarmac/domain";
import type { Db, Tx } from "../client";
import type { Prisma } from "../generated/prisma/client";

/**
 * Workspace and project tags. HCP has two tag APIs over one idea: flat tags
 * (`tag-names`, `relationships/tags`) and key/value tag bindings. Tarmac stores
 * one set of bindings per workspace or project; a flat tag is a binding with an
 * empty value, and the workspace's `tag_names` column mirrors those keys so list
 * filters and the serializer read them without a join.
 */

export interface TagBindingInput {
  key: string;
  value: string;
}

export interface TagBindingRow {
  id: string;
  key: string;
  value: string;
  createdAt: Date;
}

export type TagTarget = { workspaceId: string } | { projectId: string };

const bindingSelect = { id: true, key: true, value: true, createdAt: true } as const;
const bindingOrder = [{ seq: "asc" as const }];

export async function listBindings(db: Db | Tx, target: TagTarget): Promise<TagBindingRow[]> {
  return "workspaceId" in target
    ? db.workspaceTagBinding.findMany({ where: { workspaceId: target.workspaceId }, select: bindingSelect, orderBy: bindingOrder })
    : db.projectTagBinding.findMany({ where: { projectId: target.projectId }, select: bindingSelect, orderBy: bindingOrder });
}

export interface EffectiveBinding extends TagBindingRow {
  /** The project the binding comes from; null for the workspace's own. */
  inheritedFromProjectId: string | null;
}

/** A workspace's own bindings, then its project's whose key the workspace does not set itself. */
export async function effectiveWorkspaceBindings(db: Db | Tx, workspaceId: string): Promise<EffectiveBinding[]> {
  const ws = await db.workspace.findUnique({ where: { id: workspaceId }, select: { projectId: true } });
  if (!ws) return [];
  const own = await listBindings(db, { workspaceId });
  const inherited = ws.projectId ? await listBindings(db, { projectId: ws.projectId }) : [];
  const ownKeys = new Set(own.map((b) => b.key));
  return [
    ...own.map((b) => ({ ...b, inheritedFromProjectId: null })),
    ...inherited.filter((b) => !ownKeys.has(b.key)).map((b) => ({ ...b, inheritedFromProjectId: ws.projectId })),
  ];
}

/** Keys present on the target after applying `next` (used to enforce the per-resource limit before writing). */
export async function keysAfterMerge(db: Db | Tx, target: TagTarget, next: TagBindingInput[]): Promise<number> {
  const keys = new Set((await listBindings(db, target)).map((b) => b.key));
  for (const b of next) keys.add(b.key);
  return keys.size;
}

async function upsert(tx: Tx, target: TagTarget, b: TagBindingInput): Promise<void> {
  if ("workspaceId" in target) {
    await tx.workspaceTagBinding.upsert({
      where: { workspaceId_key: { workspaceId: target.workspaceId, key: b.key } },
      create: { id: newId("tb"), workspaceId: target.workspaceId, key: b.key, value: b.value },
      update: { value: b.value },
    });
  } else {
    await tx.projectTagBinding.upsert({
      where: { projectId_key: { projectId: target.projectId, key: b.key } },
      create: { id: newId("tb"), projectId: target.projectId, key: b.key, value: b.value },
      update: { value: b.value },
    });
  }
}

async function deleteWhere(tx: Tx, target: TagTarget, where: { keys?: string[]; notKeys?: string[]; valueless?: boolean }): Promise<void> {
  const filter = {
    ...(where.keys ? { key: { in: where.keys } } : {}),
    ...(where.notKeys ? { key: { notIn: where.notKeys } } : {}),
    ...(where.valueless ? { value: "" } : {}),
  };
  if ("workspaceId" in target) await tx.workspaceTagBinding.deleteMany({ where: { workspaceId: target.workspaceId, ...filter } });
  else await tx.projectTagBinding.deleteMany({ where: { projectId: target.projectId, ...filter } });
}

/** Mirrors the value-less keys into workspaces.tag_names. */
async function syncTagNames(tx: Tx, target: TagTarget): Promise<void> {
  if (!("workspaceId" in target)) return;
  const rows = await listBindings(tx, target);
  const tagNames = rows.filter((b) => b.value === "").map((b) => b.key);
  await tx.workspace.update({ where: { id: target.workspaceId }, data: { tagNames } });
}

/** Adds or updates bindings by key (HCP's PATCH /workspaces/:id/tag-bindings). */
export async function mergeBindings(tx: Tx, target: TagTarget, bindings: TagBindingInput[]): Promise<void> {
  for (const b of bindings) await upsert(tx, target, b);
  await syncTagNames(tx, target);
}

/** Replaces every binding (workspace or project PATCH with relationships.tag-bindings). */
export async function replaceBindings(tx: Tx, target: TagTarget, bindings: TagBindingInput[]): Promise<void> {
  await deleteWhere(tx, target, { notKeys: bindings.map((b) => b.key) });
  await mergeBindings(tx, target, bindings);
}

/** Adds flat tags; a key that already has a value keeps it. */
export async function addFlatTags(tx: Tx, workspaceId: string, names: string[]): Promise<void> {
  const existing = new Set((await listBindings(tx, { workspaceId })).map((b) => b.key));
  for (const key of names) if (!existing.has(key)) await upsert(tx, { workspaceId }, { key, value: "" });
  await syncTagNames(tx, { workspaceId });
}

/** Removes tags by name, whatever their value. */
export async function removeTags(tx: Tx, workspaceId: string, names: string[]): Promise<void> {
  await deleteWhere(tx, { workspaceId }, { keys: names });
  await syncTagNames(tx, { workspaceId });
}

/** `tag-names` written as an attribute: the flat tags become exactly these; valued bindings stay. */
export async function replaceFlatTags(tx: Tx, workspaceId: string, names: string[]): Promise<void> {
  await deleteWhere(tx, { workspaceId }, { valueless: true, notKeys: names });
  await addFlatTags(tx, workspaceId, names);
}

/** A binding filter (`filter[tagged][i]`): the key, and the value when one is given. */
export interface TagFilter {
  key: string;
  value?: string;
}

function bindingWhere(f: TagFilter) {
  return f.value ? { key: f.key, value: f.value } : { key: f.key };
}

/**
 * Workspace conditions for tag filters: a tag matches the workspace's own
 * bindings or those it inherits from its project.
 */
export function workspaceTagWhere(q: { tags?: string[]; excludeTags?: string[]; tagged?: TagFilter[] }): Prisma.WorkspaceWhereInput[] {
  const has = (where: Prisma.WorkspaceTagBindingWhereInput & Prisma.ProjectTagBindingWhereInput): Prisma.WorkspaceWhereInput => ({
    OR: [{ tagBindings: { some: where } }, { project: { tagBindings: { some: where } } }],
  });
  // search[tags] names keys in any case: the CLI's kvtags mode sends its keys there as well as in filter[tagged].
  const named = (key: string) => has({ key: { equals: key, mode: "insensitive" } });
  const out: Prisma.WorkspaceWhereInput[] = [];
  for (const key of q.tags ?? []) out.push(named(key));
  for (const f of q.tagged ?? []) out.push(has(bindingWhere(f)));
  for (const key of q.excludeTags ?? []) out.push({ NOT: named(key) });
  return out;
}

export interface OrganizationTag {
  name: string;
  instanceCount: number;
  createdAt: Date;
}

/** Flat tags in use in an organization (GET /organizations/:org/tags), by name. */
export async function listOrganizationTags(
  db: Db | Tx,
  q: { organizationId: string; query?: string; excludeWorkspaceId?: string; offset: number; limit: number },
): Promise<{ items: OrganizationTag[]; total: number }> {
  const where: Prisma.WorkspaceTagBindingWhereInput = {
    value: "",
    workspace: { organizationId: q.organizationId },
    ...(q.query ? { key: { contains: q.query, mode: "insensitive" } } : {}),
  };
  const groups = await db.workspaceTagBinding.groupBy({
    by: ["key"],
    where,
    _count: { _all: true },
    _min: { createdAt: true },
    orderBy: { key: "asc" },
  });
  let names = groups;
  if (q.excludeWorkspaceId) {
    const own = new Set((await listBindings(db, { workspaceId: q.excludeWorkspaceId })).map((b) => b.key));
    names = groups.filter((g) => !own.has(g.key));
  }
  return {
    items: names.slice(q.offset, q.offset + q.limit).map((g) => ({
      name: g.key,
      instanceCount: g._count._all,
      createdAt: g._min.createdAt ?? new Date(0),
    })),
    total: names.length,
  };
}
