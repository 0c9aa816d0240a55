import type { Request } from "express";
import { z } from "zod";
import { projectsRepo, tagsRepo, type Tx } from "@tarmac/db";
import { addIncluded, parseInclude, type Resource } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { serializeEffectiveTagBinding, serializeProject } from "../serializers/projects";
import { canSeeProject, mayPlaceWorkspaces, projectContext, resolveWorkspaceProject } from "./project-access";
import { bindingRefs, bindingsOf, flatTagNamesOf, flatTagName, tagRefs } from "./tag-input";
import type { OrganizationContext } from "./workspace-access";

/**
 * The relationships a workspace create or update may carry: its project, flat
 * tags (the CLI's `tags = [...]`), key/value tag bindings (`tags = {...}`) and its
 * agent pool (read with the execution mode, by the route). Others are accepted and ignored.
 */
export const workspaceRelationships = z
  .object({
    project: z.object({ data: z.object({ type: z.literal("projects"), id: z.string().min(1).max(64) }).nullable() }).optional(),
    "agent-pool": z.object({ data: z.object({ type: z.literal("agent-pools"), id: z.string().min(1).max(64) }).nullable() }).optional(),
    tags: z.object({ data: tagRefs }).optional(),
    "tag-bindings": z.object({ data: bindingRefs }).optional(),
  })
  .passthrough()
  .nullable()
  .optional();

export const tagNamesAttribute = z.array(flatTagName).max(1000);

export interface WorkspaceRelationChanges {
  /** A project to put the workspace in; undefined keeps it (or, on create, the default project). */
  projectId?: string;
  /** The flat tags become exactly these (value-less bindings); valued bindings stay. */
  flatTags?: string[];
  /** Every binding is replaced by these. */
  bindings?: tagsRepo.TagBindingInput[];
}

/** Validates everything before any write, so a bad tag leaves nothing written. */
export function relationChangesOf(
  tagNames: string[] | undefined,
  relationships: z.infer<typeof workspaceRelationships>,
): WorkspaceRelationChanges {
  const changes: WorkspaceRelationChanges = {};
  const project = relationships?.project?.data;
  if (project) changes.projectId = project.id;
  const flat = [
    ...(tagNames ?? []).map((t) => t.toLowerCase()),
    ...(relationships?.tags ? flatTagNamesOf(relationships.tags.data, "/data/relationships/tags/data") : []),
  ];
  if (tagNames !== undefined || relationships?.tags) changes.flatTags = [...new Set(flat)];
  const bindings = relationships?.["tag-bindings"];
  if (bindings) changes.bindings = bindingsOf(bindings.data, "/data/relationships/tag-bindings/data");
  return changes;
}

/** The project a new workspace goes in: checked before the insert. */
export function projectForCreate(tx: Tx, ctx: OrganizationContext, changes: WorkspaceRelationChanges): Promise<string> {
  return resolveWorkspaceProject(tx, ctx, changes.projectId, "create");
}

/** Applies the tag and project changes inside the caller's transaction. */
export async function applyRelationChanges(
  tx: Tx,
  ctx: OrganizationContext,
  workspaceId: string,
  changes: WorkspaceRelationChanges,
): Promise<void> {
  if (changes.projectId !== undefined) {
    await projectsRepo.setWorkspaceProject(tx, workspaceId, await resolveWorkspaceProject(tx, ctx, changes.projectId, "move"));
  }
  if (changes.bindings) await tagsRepo.replaceBindings(tx, { workspaceId }, changes.bindings);
  if (changes.flatTags) await tagsRepo.replaceFlatTags(tx, workspaceId, changes.flatTags);
}

/**
 * `include=project` and `include=effective_tag_bindings` on workspace reads: the
 * related resources go in `included`, and the bindings' identifiers into each
 * workspace's relationship so go-tfe fills `EffectiveTagBindings`.
 */
export async function includeProjectsAndTags(
  deps: GatewayDeps,
  req: Request,
  ctx: OrganizationContext,
  data: Resource[],
  included: Resource[],
): Promise<void> {
  const include = parseInclude(req.query as Record<string, unknown>);
  if (include.has("project")) {
    const seen = new Set<string>();
    for (const ws of data) {
      const ref = ws.relationships?.project?.data;
      if (!ref || Array.isArray(ref) || seen.has(ref.id)) continue;
      seen.add(ref.id);
      const project = await projectsRepo.findProjectView(deps.db, ref.id);
      if (project && (await canSeeProject(deps.db, ctx, project.id))) addIncluded(included, [serializeProject(project, projectContext(ctx))]);
    }
  }
  if (include.has("effective_tag_bindings")) {
    for (const ws of data) {
      const bindings = (await tagsRepo.effectiveWorkspaceBindings(deps.db, ws.id)).map(serializeEffectiveTagBinding);
      ws.relationships = { ...ws.relationships, "effective-tag-bindings": { data: bindings.map(({ type, id }) => ({ type, id })) } };
      addIncluded(included, bindings);
    }
  }
}

/** `filter[project][id]`, flat or nested. */
export function parseProjectFilter(query: Record<string, unknown>): string | undefined {
  const flat = query["filter[project][id]"];
  const filter = query.filter as { project?: { id?: unknown } } | undefined;
  const raw = typeof flat === "string" ? flat : typeof filter === "object" && filter ? filter.project?.id : undefined;
  return typeof raw === "string" && raw !== "" ? raw : undefined;
}

/** Who may create a workspace: manage-workspaces teams anywhere, others in a project whose access lets them. */
export async function mayCreateWorkspace(deps: Pick<GatewayDeps, "db">, ctx: OrganizationContext, changes: WorkspaceRelationChanges): Promise<boolean> {
  if (ctx.managesWorkspaces) return true;
  return changes.projectId !== undefined && (await mayPlaceWorkspaces(deps.db, ctx, changes.projectId, "create"));
}
