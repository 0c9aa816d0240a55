import { newId } from "@tarmac/domain";
import type { Db, Tx } from "../client";
import type { User } from "../generated/prisma/client";

export type { User };

export async function findUserById(db: Db | Tx, id: string): Promise<User | null> {
  return db.user.findUnique({ where: { id } });
}

/** Users named by id or username (HCP's membership API takes usernames, go-tfe sends ids). */
export async function findUsersByIdOrUsername(db: Db | Tx, refs: string[]): Promise<User[]> {
  if (refs.length === 0) return [];
  return db.user.findMany({ where: { OR: [{ id: { in: refs } }, { username: { in: refs } }] } });
}

export async function findUserConflict(
  db: Db | Tx,
  { username, email }: { username: string; email: string },
): Promise<"username" | "email" | null> {
  const rows = await db.user.findMany({ where: { OR: [{ username }, { email }] }, select: { username: true, email: true } });
  if (rows.some((r) => r.username === username)) return "username";
  if (rows.some((r) => r.email === email)) return "email";
  return null;
}

export async function createUser(
  db: Db | Tx,
  data: { username: string; email: string; isSiteAdmin?: boolean; isServiceAccount?: boolean; passwordHash?: string },
): Promise<User> {
  return db.user.create({ data: { ...data, id: newId("user") } });
}

/** Whether two users are on teams of a common organization (users may see each other then). */
export async function shareOrganization(db: Db | Tx, userId: string, otherUserId: string): Promise<boolean> {
  const n = await db.organization.count({
    where: {
      AND: [
        { teams: { some: { memberships: { some: { userId } } } } },
        { teams: { some: { memberships: { some: { userId: otherUserId } } } } },
      ],
    },
  });
  return n > 0;
}

/** Whether a user is on any team of the organization. */
export async function isMemberOfOrganization(db: Db | Tx, userId: string, organizationId: string): Promise<boolean> {
  const n = await db.teamMembership.count({ where: { userId, team: { organizationId } } });
  return n > 0;
}
