import express, { Router, type Request } from "express";
import { auth, webAuthRepo } from "@tarmac/db";
import type { GatewayDeps } from "../deps";
import { hiddenField, sendPage } from "../http/html-pages";
import { clearLoginCsrf, loginCsrfToken, loginCsrfValid, safeNext, sendLoginPage } from "../http/sign-in-pages";
import { signInLimiter } from "../http/sign-in-limit";
import {
  clearSessionCookies,
  CSRF_HEADER,
  idleCutoff,
  resolveSession,
  secretsEqual,
  sessionSecretOf,
  setSessionCookies,
  SESSION_ABSOLUTE_TIMEOUT_MS,
} from "../http/web-session";
import { verifyPassword } from "../services/passwords";

/** One message for every wrong credential, so the page does not tell which usernames exist. */
const WRONG_CREDENTIALS = "Incorrect username or password.";
const WRONG_TOKEN = "That API token is not valid for signing in (it must be a user token).";

const field = (body: unknown, name: string): string => {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === "string" ? v : "";
};

/**
 * The web UI's sign-in and sign-out: `GET/POST /app/login`, `POST /app/logout`. Signing in
 * creates a session (cookies `tarmac_session` and `tarmac_csrf`, see http/web-session.ts).
 */
export function webSignInRouter(deps: GatewayDeps): Router {
  const r = Router();
  const limiter = signInLimiter(deps);
  const form = express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 20 });
  const clientIp = (req: Request) => req.ip ?? req.socket.remoteAddress ?? "unknown";

  r.get("/app/login", async (req, res) => {
    const next = safeNext(req.query.next);
    // Already signed in: straight on.
    if (await resolveSession(deps.db, req, deps.now())) {
      res.redirect(303, next);
      return;
    }
    sendLoginPage(res, 200, { next, csrf: loginCsrfToken(req, res) });
  });

  r.post("/app/login", form, async (req, res) => {
    const next = safeNext(field(req.body, "next"));
    const username = field(req.body, "username").trim();
    const password = field(req.body, "password");
    const token = field(req.body, "token").trim();
    if (!loginCsrfValid(req, field(req.body, "csrf"))) {
      sendLoginPage(res, 403, { next, csrf: loginCsrfToken(req, res), username, error: "This sign-in form has expired. Please sign in again." });
      return;
    }
    const ip = clientIp(req);
    const limitedName = token ? "" : username;
    const wait = await limiter.blockedFor(ip, limitedName);
    if (wait !== null) {
      res.set("Retry-After", String(wait));
      sendLoginPage(res, 429, { next, csrf: loginCsrfToken(req, res), username, error: `Too many failed sign-in attempts. Try again in ${wait} seconds.` });
      return;
    }

    let userId: string | null = null;
    if (token) {
      const owner = await auth.findTokenOwner(deps.db, token, deps.now());
      if (owner?.kind === "user") userId = owner.user.id;
    } else if (username && password) {
      const found = await webAuthRepo.findUserForSignIn(deps.db, username);
      // verifyPassword does the same work when there is no such user.
      if ((await verifyPassword(password, found?.passwordHash ?? null)) && found) userId = found.user.id;
    }
    if (!userId) {
      await limiter.recordFailure(ip, limitedName);
      deps.logger.info({ ip, method: token ? "token" : "password" }, "web sign-in refused");
      sendLoginPage(res, 401, { next, csrf: loginCsrfToken(req, res), username: token ? "" : username, error: token ? WRONG_TOKEN : WRONG_CREDENTIALS });
      return;
    }

    // A fresh session every time: an earlier session cookie in this browser ends here.
    const previous = sessionSecretOf(req);
    if (previous) await webAuthRepo.deleteSessionBySecret(deps.db, previous);
    const now = deps.now();
    const session = await webAuthRepo.createSession(deps.db, {
      userId,
      now,
      expiresAt: new Date(now.getTime() + SESSION_ABSOLUTE_TIMEOUT_MS),
      idleCutoff: idleCutoff(now),
    });
    setSessionCookies(req, res, session);
    clearLoginCsrf(req, res);
    deps.logger.info({ userId, session: session.id }, "web sign-in");
    res.set("Cache-Control", "no-store");
    res.redirect(303, next);
  });

  r.post("/app/logout", form, async (req, res) => {
    const session = await resolveSession(deps.db, req, deps.now());
    if (session) {
      const sent = field(req.body, "csrf") || req.get(CSRF_HEADER) || "";
      if (!secretsEqual(sent, session.csrfToken)) {
        sendPage(
          res,
          403,
          "Sign out",
          `<h1>Sign out</h1><p class="error" role="alert">This sign-out request did not come from Tarmac's own pages.</p>
<form method="post" action="/app/logout">${hiddenField("csrf", session.csrfToken)}<button type="submit" id="sign-out">Sign out</button></form>`,
        );
        return;
      }
      const secret = sessionSecretOf(req);
      if (secret) await webAuthRepo.deleteSessionBySecret(deps.db, secret);
      deps.logger.info({ userId: session.user.id, session: session.id }, "web sign-out");
    }
    clearSessionCookies(req, res);
    res.set("Cache-Control", "no-store");
    res.redirect(303, "/app/login");
  });

  return r;
}
