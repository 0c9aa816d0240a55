import { newId } from "@tarmac/domain";
import type { Db, Tx } from "../client";
import { hashSecret, newSecret } from "../secrets";

/**
 * Web UI sign-in storage: users' password hashes, browser sessions (only the SHA-256 of the
 * cookie value is stored) and `terraform login` authorization codes (SHA-256 only, single-use).
 */

export interface SessionUser {
  id: string;
  username: string;
  email: string;
  isSiteAdmin: boolean;
}

export interface ResolvedSession {
  id: string;
  csrfToken: string;
  lastSeenAt: Date;
  user: SessionUser;
}

/** A user and the stored password hash, for sign-in by username. */
export async function findUserForSignIn(
  db: Db | Tx,
  username: string,
): Promise<{ user: SessionUser; passwordHash: string | null } | null> {
  const u = await db.user.findUnique({ where: { username } });
  if (!u || u.isServiceAccount) return null;
  return { user: { id: u.id, username: u.username, email: u.email, isSiteAdmin: u.isSiteAdmin }, passwordHash: u.passwordHash };
}

/** Sets a user's password and ends the user's web sessions, in one transaction. */
export async function changePassword(db: Db, userId: string, passwordHash: string): Promise<void> {
  await db.$transaction([db.user.update({ where: { id: userId }, data: { passwordHash } }), db.webSession.deleteMany({ where: { userId } })]);
}

/**
 * Creates a session and returns the cookie's secret value once. Sessions of the same user that
 * have ended are removed on the way, so the table does not grow with abandoned browsers.
 */
export async function createSession(
  db: Db,
  input: { userId: string; now: Date; expiresAt: Date; idleCutoff: Date },
): Promise<{ id: string; secret: string; csrfToken: string; expiresAt: Date }> {
  const secret = newSecret(32);
  const csrfToken = newSecret(32);
  const id = newId("sess");
  await db.$transaction([
    db.webSession.deleteMany({ where: { userId: input.userId, OR: [{ expiresAt: { lte: input.now } }, { lastSeenAt: { lte: input.idleCutoff } }] } }),
    db.webSession.create({
      data: { id, idHash: hashSecret(secret), userId: input.userId, csrfToken, createdAt: input.now, lastSeenAt: input.now, expiresAt: input.expiresAt },
    }),
  ]);
  return { id, secret, csrfToken, expiresAt: input.expiresAt };
}

interface SessionRow {
  id: string;
  csrf_token: string;
  last_seen_at: Date;
  user_id: string;
  username: string;
  email: string;
  is_site_admin: boolean;
}

/** The live session behind a cookie value: neither past its absolute end nor idle since idleCutoff. */
export async function findLiveSession(db: Db | Tx, secret: string, now: Date, idleCutoff: Date): Promise<ResolvedSession | null> {
  const [row] = await db.$queryRaw<SessionRow[]>`
    SELECT s.id, s.csrf_token, s.last_seen_at, u.id AS user_id, u.username, u.email, u.is_site_admin
    FROM web_sessions s JOIN users u ON u.id = s.user_id
    WHERE s.id_hash = ${hashSecret(secret)} AND s.expires_at > ${now} AND s.last_seen_at > ${idleCutoff}`;
  if (!row) return null;
  return {
    id: row.id,
    csrfToken: row.csrf_token,
    lastSeenAt: row.last_seen_at,
    user: { id: row.user_id, username: row.username, email: row.email, isSiteAdmin: row.is_site_admin },
  };
}

export async function touchSession(db: Db | Tx, id: string, now: Date): Promise<void> {
  await db.webSession.updateMany({ where: { id }, data: { lastSeenAt: now } });
}

/** Ends the session behind a cookie value; false when there was none. */
export async function deleteSessionBySecret(db: Db | Tx, secret: string): Promise<boolean> {
  return (await db.webSession.deleteMany({ where: { idHash: hashSecret(secret) } })).count > 0;
}

/** Ends every session of a user (a password change signs the user out everywhere). */
export async function deleteUserSessions(db: Db | Tx, userId: string): Promise<number> {
  return (await db.webSession.deleteMany({ where: { userId } })).count;
}

/** Stores a new authorization code; the code itself is returned once. */
export async function createAuthorizationCode(
  db: Db | Tx,
  input: { userId: string; clientId: string; redirectUri: string; codeChallenge: string; expiresAt: Date },
): Promise<string> {
  const code = newSecret(32);
  await db.oAuthAuthorizationCode.create({ data: { ...input, codeHash: hashSecret(code) } });
  return code;
}

export interface AuthorizationCode {
  userId: string;
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  expiresAt: Date;
}

/**
 * Takes a code out of the store: whatever the exchange decides next, the code can never be
 * presented again (one DELETE … RETURNING, so two concurrent exchanges cannot both win).
 */
export async function consumeAuthorizationCode(db: Db | Tx, code: string): Promise<AuthorizationCode | null> {
  const [row] = await db.$queryRaw<
    { user_id: string; client_id: string; redirect_uri: string; code_challenge: string; expires_at: Date }[]
  >`DELETE FROM oauth_authorization_codes WHERE code_hash = ${hashSecret(code)}
    RETURNING user_id, client_id, redirect_uri, code_challenge, expires_at`;
  if (!row) return null;
  return { userId: row.user_id, clientId: row.client_id, redirectUri: row.redirect_uri, codeChallenge: row.code_challenge, expiresAt: row.expires_at };
}

/** Removes codes that expired unused. */
export async function deleteExpiredAuthorizationCodes(db: Db | Tx, now: Date): Promise<void> {
  await db.oAuthAuthorizationCode.deleteMany({ where: { expiresAt: { lte: now } } });
}
