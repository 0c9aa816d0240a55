import { organizationsRepo, runsRead, type Db } from "@tarmac/db";
import { notFound, workspaceAccessOfStanding, type WorkspaceAccess } from "@tarmac/domain";
import { parsePage, type Page } from "@tarmac/jsonapi";
import type { Principal } from "./auth";
import { organizationContext } from "./workspace-access";

/** What a principal sees of an organization's workspaces: all of them (owners) or a map of grants. */
export type OrganizationVisibility = { all: WorkspaceAccess } | { byWorkspace: Map<string, WorkspaceAccess> };

/**
 * Resolves an organization by name and the principal's access on each of its workspaces, in a
 * fixed number of queries. An organization the principal has no part in is a 404.
 */
export async function organizationVisibility(
  db: Db,
  principal: Principal,
  organizationName: string,
): Promise<{ organization: { id: string; name: string }; visibility: OrganizationVisibility }> {
  if (organizationName.includes("\u0000")) throw notFound("organization not found");
  const organization = await organizationsRepo.findOrganizationByName(db, organizationName);
  if (!organization) throw notFound("organization not found");
  const ctx = await organizationContext(db, principal, organization);
  if (ctx === null) throw notFound("organization not found");
  const everywhere = workspaceAccessOfStanding(ctx.standing);
  if (everywhere !== null || ctx.standing.kind !== "member") return { organization, visibility: { all: everywhere ?? "admin" } };
  const grants = await runsRead.teamAccessInOrganization(db, organization.id, ctx.teamIds);
  const grantsByWorkspace = new Map<string, WorkspaceAccess[]>();
  for (const g of grants) grantsByWorkspace.set(g.workspaceId, [...(grantsByWorkspace.get(g.workspaceId) ?? []), g.access]);
  const byWorkspace = new Map<string, WorkspaceAccess>();
  for (const [workspaceId, list] of grantsByWorkspace) {
    const access = workspaceAccessOfStanding({ ...ctx.standing, grants: list });
    if (access !== null) byWorkspace.set(workspaceId, access);
  }
  return { organization, visibility: { byWorkspace } };
}

export function visibleWorkspaceIds(v: OrganizationVisibility): string[] | null {
  return "all" in v ? null : [...v.byWorkspace.keys()];
}

export function accessIn(v: OrganizationVisibility, workspaceId: string): WorkspaceAccess | null {
  return "all" in v ? v.all : (v.byWorkspace.get(workspaceId) ?? null);
}

/** The most pages a list can be walked to; beyond it the offset would overflow the database's integers. */
const MAX_PAGE_NUMBER = 10_000_000;

/** parsePage, with absurd page numbers clamped so they read as an empty page past the end, not a 500. */
export function parseListPage(query: Record<string, unknown>): Page {
  const page = parsePage(query);
  if (page.number <= MAX_PAGE_NUMBER && Number.isSafeInteger(page.number)) return page;
  return { ...page, number: MAX_PAGE_NUMBER, offset: (MAX_PAGE_NUMBER - 1) * page.size };
}

