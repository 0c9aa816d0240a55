import { newId } from "@tarmac/domain";
import type { Db, Tx } from "../client";
import { Prisma, type TeamProjectAccess } from "../generated/prisma/client";
import type { AccessLevel } from "./workspace-access";

export type { TeamProjectAccess };

export interface TeamProjectGrant {
  access: string;
  workspaceLevel: AccessLevel;
  projectAccess: Prisma.InputJsonValue | null;
  workspaceAccess: Prisma.InputJsonValue | null;
}

export async function findTeamProjectAccess(db: Db | Tx, id: string): Promise<TeamProjectAccess | null> {
  return db.teamProjectAccess.findUnique({ where: { id } });
}

export async function listTeamProjectAccess(
  db: Db | Tx,
  q: { projectId: string; teamId?: string; offset: number; limit: number },
): Promise<{ items: TeamProjectAccess[]; total: number }> {
  const where: Prisma.TeamProjectAccessWhereInput = { projectId: q.projectId, ...(q.teamId ? { teamId: q.teamId } : {}) };
  const [items, total] = await Promise.all([
    db.teamProjectAccess.findMany({ where, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip: q.offset, take: q.limit }),
    db.teamProjectAccess.count({ where }),
  ]);
  return { items, total };
}

export async function isTeamOnProject(db: Db | Tx, teamId: string, projectId: string): Promise<boolean> {
  return (await db.teamProjectAccess.findUnique({ where: { teamId_projectId: { teamId, projectId } }, select: { id: true } })) !== null;
}

export async function createTeamProjectAccess(tx: Tx, teamId: string, projectId: string, grant: TeamProjectGrant): Promise<TeamProjectAccess> {
  return tx.teamProjectAccess.create({
    data: {
      id: newId("tprj"),
      teamId,
      projectId,
      access: grant.access,
      workspaceLevel: grant.workspaceLevel,
      projectAccess: grant.projectAccess ?? Prisma.DbNull,
      workspaceAccess: grant.workspaceAccess ?? Prisma.DbNull,
    },
  });
}

export async function updateTeamProjectAccess(tx: Tx, id: string, grant: TeamProjectGrant): Promise<TeamProjectAccess> {
  return tx.teamProjectAccess.update({
    where: { id },
    data: {
      access: grant.access,
      workspaceLevel: grant.workspaceLevel,
      projectAccess: grant.projectAccess ?? Prisma.DbNull,
      workspaceAccess: grant.workspaceAccess ?? Prisma.DbNull,
    },
  });
}

export async function deleteTeamProjectAccess(db: Db | Tx, id: string): Promise<boolean> {
  const { count } = await db.teamProjectAccess.deleteMany({ where: { id } });
  return count === 1;
}

/**
 * What teams' project grants give on workspaces: one row per workspace and
 * granting team (read with the direct grants, the best level wins).
 */
export async function projectGrantsOnWorkspaces(
  db: Db | Tx,
  workspaceIds: string[],
  teamIds: string[],
): Promise<{ workspaceId: string; access: AccessLevel }[]> {
  if (workspaceIds.length === 0 || teamIds.length === 0) return [];
  const workspaces = await db.workspace.findMany({ where: { id: { in: workspaceIds } }, select: { id: true, projectId: true } });
  const projectIds = [...new Set(workspaces.flatMap((w) => (w.projectId ? [w.projectId] : [])))];
  if (projectIds.length === 0) return [];
  const grants = await db.teamProjectAccess.findMany({
    where: { projectId: { in: projectIds }, teamId: { in: teamIds } },
    select: { projectId: true, workspaceLevel: true },
  });
  return workspaces.flatMap((w) => grants.filter((g) => g.projectId === w.projectId).map((g) => ({ workspaceId: w.id, access: g.workspaceLevel })));
}

/**
 * Whether one of these teams' grants on the project lets it create (or move) workspaces there:
 * maintain and admin create, admin moves, custom says so in its workspace-access.
 */
export async function teamsMayPlaceWorkspaces(db: Db | Tx, projectId: string, teamIds: string[], action: "create" | "move"): Promise<boolean> {
  if (teamIds.length === 0) return false;
  const grants = await db.teamProjectAccess.findMany({ where: { projectId, teamId: { in: teamIds } }, select: { access: true, workspaceAccess: true } });
  return grants.some((g) => {
    if (g.access === "admin") return true;
    if (g.access === "maintain") return action === "create";
    const custom = g.workspaceAccess;
    return g.access === "custom" && typeof custom === "object" && custom !== null && !Array.isArray(custom) && custom[action] === true;
  });
}
