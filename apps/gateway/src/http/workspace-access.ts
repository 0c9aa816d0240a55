import { organizationsRepo, runsRead, teamsRepo, workspaceAccessRepo, workspacesRepo, type Db, type Tx } from "@tarmac/db";
import {
  accessAtLeast,
  isId,
  isWorkspaceAccess,
  notFound,
  organizationRoleOf,
  permits,
  workspaceAccessOfStanding,
  type OrganizationRole,
  type Permission,
  type Standing,
  type WorkspaceAccess,
} from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import type { Principal } from "./auth";

/** What a principal is in one organization; null from organizationContext means invisible (404). */
export interface OrganizationContext extends OrganizationRole {
  organization: organizationsRepo.Organization;
  /** The principal's teams in the organization (empty for organization tokens and site admins off-team). */
  teamIds: string[];
  /** What the access resolver decides from; its workspace grants are filled per workspace. */
  standing: Standing;
}

/**
 * The principal's standing in one organization (site admin, the organization's token, or its
 * teams there), loaded once; every rule is the resolver's in `@tarmac/domain`.
 */
export async function organizationContext(
  db: Db | Tx,
  p: Principal,
  organization: organizationsRepo.Organization,
): Promise<OrganizationContext | null> {
  let standing: Standing | null = null;
  let teamIds: string[] = [];
  switch (p.kind) {
    case "user": {
      const teams = await teamsRepo.userTeams(db, p.user.id, organization.id);
      teamIds = teams.map((t) => t.id);
      standing = p.user.isSiteAdmin ? { kind: "site-admin" } : { kind: "member", tokenKind: "user", teams, grants: [] };
      break;
    }
    case "team": {
      if (p.team.organizationId !== organization.id) return null;
      const team = await teamsRepo.findTeamFlags(db, p.team.id);
      if (!team) return null;
      teamIds = [team.id];
      standing = { kind: "member", tokenKind: "team", teams: [team], grants: [] };
      break;
    }
    case "organization":
      if (p.organizationId === organization.id) standing = { kind: "organization-token" };
      break;
  }
  const role = organizationRoleOf(standing);
  if (role === null || standing === null) return null;
  return { organization, ...role, teamIds, standing };
}

/** The organization by name with the principal's standing in it; 404 when missing or invisible. */
export async function loadOrganizationForPrincipal(
  deps: Pick<GatewayDeps, "db">,
  p: Principal,
  name: string,
  { ownerOnly = false }: { ownerOnly?: boolean } = {},
): Promise<OrganizationContext> {
  // PostgreSQL text cannot hold NUL: such a name names nothing.
  if (name.includes("\u0000")) throw notFound();
  const organization = await organizationsRepo.findOrganizationByName(deps.db, name);
  if (!organization) throw notFound();
  const ctx = await organizationContext(deps.db, p, organization);
  if (!ctx || (ownerOnly && ctx.role !== "owner")) throw notFound();
  return ctx;
}

/**
 * Access on each of several workspaces of one organization, in at most two queries: the teams'
 * grants on them, then the resolver's answer for each.
 */
export async function workspaceAccessMap(
  db: Db | Tx,
  ctx: OrganizationContext,
  workspaceIds: string[],
): Promise<Map<string, WorkspaceAccess | null>> {
  const out = new Map<string, WorkspaceAccess | null>();
  const needsGrants = ctx.standing.kind === "member" && workspaceAccessOfStanding(ctx.standing) === null;
  const rows = needsGrants ? await teamsRepo.teamAccessOnWorkspaces(db, workspaceIds, ctx.teamIds) : [];
  for (const id of workspaceIds) {
    const grants = rows.filter((r) => r.workspaceId === id).map((r) => r.access);
    out.set(id, workspaceAccessOfStanding(ctx.standing.kind === "member" ? { ...ctx.standing, grants } : ctx.standing));
  }
  return out;
}

/**
 * Whether the principal's access holds what a route requires: a permission key (the resolver's
 * answer, the same the API reports), or a bare access level for routes that declare one.
 */
export function allows(access: WorkspaceAccess | null, principal: Principal, required: Permission | WorkspaceAccess): boolean {
  return isWorkspaceAccess(required) ? accessAtLeast(access, required) : permits(access, principal.kind, required);
}

export type WorkspaceRef = string | { organizationName: string; workspaceName: string };

export interface LoadedWorkspace {
  workspace: workspacesRepo.WorkspaceView;
  access: WorkspaceAccess;
  organization: OrganizationContext;
}

/**
 * Loads a workspace by id (`ws-…`) or by organization and workspace name, with
 * the principal's access on it. A workspace the principal cannot see is a 404,
 * exactly like a missing one (notes §1.2); so is one where the principal lacks
 * `permission` (the resolver's answer, the same the workspace reports).
 * Pass `tx` to read inside a transaction.
 */
export async function loadWorkspaceForPrincipal(
  deps: Pick<GatewayDeps, "db">,
  principal: Principal,
  ref: WorkspaceRef,
  permission: Permission | WorkspaceAccess = "can-read-settings",
  tx?: Tx,
): Promise<LoadedWorkspace> {
  const db: Db | Tx = tx ?? deps.db;
  const workspace =
    typeof ref === "string"
      ? await workspacesRepo.findWorkspaceView(db, ref)
      : await workspacesRepo.findWorkspaceViewByName(db, ref.organizationName, ref.workspaceName);
  if (!workspace) throw notFound();
  const organization = await organizationsRepo.findOrganizationById(db, workspace.organizationId);
  if (!organization) throw notFound();
  const ctx = await organizationContext(db, principal, organization);
  if (!ctx) throw notFound();
  const access = (await workspaceAccessMap(db, ctx, [workspace.id])).get(workspace.id) ?? null;
  if (access === null || !allows(access, principal, permission)) throw notFound();
  return { workspace, access, organization: ctx };
}

/**
 * The principal's access on one workspace known by id and organization, in at most one statement
 * and without loading the workspace or its organization, for checks (run reads) that need nothing
 * else. The standing is read differently; the rule is the same resolver's.
 */
export async function workspaceAccessOf(
  db: Db | Tx,
  p: Principal,
  workspace: { id: string; organizationId: string },
): Promise<WorkspaceAccess | null> {
  switch (p.kind) {
    case "organization":
      return workspaceAccessOfStanding(p.organizationId === workspace.organizationId ? { kind: "organization-token" } : null);
    case "user":
      if (p.user.isSiteAdmin) return workspaceAccessOfStanding({ kind: "site-admin" });
      break;
    case "team":
      if (p.team.organizationId !== workspace.organizationId) return null;
      break;
  }
  const subject = p.kind === "user" ? { userId: p.user.id } : { teamId: p.team.id };
  const teams = await workspaceAccessRepo.teamStandingsOnWorkspace(db, subject, workspace.organizationId, workspace.id);
  return workspaceAccessOfStanding({
    kind: "member",
    tokenKind: p.kind,
    teams,
    grants: teams.flatMap((t) => (t.access === null ? [] : [t.access])),
  });
}

/**
 * A run's workspace (its own row: neither the workspace view nor the organization) with the
 * principal's access on it, and the configuration version the run names (else the workspace's
 * latest), all in one statement and at most one access statement. The same 404 for a workspace
 * that does not exist, that the principal may not see, or where the principal lacks
 * `permission`; the configuration version found is checked by the run's creation, after that.
 */
export async function loadRunTargetForPrincipal(
  deps: Pick<GatewayDeps, "db">,
  principal: Principal,
  workspaceId: string,
  configurationVersionId: string | null,
  permission: Permission | WorkspaceAccess,
): Promise<{ workspace: runsRead.RunWorkspace; access: WorkspaceAccess; configurationVersion: runsRead.RunConfigurationVersion | null }> {
  // Ids that could not have been minted never reach the database.
  if (!isId("ws", workspaceId)) throw notFound();
  const target = await runsRead.findRunTarget(deps.db, workspaceId, configurationVersionId);
  if (!target) throw notFound();
  const access = await workspaceAccessOf(deps.db, principal, target.workspace);
  if (access === null || !allows(access, principal, permission)) throw notFound();
  return { ...target, access };
}

/** A workspace's id and organization with the principal's access: what a run list needs, no more. */
export interface WorkspaceScope {
  workspace: { id: string; organizationId: string };
  access: WorkspaceAccess;
}

/** Like loadWorkspaceForPrincipal, by id only, without loading the workspace's view. */
export async function loadWorkspaceScopeForPrincipal(
  deps: Pick<GatewayDeps, "db">,
  principal: Principal,
  workspaceId: string,
  permission: Permission | WorkspaceAccess,
): Promise<WorkspaceScope> {
  if (!isId("ws", workspaceId)) throw notFound();
  const workspace = await workspaceAccessRepo.findWorkspaceScope(deps.db, workspaceId);
  if (!workspace) throw notFound();
  const access = await workspaceAccessOf(deps.db, principal, workspace);
  if (access === null || !allows(access, principal, permission)) throw notFound();
  return { workspace, access };
}
