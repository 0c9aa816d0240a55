import { startApiTestEnv, unique, type ApiTestEnv } from "./api-fixtures";
import { hiddenValue, pkcePair, WebClient } from "./web-client";

/**
 * terraform login's OAuth flow at the HTTP level, as terraform's internal/command/login.go and
 * golang.org/x/oauth2 speak it: the authorization page (signed-in, CSRF-protected approve or
 * deny), and the token endpoint trading a single-use code and its PKCE verifier for a user token.
 * The real CLI and browser run the whole flow in tests/browser/terraform-login.test.ts.
 */
jest.setTimeout(60_000);

let env: ApiTestEnv;
let web: WebClient;
let username: string;

beforeAll(async () => {
  env = await startApiTestEnv();
  username = unique("tf");
  const created = await env.admin.post("/admin/users", {
    data: { type: "users", attributes: { username, email: `${username}@example.com`, password: "terraform-login-1" } },
  });
  expect(created.status).toBe(201);
  web = new WebClient(env.gateway.url);
  expect((await web.signIn(username, "terraform-login-1")).status).toBe(303);
}, 90_000);
afterAll(async () => {
  await env?.close();
});

const REDIRECT = "http://localhost:10003/login";

function authorizeQuery(over: Record<string, string> = {}, challenge = pkcePair().challenge): string {
  const q = new URLSearchParams({
    client_id: "terraform-cli",
    redirect_uri: REDIRECT,
    response_type: "code",
    state: "5b3c1b7a-0000-4000-8000-000000000001",
    code_challenge: challenge,
    code_challenge_method: "S256",
    ...over,
  });
  return `/app/oauth/authorize?${q.toString()}`;
}

/** The approval page's hidden fields, then its form posted with the given decision. */
async function decide(client: WebClient, path: string, decision: "approve" | "deny"): Promise<URL> {
  const page = await client.get(path);
  expect(page.status).toBe(200);
  const form: Record<string, string> = { decision };
  for (const name of ["csrf", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method", "response_type"]) form[name] = hiddenValue(page.text, name);
  const res = await client.post("/app/oauth/authorize", form);
  expect(res.status).toBe(303);
  return new URL(res.location!);
}

async function exchange(form: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${env.gateway.url}/oauth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

const tokenForm = (code: string, verifier: string, over: Record<string, string> = {}) => ({
  grant_type: "authorization_code",
  code,
  code_verifier: verifier,
  redirect_uri: REDIRECT,
  client_id: "terraform-cli",
  ...over,
});

describe("the authorization page", () => {
  it("sends a signed-out browser to sign in first, and back here afterwards", async () => {
    const anon = new WebClient(env.gateway.url);
    const path = authorizeQuery();
    const res = await anon.get(path);
    expect(res.status).toBe(303);
    const login = new URL(res.location!, env.gateway.url);
    expect(login.pathname).toBe("/app/login");
    expect(login.searchParams.get("next")).toBe(path);
    const signedIn = await anon.signIn(username, "terraform-login-1", login.searchParams.get("next")!);
    expect(signedIn.location).toBe(path);
  });

  it("shows who approves for which host, with Approve and Deny, never framed", async () => {
    const page = await web.get(authorizeQuery());
    expect(page.status).toBe(200);
    expect(page.text).toContain(username);
    expect(page.text).toContain(new URL(env.gateway.url).host);
    expect(page.text).toMatch(/<button[^>]*value="approve"[^>]*>Approve<\/button>/);
    expect(page.text).toMatch(/<button[^>]*value="deny"[^>]*>Deny<\/button>/);
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
  });

  it("refuses, without redirecting, an unknown client or a redirect_uri that is not terraform's loopback listener", async () => {
    const refusals: Record<string, string>[] = [
      { client_id: "someone-else" },
      { redirect_uri: "https://evil.example/login" },
      { redirect_uri: "http://evil.example:10003/login" },
      { redirect_uri: "http://localhost:9999/login" },
      { redirect_uri: "http://localhost:10011/login" },
      { redirect_uri: "http://localhost/login" },
      { redirect_uri: "http://localhost:10003/other" },
      { redirect_uri: "http://localhost:10003/login?x=1" },
      { redirect_uri: "http://user@localhost:10003/login" },
    ];
    for (const over of refusals) {
      const res = await web.get(authorizeQuery(over));
      expect({ over, status: res.status, location: res.location }).toEqual({ over, status: 400, location: null });
    }
    expect((await web.get(authorizeQuery({ redirect_uri: "http://127.0.0.1:10010/login" }))).status).toBe(200);
  });

  it("tells the client about a missing PKCE challenge or a plain one", async () => {
    const mistakes: Record<string, string>[] = [{ code_challenge_method: "plain" }, { code_challenge: "short" }, { response_type: "token" }];
    for (const over of mistakes) {
      const res = await web.get(authorizeQuery(over));
      expect(res.status).toBe(303);
      const back = new URL(res.location!);
      expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
      expect(back.searchParams.get("error")).toMatch(/^(invalid_request|unsupported_response_type)$/);
      expect(back.searchParams.get("state")).toBe("5b3c1b7a-0000-4000-8000-000000000001");
      expect(back.searchParams.get("code")).toBeNull();
    }
  });

  it("redirects a denial with error=access_denied and the state, and stores no code", async () => {
    const before = await env.db.oAuthAuthorizationCode.count();
    const back = await decide(web, authorizeQuery(), "deny");
    expect(`${back.origin}${back.pathname}`).toBe(REDIRECT);
    expect(back.searchParams.get("error")).toBe("access_denied");
    expect(back.searchParams.get("state")).toBe("5b3c1b7a-0000-4000-8000-000000000001");
    expect(back.searchParams.get("code")).toBeNull();
    expect(await env.db.oAuthAuthorizationCode.count()).toBe(before);
  });

  it("refuses an approval posted without the session's CSRF token", async () => {
    const page = await web.get(authorizeQuery());
    const form: Record<string, string> = { decision: "approve", csrf: "forged" };
    for (const name of ["client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method", "response_type"]) form[name] = hiddenValue(page.text, name);
    const res = await web.post("/app/oauth/authorize", form);
    expect(res.status).toBe(403);
    expect(res.location).toBeNull();
  });
});

describe("the token endpoint", () => {
  it("trades an approved code and its verifier for a user token named terraform login, once", async () => {
    const { verifier, challenge } = pkcePair();
    const back = await decide(web, authorizeQuery({}, challenge), "approve");
    expect(back.searchParams.get("state")).toBe("5b3c1b7a-0000-4000-8000-000000000001");
    const code = back.searchParams.get("code")!;
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // Only its hash is stored.
    expect(await env.db.oAuthAuthorizationCode.count({ where: { codeHash: code } })).toBe(0);

    const res = await exchange(tokenForm(code, verifier));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.body).toEqual({ access_token: expect.stringMatching(/\.atlasv1\./), token_type: "bearer" });
    const me = await env.admin.withToken(res.body.access_token).get("/account/details");
    expect(me.status).toBe(200);
    expect(me.body.data.attributes.username).toBe(username);
    const stored = await env.db.apiToken.findMany({ where: { userId: me.body.data.id, description: "terraform login" } });
    expect(stored.length).toBeGreaterThanOrEqual(1);
    expect(stored.every((t) => t.kind === "user")).toBe(true);

    const again = await exchange(tokenForm(code, verifier));
    expect(again.status).toBe(400);
    expect(again.body.error).toBe("invalid_grant");
  });

  it("answers invalid_grant to a verifier that does not match, and the code is spent", async () => {
    const { verifier, challenge } = pkcePair();
    const code = (await decide(web, authorizeQuery({}, challenge), "approve")).searchParams.get("code")!;
    const wrong = await exchange(tokenForm(code, pkcePair().verifier));
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ error: "invalid_grant", error_description: "The code verifier does not match the code challenge." });
    const right = await exchange(tokenForm(code, verifier));
    expect(right.status).toBe(400);
    expect(right.body.error).toBe("invalid_grant");
  });

  it("answers invalid_grant to another redirect_uri, and to an expired code", async () => {
    const a = pkcePair();
    const codeA = (await decide(web, authorizeQuery({}, a.challenge), "approve")).searchParams.get("code")!;
    const moved = await exchange(tokenForm(codeA, a.verifier, { redirect_uri: "http://localhost:10004/login" }));
    expect(moved.status).toBe(400);
    expect(moved.body.error).toBe("invalid_grant");

    const b = pkcePair();
    const codeB = (await decide(web, authorizeQuery({}, b.challenge), "approve")).searchParams.get("code")!;
    const row = await env.db.oAuthAuthorizationCode.findFirst({ where: { codeChallenge: b.challenge } });
    expect(row!.expiresAt.getTime() - row!.createdAt.getTime()).toBeLessThanOrEqual(60_000);
    await env.db.oAuthAuthorizationCode.updateMany({ where: { codeChallenge: b.challenge }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const expired = await exchange(tokenForm(codeB, b.verifier));
    expect(expired.status).toBe(400);
    expect(expired.body.error).toBe("invalid_grant");
  });

  it("answers OAuth errors for other grants, clients and missing fields", async () => {
    expect(await exchange({ grant_type: "password", username, password: "terraform-login-1", client_id: "terraform-cli" })).toMatchObject({
      status: 400,
      body: { error: "unsupported_grant_type" },
    });
    expect(await exchange(tokenForm("x", pkcePair().verifier, { client_id: "other" }))).toMatchObject({ status: 401, body: { error: "invalid_client" } });
    expect(await exchange({ grant_type: "authorization_code", client_id: "terraform-cli" })).toMatchObject({ status: 400, body: { error: "invalid_request" } });
    expect(await exchange(tokenForm("never-issued", pkcePair().verifier))).toMatchObject({ status: 400, body: { error: "invalid_grant" } });
  });
});
