import type { NextFunction, Request, RequestHandler, Response } from "express";
import { auth, hashSecret, type Db, type TokenOwner } from "@tarmac/db";
import { TarmacError } from "@tarmac/domain";
import { CSRF_HEADER, isSafeMethod, resolveSession, secretsEqual } from "./web-session";

export type Principal = TokenOwner;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      principal?: Principal;
    }
  }
}

/**
 * Resolved tokens, kept TOKEN_CACHE_TTL_MS so a burst of requests costs one lookup. The price: a
 * token revoked (or whose team or organization was deleted or renamed) through another replica is
 * honoured for up to TOKEN_CACHE_TTL_MS there; the replica that revokes clears its own cache
 * (clearTokenCache). Unknown tokens are not cached, so a new token works at once everywhere.
 * Keyed by the token's hash, so the process keeps no bearer secret.
 */
export const TOKEN_CACHE_TTL_MS = 2_000;
const TOKEN_CACHE_MAX = 10_000;
const tokenCache = new Map<string, { owner: Principal; expiresAt: number }>();

/** Forgets every resolved token; call after revoking tokens or deleting their owners. */
export function clearTokenCache(): void {
  tokenCache.clear();
}

async function resolveToken(db: Db, token: string): Promise<Principal | null> {
  const now = Date.now();
  const key = hashSecret(token);
  const hit = tokenCache.get(key);
  if (hit && hit.expiresAt > now) return hit.owner;
  if (hit) tokenCache.delete(key);
  const owner = await auth.findTokenOwner(db, token);
  if (!owner) return null;
  // Clearing on overflow keeps the bound without LRU bookkeeping; it only costs lookups.
  if (tokenCache.size >= TOKEN_CACHE_MAX) tokenCache.clear();
  tokenCache.set(key, { owner, expiresAt: now + TOKEN_CACHE_TTL_MS });
  return owner;
}

/**
 * 401 is only for a missing or invalid token (notes §1.2). A request without an Authorization
 * header may instead carry the web UI's session cookie: it authenticates as the session's user,
 * the same principal that user's own token gives, and an unsafe method must also echo the
 * session's CSRF token in X-CSRF-Token (403 otherwise). A bearer token always wins over a cookie.
 */
export function authenticate(db: Db): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get("authorization");
    if (header === undefined) {
      const session = await resolveSession(db, req);
      if (!session) throw new TarmacError("unauthorized");
      if (!isSafeMethod(req.method) && !secretsEqual(req.get(CSRF_HEADER), session.csrfToken)) {
        throw new TarmacError("forbidden", { detail: `A request authenticated by the session cookie must send the session's CSRF token in ${CSRF_HEADER}.` });
      }
      // tokenId names what authenticated the request (rate limits count per session).
      req.principal = { kind: "user", tokenId: session.id, user: session.user };
      next();
      return;
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw new TarmacError("unauthorized");
    const owner = await resolveToken(db, match[1]);
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

/** Organization tokens cannot create runs or configuration versions, nor act on runs (notes §8). */
export function refuseOrganizationToken(p: Principal): void {
  if (p.kind === "organization") throw new TarmacError("not_found");
}
