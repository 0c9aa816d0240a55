import { newSecret } from "@tarmac/db";
import type { Request, Response } from "express";
import { escapeHtml, hiddenField, sendPage } from "./html-pages";
import { readCookies, secretsEqual } from "./web-session";

/**
 * Login CSRF: the sign-in form carries a random token that must equal the pre-session cookie
 * `tarmac_login_csrf` (HttpOnly, SameSite=Strict, Path=/app/login). Another site can neither read
 * the cookie nor set it, so it cannot post a form that signs the victim in as the attacker.
 */
export const LOGIN_CSRF_COOKIE = "tarmac_login_csrf";
const LOGIN_PATH = "/app/login";

/** The pre-session token: the browser's existing one (several open forms all stay valid), or a new one. */
export function loginCsrfToken(req: Request, res: Response): string {
  const existing = readCookies(req).get(LOGIN_CSRF_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{32,}$/.test(existing)) return existing;
  const token = newSecret(24);
  res.cookie(LOGIN_CSRF_COOKIE, token, { path: LOGIN_PATH, httpOnly: true, sameSite: "strict", secure: req.secure });
  return token;
}

export function loginCsrfValid(req: Request, formToken: unknown): boolean {
  return typeof formToken === "string" && secretsEqual(readCookies(req).get(LOGIN_CSRF_COOKIE), formToken);
}

export function clearLoginCsrf(req: Request, res: Response): void {
  res.clearCookie(LOGIN_CSRF_COOKIE, { path: LOGIN_PATH, httpOnly: true, sameSite: "strict", secure: req.secure });
}

/**
 * Where to go after signing in: only a path of this site's UI (`/app/…`), never another host,
 * a scheme-relative `//host`, a backslash trick or anything outside /app; otherwise `/app/`.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== "string" || next.length > 4096) return "/app/";
  if (!next.startsWith("/app/") || /[\\\u0000-\u001f\u007f]/.test(next)) return "/app/";
  let u: URL;
  try {
    u = new URL(next, "http://tarmac.invalid");
  } catch {
    return "/app/";
  }
  if (u.origin !== "http://tarmac.invalid" || !u.pathname.startsWith("/app/")) return "/app/";
  // The sign-in page itself would send a signed-in browser round in circles.
  if (/^\/app\/(login|logout)(\/|$)/.test(u.pathname)) return "/app/";
  return `${u.pathname}${u.search}`;
}

export interface LoginForm {
  next: string;
  csrf: string;
  username?: string;
  error?: string;
  notice?: string;
}

/** The sign-in page: username and password, or an API token instead. */
export function sendLoginPage(res: Response, status: number, f: LoginForm): void {
  const alert = f.error
    ? `<p class="error" role="alert" id="login-error">${escapeHtml(f.error)}</p>`
    : f.notice
      ? `<p class="notice" role="status">${escapeHtml(f.notice)}</p>`
      : "";
  const hidden = hiddenField("csrf", f.csrf) + hiddenField("next", f.next);
  sendPage(
    res,
    status,
    "Sign in",
    `<h1>Sign in to Tarmac</h1>${alert}
<form method="post" action="${LOGIN_PATH}" id="password-form">${hidden}
<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" autocapitalize="none" spellcheck="false" required value="${escapeHtml(f.username ?? "")}"${f.username ? "" : " autofocus"}>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required${f.username ? " autofocus" : ""}>
<button type="submit" id="sign-in">Sign in</button>
</form>
<h2 class="or">or</h2>
<form method="post" action="${LOGIN_PATH}" id="token-form">${hidden}
<label for="token">Sign in with an API token</label>
<input type="password" id="token" name="token" autocomplete="off" required>
<button type="submit" class="secondary" id="sign-in-token">Sign in with token</button>
</form>`,
  );
}
