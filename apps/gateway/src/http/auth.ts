import type { NextFunction, Request, RequestHandler, Response } from "express";
import { auth, type Db, type TokenOwner } from "@tarmac/db";
import { TarmacError, type WorkspaceAccess } from "@tarmac/domain";

export type Principal = TokenOwner;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      principal?: Principal;
    }
  }
}

/** 401 is only for a missing or invalid token (notes §1.2). */
export function authenticate(db: Db): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw new TarmacError("unauthorized");
    const owner = await auth.findTokenOwner(db, match[1]);
    if (!owner) throw new TarmacError("unauthorized");
    req.principal = owner;
    next();
  };
}

export function principalOf(req: Request): Principal {
  if (!req.principal) throw new TarmacError("unauthorized");
  return req.principal;
}

/** The user behind a principal, for created-by/confirmed-by; null for team and organization tokens. */
export function actingUserId(p: Principal): string | null {
  return p.kind === "user" ? p.user.id : null;
}

export type OrganizationRole = "owner" | "member";

/**
 * What a principal may do in an organization: owners (site admins, the owners
 * team, the organization token) manage it; members see what their teams grant.
 * null means the organization is invisible to it (404).
 */
export async function organizationRole(db: Db, p: Principal, organizationId: string): Promise<OrganizationRole | null> {
  switch (p.kind) {
    case "user": {
      if (p.user.isSiteAdmin) return "owner";
      const teams = await auth.userTeamsInOrganization(db, p.user.id, organizationId);
      if (teams.length === 0) return null;
      return teams.some((t) => t.isOwners) ? "owner" : "member";
    }
    case "team":
      if (p.team.organizationId !== organizationId) return null;
      return p.team.isOwners ? "owner" : "member";
    case "organization":
      return p.organizationId === organizationId ? "owner" : null;
  }
  return null;
}

const RANK: Record<WorkspaceAccess, number> = { read: 1, plan: 2, write: 3, admin: 4 };

/** The principal's access level on a workspace (notes §8), or null when it has none. */
export async function workspaceAccess(
  db: Db,
  p: Principal,
  workspace: { id: string; organizationId: string },
): Promise<WorkspaceAccess | null> {
  const role = await organizationRole(db, p, workspace.organizationId);
  if (role === null) return null;
  if (role === "owner") return "admin";
  let teamIds: string[];
  if (p.kind === "team") teamIds = [p.team.id];
  else if (p.kind === "user") teamIds = (await auth.userTeamsInOrganization(db, p.user.id, workspace.organizationId)).map((t) => t.id);
  else teamIds = [];
  const levels = await auth.teamAccessOnWorkspace(db, workspace.id, teamIds);
  let best: WorkspaceAccess | null = null;
  for (const l of levels) if (best === null || RANK[l] > RANK[best]) best = l;
  return best;
}

/** Organization tokens cannot create runs or configuration versions, nor act on runs (notes §8). */
export function refuseOrganizationToken(p: Principal): void {
  if (p.kind === "organization") throw new TarmacError("not_found");
}
