import { newId } from "@tarmac/domain";
import type { Db, Tx } from "../client";
import type { Organization, Prisma } from "../generated/prisma/client";

export type { Organization };

export async function findOrganizationByName(db: Db | Tx, name: string): Promise<Organization | null> {
  return db.organization.findUnique({ where: { name } });
}

export async function findOrganizationById(db: Db | Tx, id: string): Promise<Organization | null> {
  return db.organization.findUnique({ where: { id } });
}

export async function isOrganizationNameTaken(db: Db | Tx, name: string, exceptId?: string): Promise<boolean> {
  const row = await db.organization.findUnique({ where: { name }, select: { id: true } });
  return row !== null && row.id !== exceptId;
}

export interface OrganizationListQuery {
  /** Organizations where this user is on a team; undefined lists every organization (site admins). */
  memberUserId?: string;
  /** Restricts the list to these ids (team and organization tokens see one organization). */
  ids?: string[];
  nameContains?: string;
  offset: number;
  limit: number;
}

export async function listOrganizations(
  db: Db | Tx,
  q: OrganizationListQuery,
): Promise<{ items: Organization[]; total: number }> {
  const and: Prisma.OrganizationWhereInput[] = [];
  if (q.memberUserId) and.push({ teams: { some: { memberships: { some: { userId: q.memberUserId } } } } });
  if (q.ids) and.push({ id: { in: q.ids } });
  if (q.nameContains) and.push({ name: { contains: q.nameContains, mode: "insensitive" } });
  const where: Prisma.OrganizationWhereInput = { AND: and };
  const [items, total] = await Promise.all([
    db.organization.findMany({ where, orderBy: [{ name: "asc" }], skip: q.offset, take: q.limit }),
    db.organization.count({ where }),
  ]);
  return { items, total };
}

export type OrganizationSettings = Partial<
  Pick<
    Prisma.OrganizationUncheckedCreateInput,
    "name" | "email" | "runConcurrency" | "costEstimationEnabled" | "sessionTimeout" | "sessionRemember" | "collaboratorAuthPolicy"
  >
>;

/**
 * Creates an organization with its "owners" team; the creating user (if any)
 * joins that team, which makes them an owner (HCP behaviour).
 */
export async function createOrganization(
  tx: Tx,
  settings: OrganizationSettings & { name: string; email: string },
  ownerUserId: string | null,
): Promise<{ organization: Organization; ownersTeamId: string }> {
  const organization = await tx.organization.create({ data: { ...settings, id: newId("org") } });
  const ownersTeamId = newId("team");
  await tx.team.create({
    data: { id: ownersTeamId, organizationId: organization.id, name: "owners", isOwners: true, visibility: "secret", manageWorkspaces: true },
  });
  if (ownerUserId) await tx.teamMembership.create({ data: { teamId: ownersTeamId, userId: ownerUserId } });
  return { organization, ownersTeamId };
}

export async function updateOrganization(tx: Tx, id: string, settings: OrganizationSettings): Promise<Organization> {
  return tx.organization.update({ where: { id }, data: settings });
}

export async function deleteOrganization(db: Db | Tx, id: string): Promise<boolean> {
  const { count } = await db.organization.deleteMany({ where: { id } });
  return count === 1;
}
