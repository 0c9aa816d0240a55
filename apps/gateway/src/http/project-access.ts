import { organizationsRepo, projectsRepo, teamProjectsRepo, type Db, type Tx } from "@tarmac/db";
import { notFound, organizationPermissions, tokenKindOfStanding } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import type { ProjectSerializeContext } from "../serializers/projects";
import type { Principal } from "./auth";
import { organizationContext, type OrganizationContext } from "./workspace-access";

/**
 * Who may do what with projects. HCP's organization permissions read-projects and
 * manage-projects are not stored yet: owners (the owners team, organization tokens,
 * site admins) manage projects; manage-workspaces teams read every project and
 * create workspaces in any; other members see the projects holding a workspace
 * their teams can access.
 */
export function canManageProjects(ctx: OrganizationContext): boolean {
  return organizationPermissions(ctx, tokenKindOfStanding(ctx.standing))["can-create-project"];
}

export function canReadAllProjects(ctx: OrganizationContext): boolean {
  return organizationPermissions(ctx, tokenKindOfStanding(ctx.standing))["can-create-workspace"];
}

export function projectContext(ctx: OrganizationContext): ProjectSerializeContext {
  return { canManage: canManageProjects(ctx), canCreateWorkspace: canReadAllProjects(ctx) };
}

export interface LoadedProject {
  project: projectsRepo.ProjectView;
  organization: OrganizationContext;
}

/** A project the principal can see (or manage, with `manage`); anything else is a 404 as HCP answers. */
export async function loadProjectForPrincipal(
  deps: Pick<GatewayDeps, "db">,
  p: Principal,
  id: string,
  { manage = false }: { manage?: boolean } = {},
  tx?: Tx,
): Promise<LoadedProject> {
  const db: Db | Tx = tx ?? deps.db;
  const project = await projectsRepo.findProjectView(db, id);
  if (!project) throw notFound();
  const organization = await organizationsRepo.findOrganizationById(db, project.organizationId);
  if (!organization) throw notFound();
  const ctx = await organizationContext(db, p, organization);
  if (!ctx) throw notFound();
  if (manage ? !canManageProjects(ctx) : !(await canSeeProject(db, ctx, project.id))) throw notFound();
  return { project, organization: ctx };
}

export async function canSeeProject(db: Db | Tx, ctx: OrganizationContext, projectId: string): Promise<boolean> {
  return canReadAllProjects(ctx) || projectsRepo.isProjectVisibleToTeams(db, projectId, ctx.teamIds);
}

/**
 * The project a workspace is created in or moved to: the named one when it is a
 * project of the workspace's organization the caller can see (a 404 otherwise,
 * the answer for any unknown resource), the default project when none is named.
 */
export async function resolveWorkspaceProject(
  tx: Tx,
  ctx: OrganizationContext,
  projectId: string | undefined,
  action: "create" | "move",
): Promise<string> {
  if (projectId === undefined) return projectsRepo.defaultProjectId(tx, ctx.organization.id);
  const project = await projectsRepo.findProjectView(tx, projectId);
  if (!project || project.organizationId !== ctx.organization.id || !(await mayPlaceWorkspaces(tx, ctx, project.id, action))) throw notFound();
  return project.id;
}

/** Manage-workspaces teams put workspaces anywhere; other teams where their project access lets them. */
export async function mayPlaceWorkspaces(db: Db | Tx, ctx: OrganizationContext, projectId: string, action: "create" | "move"): Promise<boolean> {
  return canReadAllProjects(ctx) || teamProjectsRepo.teamsMayPlaceWorkspaces(db, projectId, ctx.teamIds, action);
}
