import { newId } from "@tarmac/domain";
import type { Db, Tx } from "../client";
import { hashSecret } from "../secrets";

export type TokenOwner =
  | { kind: "user"; tokenId: string; user: { id: string; username: string; email: string; isSiteAdmin: boolean } }
  | { kind: "team"; tokenId: string; team: { id: string; name: string; organizationId: string; isOwners: boolean } }
  | { kind: "organization"; tokenId: string; organizationId: string; organizationName: string };

/** Looks a bearer token up by its hash; expired or orphaned tokens are not found. */
export async function findTokenOwner(db: Db | Tx, token: string, now = new Date()): Promise<TokenOwner | null> {
  const row = await db.apiToken.findUnique({
    where: { tokenHash: hashSecret(token) },
    include: {
      user: { select: { id: true, username: true, email: true, isSiteAdmin: true } },
      team: { select: { id: true, name: true, organizationId: true, isOwners: true } },
      organization: { select: { id: true, name: true } },
    },
  });
  if (!row || (row.expiredAt && row.expiredAt <= now)) return null;
  switch (row.kind) {
    case "user":
      return row.user ? { kind: "user", tokenId: row.id, user: row.user } : null;
    case "team":
      return row.team ? { kind: "team", tokenId: row.id, team: row.team } : null;
    case "organization":
      return row.organization
        ? { kind: "organization", tokenId: row.id, organizationId: row.organization.id, organizationName: row.organization.name }
        : null;
  }
}

/**
 * Makes sure a site-admin user owns the given API token, so scripts can
 * authenticate from the first second (TARMAC_ADMIN_TOKEN). Idempotent.
 */
export async function ensureAdminToken(db: Db, token: string): Promise<{ userId: string }> {
  const tokenHash = hashSecret(token);
  return db.$transaction(async (tx) => {
    await tx.$executeRaw`SELECT pg_advisory_xact_lock(4242001)`;
    const user =
      (await tx.user.findUnique({ where: { username: "admin" } })) ??
      (await tx.user.create({
        data: { id: newId("user"), username: "admin", email: "admin@tarmac.local", isSiteAdmin: true },
      }));
    if (!user.isSiteAdmin) await tx.user.update({ where: { id: user.id }, data: { isSiteAdmin: true } });
    const existing = await tx.apiToken.findUnique({ where: { tokenHash } });
    if (!existing) {
      await tx.apiToken.create({
        data: { id: newId("at"), kind: "user", tokenHash, userId: user.id, description: "TARMAC_ADMIN_TOKEN" },
      });
    }
    return { userId: user.id };
  });
}
