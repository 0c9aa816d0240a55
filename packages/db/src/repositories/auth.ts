import { newId } from "@tarmac/domain";
import type { Db, Tx } from "../client";
import { hashSecret } from "../secrets";

export type TokenOwner =
  | { kind: "user"; tokenId: string; user: { id: string; username: string; email: string; isSiteAdmin: boolean } }
  | { kind: "team"; tokenId: string; team: { id: string; name: string; organizationId: string; isOwners: boolean } }
  | { kind: "organization"; tokenId: string; organizationId: string; organizationName: string };

interface TokenOwnerRow {
  id: string;
  kind: "user" | "team" | "organization";
  expired_at: Date | null;
  user_id: string | null;
  username: string | null;
  email: string | null;
  is_site_admin: boolean | null;
  team_id: string | null;
  team_name: string | null;
  team_organization_id: string | null;
  is_owners: boolean | null;
  organization_id: string | null;
  organization_name: string | null;
}

/**
 * Looks a bearer token up by its hash; expired or orphaned tokens are not found. One statement:
 * every API request starts here, and Prisma's include would load each relation separately.
 */
export async function findTokenOwner(db: Db | Tx, token: string, now = new Date()): Promise<TokenOwner | null> {
  const [row] = await db.$queryRaw<TokenOwnerRow[]>`
    SELECT t.id, t.kind::text AS kind, t.expired_at,
           u.id AS user_id, u.username, u.email, u.is_site_admin,
           tm.id AS team_id, tm.name AS team_name, tm.organization_id AS team_organization_id, tm.is_owners,
           o.id AS organization_id, o.name AS organization_name
    FROM api_tokens t
    LEFT JOIN users u ON u.id = t.user_id
    LEFT JOIN teams tm ON tm.id = t.team_id
    LEFT JOIN organizations o ON o.id = t.organization_id
    WHERE t.token_hash = ${hashSecret(token)}`;
  if (!row || (row.expired_at && row.expired_at <= now)) return null;
  switch (row.kind) {
    case "user":
      return row.user_id !== null
        ? {
            kind: "user",
            tokenId: row.id,
            user: { id: row.user_id, username: row.username ?? "", email: row.email ?? "", isSiteAdmin: row.is_site_admin === true },
          }
        : null;
    case "team":
      return row.team_id !== null
        ? {
            kind: "team",
            tokenId: row.id,
            team: { id: row.team_id, name: row.team_name ?? "", organizationId: row.team_organization_id ?? "", isOwners: row.is_owners === true },
          }
        : null;
    case "organization":
      return row.organization_id !== null
        ? { kind: "organization", tokenId: row.id, organizationId: row.organization_id, organizationName: row.organization_name ?? "" }
        : null;
  }
  return null;
}

/**
 * Makes sure a site-admin user owns the given API token, so scripts can
 * authenticate from the first second (TARMAC_ADMIN_TOKEN). Idempotent.
 */
export async function ensureAdminToken(db: Db, token: string): Promise<{ userId: string }> {
  const tokenHash = hashSecret(token);
  return db.$transaction(async (tx) => {
    const user = await lockedAdminUser(tx);
    const existing = await tx.apiToken.findUnique({ where: { tokenHash } });
    if (!existing) {
      await tx.apiToken.create({
        data: { id: newId("at"), kind: "user", tokenHash, userId: user.id, description: "TARMAC_ADMIN_TOKEN" },
      });
    }
    return { userId: user.id };
  });
}

/** The site-admin user `admin`, created when missing, under the bootstrap lock (replicas start together). */
async function lockedAdminUser(tx: Tx): Promise<{ id: string; passwordHash: string | null }> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(4242001)`;
  const user =
    (await tx.user.findUnique({ where: { username: "admin" } })) ??
    (await tx.user.create({
      data: { id: newId("user"), username: "admin", email: "admin@tarmac.local", isSiteAdmin: true },
    }));
  if (!user.isSiteAdmin) await tx.user.update({ where: { id: user.id }, data: { isSiteAdmin: true } });
  return user;
}

/**
 * Gives the site-admin user `admin` its first password (TARMAC_ADMIN_PASSWORD) unless it already
 * has one: a password changed later through the admin API survives restarts. The caller hashes.
 */
export async function ensureAdminPassword(db: Db, hashPassword: () => Promise<string>): Promise<{ userId: string; set: boolean }> {
  const existing = await db.user.findUnique({ where: { username: "admin" }, select: { passwordHash: true } });
  if (existing?.passwordHash) return { userId: "", set: false };
  const passwordHash = await hashPassword();
  return db.$transaction(async (tx) => {
    const user = await lockedAdminUser(tx);
    if (user.passwordHash) return { userId: user.id, set: false };
    await tx.user.update({ where: { id: user.id }, data: { passwordHash } });
    return { userId: user.id, set: true };
  });
}
