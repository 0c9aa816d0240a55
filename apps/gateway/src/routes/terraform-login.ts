import express, { Router, type Request, type Response } from "express";
import { webAuthRepo } from "@tarmac/db";
import type { GatewayDeps } from "../deps";
import { escapeHtml, hiddenField, sendPage } from "../http/html-pages";
import {
  AUTHORIZE_PATH,
  checkAuthorizeRequest,
  CODE_TTL_MS,
  isCodeVerifier,
  LOGIN_CLIENT_ID,
  LOGIN_TOKEN_DESCRIPTION,
  redirectWith,
  TOKEN_PATH,
  verifierMatches,
  type AuthorizeCheck,
} from "../http/terraform-login";
import { resolveSession, secretsEqual } from "../http/web-session";
import { issueUserToken } from "../services/tokens";

const field = (body: unknown, name: string): string => {
  const v = (body as Record<string, unknown> | undefined)?.[name];
  return typeof v === "string" ? v : "";
};

/** An OAuth error at the token endpoint (RFC 6749 §5.2): JSON, 400 (401 for the client). */
function oauthError(res: Response, error: string, description: string, status = 400): void {
  res.set({ "Cache-Control": "no-store", Pragma: "no-cache" });
  res.status(status).type("application/json").send(JSON.stringify({ error, error_description: description }));
}

function refusedPage(res: Response, message: string, status = 400): void {
  sendPage(res, status, "Sign-in link not valid", `<h1>This sign-in link is not valid</h1><p class="error" role="alert">${escapeHtml(message)}</p><p>Run <code>terraform login</code> again to get a new one.</p>`);
}

/** The answer to a request that cannot go on: a page when the redirect is not trusted, else the client is told. */
function refuse(res: Response, check: Exclude<AuthorizeCheck, { ok: true }>): void {
  if (!check.redirect) {
    refusedPage(res, check.message);
    return;
  }
  res.redirect(303, redirectWith(check.redirectUri, { error: check.error, error_description: check.description, state: check.state }));
}

/**
 * `terraform login HOST` (login.v1 in the discovery document): the authorization page under
 * /app/oauth/authorize, for a signed-in user to approve or deny, and the token endpoint
 * /oauth/token, which trades a code and its PKCE verifier for a new user API token.
 */
export function terraformLoginRouter(deps: GatewayDeps): Router {
  const r = Router();
  const form = express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 20 });

  r.get(AUTHORIZE_PATH, async (req, res) => {
    const check = checkAuthorizeRequest(req.query as Record<string, unknown>);
    if (!check.ok) {
      refuse(res, check);
      return;
    }
    const session = await resolveSession(deps.db, req, deps.now());
    if (!session) {
      res.redirect(303, `/app/login?next=${encodeURIComponent(req.originalUrl)}`);
      return;
    }
    const q = check.request;
    const host = req.get("host") ?? "this server";
    const callback = new URL(q.redirectUri);
    sendPage(
      res,
      200,
      "Authorize terraform login",
      `<h1>Authorize <code>terraform login</code></h1>
<p>Terraform on this computer asks for an API token to act as you on <strong>${escapeHtml(host)}</strong>.</p>
<dl><dt>Signed in as</dt><dd id="approve-user">${escapeHtml(session.user.username)}</dd>
<dt>Token sent to</dt><dd>terraform's login listener on ${escapeHtml(callback.host)}</dd></dl>
<p>Approve only if you just ran <code>terraform login</code> yourself. The token works like any of your user tokens; you can revoke it later.</p>
<form method="post" action="${AUTHORIZE_PATH}">
${hiddenField("csrf", session.csrfToken)}${hiddenField("client_id", q.clientId)}${hiddenField("redirect_uri", q.redirectUri)}${hiddenField("state", q.state)}${hiddenField("code_challenge", q.codeChallenge)}${hiddenField("code_challenge_method", "S256")}${hiddenField("response_type", "code")}
<div class="actions"><button type="submit" name="decision" value="approve" id="approve">Approve</button>
<button type="submit" name="decision" value="deny" class="secondary" id="deny">Deny</button></div>
</form>`,
    );
  });

  r.post(AUTHORIZE_PATH, form, async (req: Request, res) => {
    const check = checkAuthorizeRequest(req.body as Record<string, unknown>);
    if (!check.ok) {
      refuse(res, check);
      return;
    }
    const session = await resolveSession(deps.db, req, deps.now());
    if (!session) {
      const q = new URLSearchParams({ ...(req.body as Record<string, string>) });
      q.delete("csrf");
      q.delete("decision");
      res.redirect(303, `/app/login?next=${encodeURIComponent(`${AUTHORIZE_PATH}?${q.toString()}`)}`);
      return;
    }
    if (!secretsEqual(field(req.body, "csrf"), session.csrfToken)) {
      refusedPage(res, "This approval did not come from Tarmac's own page.", 403);
      return;
    }
    const q = check.request;
    const decision = field(req.body, "decision");
    if (decision !== "approve") {
      deps.logger.info({ userId: session.user.id }, "terraform login denied");
      res.redirect(303, redirectWith(q.redirectUri, { error: "access_denied", error_description: "The user denied the request.", state: q.state }));
      return;
    }
    const now = deps.now();
    await webAuthRepo.deleteExpiredAuthorizationCodes(deps.db, now);
    const code = await webAuthRepo.createAuthorizationCode(deps.db, {
      userId: session.user.id,
      clientId: q.clientId,
      redirectUri: q.redirectUri,
      codeChallenge: q.codeChallenge,
      expiresAt: new Date(now.getTime() + CODE_TTL_MS),
    });
    deps.logger.info({ userId: session.user.id }, "terraform login approved");
    res.redirect(303, redirectWith(q.redirectUri, { code, state: q.state }));
  });

  r.post(TOKEN_PATH, form, async (req, res) => {
    if (!req.is("application/x-www-form-urlencoded")) {
      oauthError(res, "invalid_request", "The request must be form-encoded.");
      return;
    }
    const grantType = field(req.body, "grant_type");
    if (grantType !== "authorization_code") {
      oauthError(res, grantType ? "unsupported_grant_type" : "invalid_request", "Only grant_type=authorization_code is supported.");
      return;
    }
    // A public client: its id in the body, or as the user name of HTTP Basic with an empty secret.
    let clientId = field(req.body, "client_id");
    const basic = /^Basic\s+(\S+)$/i.exec(req.get("authorization") ?? "");
    if (basic?.[1]) {
      let user = Buffer.from(basic[1], "base64").toString("utf8").split(":")[0] ?? "";
      try {
        user = decodeURIComponent(user);
      } catch {
        // Not percent-encoded: taken as it is (and then not a known client).
      }
      if (clientId && user !== clientId) {
        oauthError(res, "invalid_client", "The client is not known.", 401);
        return;
      }
      clientId = user;
    }
    if (clientId !== LOGIN_CLIENT_ID) {
      oauthError(res, "invalid_client", "The client is not known.", 401);
      return;
    }
    const code = field(req.body, "code");
    const verifier = field(req.body, "code_verifier");
    const redirectUri = field(req.body, "redirect_uri");
    if (!code || !verifier) {
      oauthError(res, "invalid_request", "code and code_verifier are required.");
      return;
    }
    // Taken out of the store before anything else is checked: a code is presented once, right or wrong.
    const stored = await webAuthRepo.consumeAuthorizationCode(deps.db, code);
    const now = deps.now();
    if (!stored || stored.expiresAt <= now) {
      oauthError(res, "invalid_grant", "The authorization code is invalid, expired or already used.");
      return;
    }
    if (stored.clientId !== clientId || stored.redirectUri !== redirectUri) {
      oauthError(res, "invalid_grant", "The authorization code was issued for another client or redirect URI.");
      return;
    }
    if (!isCodeVerifier(verifier) || !verifierMatches(verifier, stored.codeChallenge)) {
      oauthError(res, "invalid_grant", "The code verifier does not match the code challenge.");
      return;
    }
    const issued = await issueUserToken(deps, stored.userId, LOGIN_TOKEN_DESCRIPTION);
    deps.logger.info({ userId: stored.userId, tokenId: issued.token.id }, "terraform login token issued");
    res.set({ "Cache-Control": "no-store", Pragma: "no-cache" });
    res.status(200).type("application/json").send(JSON.stringify({ access_token: issued.value, token_type: "bearer" }));
  });

  return r;
}
