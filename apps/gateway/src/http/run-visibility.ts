import { runsRead, type Db } from "@tarmac/db";
import { workspaceAccessOfStanding, type WorkspaceAccess } from "@tarmac/domain";
import { parsePage, type Page } from "@tarmac/jsonapi";
import type { OrganizationContext } from "./workspace-access";

/** What a principal sees of an organization's workspaces: all of them (owners) or a map of grants. */
export type OrganizationVisibility = { all: WorkspaceAccess } | { byWorkspace: Map<string, WorkspaceAccess> };

/**
 * The principal's access on each workspace of an organization it stands in (loaded by the
 * route's `requires("organization", "member")`), in at most one more query.
 */
export async function visibilityIn(db: Db, ctx: OrganizationContext): Promise<OrganizationVisibility> {
  const everywhere = workspaceAccessOfStanding(ctx.standing);
  if (everywhere !== null || ctx.standing.kind !== "member") return { all: everywhere ?? "admin" };
  const grants = await runsRead.teamAccessInOrganization(db, ctx.organization.id, ctx.teamIds);
  const grantsByWorkspace = new Map<string, WorkspaceAccess[]>();
  for (const g of grants) grantsByWorkspace.set(g.workspaceId, [...(grantsByWorkspace.get(g.workspaceId) ?? []), g.access]);
  const byWorkspace = new Map<string, WorkspaceAccess>();
  for (const [workspaceId, list] of grantsByWorkspace) {
    const access = workspaceAccessOfStanding({ ...ctx.standing, grants: list });
    if (access !== null) byWorkspace.set(workspaceId, access);
  }
  return { byWorkspace };
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

