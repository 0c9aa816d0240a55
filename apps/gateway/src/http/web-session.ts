import { timingSafeEqual } from "node:crypto";
import type { CookieOptions, Request, Response } from "express";
import { webAuthRepo, type Db } from "@tarmac/db";

/**
 * The web UI's browser session: cookie `tarmac_session` (HttpOnly, SameSite=Lax) holds a random
 * secret whose SHA-256 names a row of web_sessions; cookie `tarmac_csrf` (readable by the page,
 * SameSite=Strict) holds that session's CSRF token, which cookie-authenticated unsafe requests
 * echo in X-CSRF-Token. Both are Secure when the request came over HTTPS.
 */
export const SESSION_COOKIE = "tarmac_session";
export const CSRF_COOKIE = "tarmac_csrf";
export const CSRF_HEADER = "X-CSRF-Token";

/** A session ends after 12 hours without a request, and 7 days after sign-in whatever happens. */
export const SESSION_IDLE_TIMEOUT_MS = 12 * 60 * 60 * 1000;
export const SESSION_ABSOLUTE_TIMEOUT_MS = 7 * 24 * 60 * 60 * 1000;
/** last_seen_at is written at most this often per session, not on every request. */
const TOUCH_INTERVAL_MS = 60 * 1000;

/** Cookies by name from the Cookie header (first one wins, values percent-decoded). */
export function readCookies(req: Request): Map<string, string> {
  const out = new Map<string, string>();
  const header = req.get("cookie");
  if (!header) return out;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    if (out.has(name)) continue;
    try {
      out.set(name, decodeURIComponent(value));
    } catch {
      out.set(name, value);
    }
  }
  return out;
}

export function sessionSecretOf(req: Request): string | null {
  const v = readCookies(req).get(SESSION_COOKIE);
  return v ? v : null;
}

/** Constant-time string equality; false for empty or differently sized values. */
export function secretsEqual(a: string | null | undefined, b: string | null | undefined): boolean {
  if (!a || !b) return false;
  const x = Buffer.from(a, "utf8");
  const y = Buffer.from(b, "utf8");
  return x.length === y.length && timingSafeEqual(x, y);
}

export function idleCutoff(now: Date): Date {
  return new Date(now.getTime() - SESSION_IDLE_TIMEOUT_MS);
}

/** The live session named by the request's cookie, its last-seen time refreshed; null otherwise. */
export async function resolveSession(db: Db, req: Request, now = new Date()): Promise<webAuthRepo.ResolvedSession | null> {
  const secret = sessionSecretOf(req);
  if (!secret) return null;
  const session = await webAuthRepo.findLiveSession(db, secret, now, idleCutoff(now));
  if (!session) return null;
  if (now.getTime() - session.lastSeenAt.getTime() >= TOUCH_INTERVAL_MS) await webAuthRepo.touchSession(db, session.id, now);
  return session;
}

function baseOptions(req: Request): CookieOptions {
  return { path: "/", secure: req.secure };
}

export function setSessionCookies(req: Request, res: Response, s: { secret: string; csrfToken: string; expiresAt: Date }): void {
  res.cookie(SESSION_COOKIE, s.secret, { ...baseOptions(req), httpOnly: true, sameSite: "lax", expires: s.expiresAt });
  res.cookie(CSRF_COOKIE, s.csrfToken, { ...baseOptions(req), httpOnly: false, sameSite: "strict", expires: s.expiresAt });
}

export function clearSessionCookies(req: Request, res: Response): void {
  res.clearCookie(SESSION_COOKIE, { ...baseOptions(req), httpOnly: true, sameSite: "lax" });
  res.clearCookie(CSRF_COOKIE, { ...baseOptions(req), httpOnly: false, sameSite: "strict" });
}

/** Methods that change nothing, and so need no CSRF token. */
export function isSafeMethod(method: string): boolean {
  return method === "GET" || method === "HEAD" || method === "OPTIONS";
}
