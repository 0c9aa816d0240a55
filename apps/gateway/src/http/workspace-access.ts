import { organizationsRepo, runsRead, teamsRepo, workspaceAccessRepo, workspacesRepo, type Db, type Tx, type WorkspaceModel } from "@tarmac/db";
import { accessAtLeast, accessFromTeamStandings, bestAccess, isId, notFound, type WorkspaceAccess } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import type { Principal } from "./auth";

/** What a principal is in one organization; null from organizationContext means invisible (404). */
export interface OrganizationContext {
  organization: organizationsRepo.Organization;
  role: "owner" | "member";
  /** The principal's teams in the organization (empty for organization tokens and site admins off-team). */
  teamIds: string[];
  /** Owners, and members of a team with organization-access manage-workspaces (admin on every workspace). */
  managesWorkspaces: boolean;
}

export async function organizationContext(
  db: Db | Tx,
  p: Principal,
  organization: organizationsRepo.Organization,
): Promise<OrganizationContext | null> {
  switch (p.kind) {
    case "user": {
      const teams = await teamsRepo.userTeams(db, p.user.id, organization.id);
      const teamIds = teams.map((t) => t.id);
      if (p.user.isSiteAdmin) return { organization, role: "owner", teamIds, managesWorkspaces: true };
      if (teams.length === 0) return null;
      const owner = teams.some((t) => t.isOwners);
      return { organization, role: owner ? "owner" : "member", teamIds, managesWorkspaces: owner || teams.some((t) => t.manageWorkspaces) };
    }
    case "team": {
      if (p.team.organizationId !== organization.id) return null;
      const team = await teamsRepo.findTeamFlags(db, p.team.id);
      if (!team) return null;
      return {
        organization,
        role: team.isOwners ? "owner" : "member",
        teamIds: [team.id],
        managesWorkspaces: team.isOwners || team.manageWorkspaces,
      };
    }
    case "organization":
      return p.organizationId === organization.id ? { organization, role: "owner", teamIds: [], managesWorkspaces: true } : null;
  }
  return null;
}

/** The organization by name with the principal's standing in it; 404 when missing or invisible. */
export async function loadOrganizationForPrincipal(
  deps: Pick<GatewayDeps, "db">,
  p: Principal,
  name: string,
  { ownerOnly = false }: { ownerOnly?: boolean } = {},
): Promise<OrganizationContext> {
  const organization = await organizationsRepo.findOrganizationByName(deps.db, name);
  if (!organization) throw notFound();
  const ctx = await organizationContext(deps.db, p, organization);
  if (!ctx || (ownerOnly && ctx.role !== "owner")) throw notFound();
  return ctx;
}

/**
 * Access on each of several workspaces of one organization, in two queries:
 * owners and manage-workspaces teams get admin everywhere (HCP), others the
 * best level their teams were granted.
 */
export async function workspaceAccessMap(
  db: Db | Tx,
  ctx: OrganizationContext,
  workspaceIds: string[],
): Promise<Map<string, WorkspaceAccess | null>> {
  const out = new Map<string, WorkspaceAccess | null>();
  if (ctx.role === "owner" || ctx.managesWorkspaces) {
    for (const id of workspaceIds) out.set(id, "admin");
    return out;
  }
  const rows = await teamsRepo.teamAccessOnWorkspaces(db, workspaceIds, ctx.teamIds);
  for (const id of workspaceIds) out.set(id, bestAccess(rows.filter((r) => r.workspaceId === id).map((r) => r.access)));
  return out;
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
 * exactly like a missing one (notes §1.2); so is one where the principal is
 * below `minimum`. Pass `tx` to read inside a transaction.
 */
export async function loadWorkspaceForPrincipal(
  deps: Pick<GatewayDeps, "db">,
  principal: Principal,
  ref: WorkspaceRef,
  minimum: WorkspaceAccess = "read",
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
  if (access === null || !accessAtLeast(access, minimum)) throw notFound();
  return { workspace, access, organization: ctx };
}

/**
 * The principal's access on one workspace known by id and organization, in at most one statement
 * and without loading the workspace or its organization: the same rules as organizationContext
 * and workspaceAccessMap, for checks (run reads) that need nothing else.
 */
export async function workspaceAccessOf(
  db: Db | Tx,
  p: Principal,
  workspace: { id: string; organizationId: string },
): Promise<WorkspaceAccess | null> {
  switch (p.kind) {
    case "organization":
      return p.organizationId === workspace.organizationId ? "admin" : null;
    case "user":
      if (p.user.isSiteAdmin) return "admin";
      break;
    case "team":
      if (p.team.organizationId !== workspace.organizationId) return null;
      break;
  }
  const subject = p.kind === "user" ? { userId: p.user.id } : { teamId: p.team.id };
  const teams = await workspaceAccessRepo.teamStandingsOnWorkspace(db, subject, workspace.organizationId, workspace.id);
  return accessFromTeamStandings(teams);
}

/**
 * A workspace's own row and the principal's access on it, for writes that need neither the
 * workspace view (current run, lock holder, latest run) nor the organization: one read of the
 * row and at most one access statement, where loadWorkspaceForPrincipal makes several. The
 * same 404 for a workspace that does not exist or that the principal may not see (or not at
 * `minimum`).
 */
export async function loadWorkspaceRowForPrincipal(
  deps: Pick<GatewayDeps, "db">,
  principal: Principal,
  workspaceId: string,
  minimum: WorkspaceAccess = "read",
): Promise<{ workspace: WorkspaceModel; access: WorkspaceAccess }> {
  // Ids that could not have been minted never reach the database.
  if (!isId("ws", workspaceId)) throw notFound();
  const workspace = await runsRead.findWorkspace(deps.db, workspaceId);
  if (!workspace) throw notFound();
  const access = await workspaceAccessOf(deps.db, principal, workspace);
  if (access === null || !accessAtLeast(access, minimum)) throw notFound();
  return { workspace, access };
}
