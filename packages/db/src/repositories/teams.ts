import { randomBase58, newId } from "@tarmac/domain";
import { projectGrantsOnWorkspaces } from "./team-projects";
import type { Db, Tx } from "../client";
import type { Prisma } from "../generated/prisma/client";
import type { AccessLevel } from "../generated/prisma/enums";

export const teamViewInclude = {
  organization: { select: { id: true, name: true } },
  memberships: { select: { userId: true }, orderBy: { createdAt: "asc" } },
} satisfies Prisma.TeamInclude;

export type TeamView = Prisma.TeamGetPayload<{ include: typeof teamViewInclude }>;

export async function findTeamView(db: Db | Tx, id: string): Promise<TeamView | null> {
  return db.team.findUnique({ where: { id }, include: teamViewInclude });
}

export async function isTeamNameTaken(db: Db | Tx, organizationId: string, name: string, exceptId?: string): Promise<boolean> {
  const row = await db.team.findUnique({ where: { organizationId_name: { organizationId, name } }, select: { id: true } });
  return row !== null && row.id !== exceptId;
}

export interface TeamListQuery {
  organizationId: string;
  /** Non-owners see teams visible to the organization plus their own; undefined lists all. */
  visibleWithTeamIds?: string[];
  names?: string[];
  offset: number;
  limit: number;
}

export async function listTeamViews(db: Db | Tx, q: TeamListQuery): Promise<{ items: TeamView[]; total: number }> {
  const and: Prisma.TeamWhereInput[] = [{ organizationId: q.organizationId }];
  if (q.visibleWithTeamIds) and.push({ OR: [{ visibility: "organization" }, { id: { in: q.visibleWithTeamIds } }] });
  if (q.names) and.push({ name: { in: q.names } });
  const where: Prisma.TeamWhereInput = { AND: and };
  const [items, total] = await Promise.all([
    db.team.findMany({ where, include: teamViewInclude, orderBy: [{ name: "asc" }], skip: q.offset, take: q.limit }),
    db.team.count({ where }),
  ]);
  return { items, total };
}

export type TeamSettings = Partial<Pick<Prisma.TeamUncheckedCreateInput, "name" | "visibility" | "manageWorkspaces" | "manageRunTasks" | "managePolicyOverrides">>;

export async function createTeam(tx: Tx, organizationId: string, settings: TeamSettings & { name: string }): Promise<TeamView> {
  const id = newId("team");
  await tx.team.create({ data: { ...settings, id, organizationId } });
  return (await findTeamView(tx, id))!;
}

export async function updateTeam(tx: Tx, id: string, settings: TeamSettings): Promise<TeamView> {
  await tx.team.update({ where: { id }, data: settings });
  return (await findTeamView(tx, id))!;
}

export async function deleteTeam(db: Db | Tx, id: string): Promise<boolean> {
  const { count } = await db.team.deleteMany({ where: { id } });
  return count === 1;
}

export async function addTeamMembers(tx: Tx, teamId: string, userIds: string[]): Promise<void> {
  if (userIds.length === 0) return;
  await tx.teamMembership.createMany({ data: userIds.map((userId) => ({ teamId, userId })), skipDuplicates: true });
}

export async function removeTeamMembers(tx: Tx, teamId: string, userIds: string[]): Promise<void> {
  if (userIds.length === 0) return;
  await tx.teamMembership.deleteMany({ where: { teamId, userId: { in: userIds } } });
}

export async function countTeamMembers(db: Db | Tx, teamId: string): Promise<number> {
  return db.teamMembership.count({ where: { teamId } });
}

/** The teams of an organization a user is on (for visibility and organization-access checks). */
export async function userTeams(
  db: Db | Tx,
  userId: string,
  organizationId: string,
): Promise<{ id: string; isOwners: boolean; manageWorkspaces: boolean; manageRunTasks: boolean; managePolicyOverrides: boolean }[]> {
  return db.team.findMany({
    where: { organizationId, memberships: { some: { userId } } },
    select: { id: true, isOwners: true, manageWorkspaces: true, manageRunTasks: true, managePolicyOverrides: true },
  });
}

// Team workspace access ("team-workspaces", ids "tws-…").

export const teamWorkspaceInclude = {
  team: { select: { id: true, organizationId: true } },
  workspace: { select: { id: true, organizationId: true } },
} satisfies Prisma.TeamWorkspaceAccessInclude;

export type TeamWorkspaceView = Prisma.TeamWorkspaceAccessGetPayload<{ include: typeof teamWorkspaceInclude }>;

export async function findTeamWorkspace(db: Db | Tx, id: string): Promise<TeamWorkspaceView | null> {
  return db.teamWorkspaceAccess.findUnique({ where: { id }, include: teamWorkspaceInclude });
}

export async function findTeamWorkspaceByPair(db: Db | Tx, teamId: string, workspaceId: string): Promise<TeamWorkspaceView | null> {
  return db.teamWorkspaceAccess.findUnique({ where: { teamId_workspaceId: { teamId, workspaceId } }, include: teamWorkspaceInclude });
}

export async function listTeamWorkspaces(
  db: Db | Tx,
  workspaceId: string,
  offset: number,
  limit: number,
): Promise<{ items: TeamWorkspaceView[]; total: number }> {
  const where = { workspaceId };
  const [items, total] = await Promise.all([
    db.teamWorkspaceAccess.findMany({ where, include: teamWorkspaceInclude, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip: offset, take: limit }),
    db.teamWorkspaceAccess.count({ where }),
  ]);
  return { items, total };
}

export async function createTeamWorkspace(
  tx: Tx,
  data: { teamId: string; workspaceId: string; access: AccessLevel },
): Promise<TeamWorkspaceView> {
  // HCP's prefix for team workspace access ids; not one of the domain's id prefixes.
  const id = `tws-${randomBase58(16)}`;
  return tx.teamWorkspaceAccess.create({ data: { ...data, id }, include: teamWorkspaceInclude });
}

export async function updateTeamWorkspace(tx: Tx, id: string, access: AccessLevel): Promise<TeamWorkspaceView> {
  return tx.teamWorkspaceAccess.update({ where: { id }, data: { access }, include: teamWorkspaceInclude });
}

export async function deleteTeamWorkspace(db: Db | Tx, id: string): Promise<boolean> {
  const { count } = await db.teamWorkspaceAccess.deleteMany({ where: { id } });
  return count === 1;
}

/** The access rows of the given teams on the given workspaces (one query for a workspace list). */
export async function teamAccessOnWorkspaces(
  db: Db | Tx,
  workspaceIds: string[],
  teamIds: string[],
): Promise<{ workspaceId: string; access: AccessLevel }[]> {
  if (workspaceIds.length === 0 || teamIds.length === 0) return [];
  const [direct, throughProjects] = await Promise.all([
    db.teamWorkspaceAccess.findMany({
      where: { workspaceId: { in: workspaceIds }, teamId: { in: teamIds } },
      select: { workspaceId: true, access: true },
    }),
    // A team's project access reaches every workspace of the project (HCP team-projects).
    projectGrantsOnWorkspaces(db, workspaceIds, teamIds),
  ]);
  return [...direct, ...throughProjects];
}

export async function findTeamFlags(
  db: Db | Tx,
  id: string,
): Promise<{ id: string; organizationId: string; isOwners: boolean; manageWorkspaces: boolean; manageRunTasks: boolean; managePolicyOverrides: boolean } | null> {
  return db.team.findUnique({
    where: { id },
    select: { id: true, organizationId: true, isOwners: true, manageWorkspaces: true, manageRunTasks: true, managePolicyOverrides: true },
  });
}
