import { hashSecret } from "@tarmac/db";
import { freePort, startApp } from "@tarmac/testing";
import { createUser, startApiTestEnv, unique, type ApiTestEnv } from "./api-fixtures";
import { WebClient } from "./web-client";

/**
 * Web UI sign-in against the real gateway: the form and its login-CSRF token, the session and
 * CSRF cookies, the session cookie on /api/v2 (with X-CSRF-Token on unsafe methods), sign-out,
 * where `next` may lead, site admins setting passwords, and the failed-attempt limit.
 */
jest.setTimeout(60_000);

let env: ApiTestEnv;
const PER_MINUTE = 4;
const ADMIN_PASSWORD = "bootstrap-admin-pass";

beforeAll(async () => {
  env = await startApiTestEnv({ TARMAC_SIGN_IN_ATTEMPTS_PER_MINUTE: String(PER_MINUTE), TARMAC_ADMIN_PASSWORD: ADMIN_PASSWORD });
}, 90_000);
afterAll(async () => {
  await env?.close();
});

/** A user created by the site admin with a password. */
async function userWithPassword(password = "s3cret-passw0rd"): Promise<{ id: string; username: string; password: string }> {
  const username = unique("web");
  const res = await env.admin.post("/admin/users", {
    data: { type: "users", attributes: { username, email: `${username}@example.com`, password } },
  });
  expect(res.status).toBe(201);
  return { id: res.body.data.id, username, password };
}

async function signedIn(): Promise<{ web: WebClient; user: { id: string; username: string; password: string } }> {
  const user = await userWithPassword();
  const web = new WebClient(env.gateway.url);
  const res = await web.signIn(user.username, user.password);
  expect(res.status).toBe(303);
  return { web, user };
}

describe("signing in", () => {
  it("advertises terraform login (login.v1) in the discovery document", async () => {
    const res = await env.anonymous.get("/.well-known/terraform.json");
    expect(res.body["login.v1"]).toEqual({
      client: "terraform-cli",
      grant_types: ["authz_code"],
      authz: "/app/oauth/authorize",
      token: "/oauth/token",
      ports: [10000, 10010],
    });
    expect(res.body["tfe.v2"]).toBe("/api/v2/");
  });

  it("serves a self-contained form with a login-CSRF token tied to a pre-session cookie", async () => {
    const web = new WebClient(env.gateway.url);
    const page = await web.get("/app/login?next=/app/workspaces");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("content-security-policy")).toContain("default-src 'none'");
    expect(page.text).not.toMatch(/https?:\/\//);
    expect(page.text).toContain('name="next" value="/app/workspaces"');
    const pre = page.cookies.find((c) => c.name === "tarmac_login_csrf")!;
    expect(pre.attrs.has("httponly")).toBe(true);
    expect(pre.attrs.get("samesite")).toBe("Strict");
    expect(page.text).toContain(`name="csrf" value="${pre.value}"`);
  });

  it("signs in with username and password: 303 to next, session and CSRF cookies with their flags", async () => {
    const user = await userWithPassword();
    const web = new WebClient(env.gateway.url);
    const res = await web.signIn(user.username, user.password, "/app/workspaces?page=2");
    expect(res.status).toBe(303);
    expect(res.location).toBe("/app/workspaces?page=2");
    const session = res.cookies.find((c) => c.name === "tarmac_session")!;
    const csrf = res.cookies.find((c) => c.name === "tarmac_csrf")!;
    expect(session.attrs.has("httponly")).toBe(true);
    expect(session.attrs.get("samesite")).toBe("Lax");
    expect(session.attrs.get("path")).toBe("/");
    // Plain HTTP here: not Secure (the browser test covers HTTPS, where it is).
    expect(session.attrs.has("secure")).toBe(false);
    expect(csrf.attrs.has("httponly")).toBe(false);
    expect(csrf.attrs.get("samesite")).toBe("Strict");
    expect(csrf.attrs.get("path")).toBe("/");
    // Only the hash of the session's secret is stored.
    const rows = await env.db.webSession.findMany({ where: { userId: user.id } });
    expect(rows).toHaveLength(1);
    expect(rows[0]!.idHash).toBe(hashSecret(session.value));
    expect(JSON.stringify(rows)).not.toContain(session.value);
    expect(rows[0]!.csrfToken).toBe(csrf.value);
    expect(rows[0]!.expiresAt.getTime() - rows[0]!.createdAt.getTime()).toBe(7 * 24 * 3600 * 1000);
    // The pre-session cookie is done with.
    expect(web.jar.has("tarmac_login_csrf")).toBe(false);
  });

  it("answers a wrong password and an unknown user alike: 401, the form again, no cookies", async () => {
    const user = await userWithPassword();
    const wrong = new WebClient(env.gateway.url);
    const a = await wrong.signIn(user.username, "not-the-password");
    const nobody = new WebClient(env.gateway.url);
    const b = await nobody.signIn(unique("nobody"), "not-the-password");
    for (const res of [a, b]) {
      expect(res.status).toBe(401);
      expect(res.text).toContain("Incorrect username or password.");
      expect(res.cookies.map((c) => c.name)).not.toContain("tarmac_session");
    }
    const strip = (t: string) => t.replace(/value="[^"]*"/g, "").replace(/nonce[-=]"?[^"' ;]*/g, "");
    expect(strip(a.text)).toBe(strip(b.text));
  });

  it("refuses a sign-in post without the form's token (login CSRF)", async () => {
    const user = await userWithPassword();
    const web = new WebClient(env.gateway.url);
    await web.loginForm();
    const res = await web.post("/app/login", { csrf: "forged-token-forged-token-forged-token", next: "/app/", username: user.username, password: user.password });
    expect(res.status).toBe(403);
    expect(res.cookies.map((c) => c.name)).not.toContain("tarmac_session");
    const bare = new WebClient(env.gateway.url);
    expect((await bare.post("/app/login", { next: "/app/", username: user.username, password: user.password })).status).toBe(403);
  });

  it("signs in with a user API token, but not with a team token", async () => {
    const user = await createUser(env);
    const token = await env.admin.post(`/users/${user.id}/authentication-tokens`, { data: { type: "authentication-tokens" } });
    const web = new WebClient(env.gateway.url);
    const csrf = await web.loginForm();
    const res = await web.post("/app/login", { csrf, next: "/app/", token: token.body.data.attributes.token });
    expect(res.status).toBe(303);
    const me = await web.get("/api/v2/account/details");
    expect(me.status).toBe(200);
    expect(JSON.parse(me.text).data.attributes.username).toBe(user.username);

    const org = unique("org");
    expect((await user.client.post("/organizations", { data: { type: "organizations", attributes: { name: org, email: `${org}@example.com` } } })).status).toBe(201);
    const owners = (await user.client.get(`/organizations/${org}/teams`)).body.data[0].id;
    const teamToken = await user.client.post(`/teams/${owners}/authentication-token`, { data: { type: "authentication-tokens" } });
    const other = new WebClient(env.gateway.url);
    const csrf2 = await other.loginForm();
    const refused = await other.post("/app/login", { csrf: csrf2, next: "/app/", token: teamToken.body.data.attributes.token });
    expect(refused.status).toBe(401);
    expect(refused.text).toContain("must be a user token");
  });

  it("sends `next` only to paths under /app/", async () => {
    const user = await userWithPassword();
    for (const next of ["https://evil.example/app/", "//evil.example/app/", "/\\evil.example", "/app\\..\\evil", "/api/v2/account/details", "/app/../api/v2", "javascript:alert(1)", "/appx", "/app/login?next=/app/login", "/app/logout"]) {
      const web = new WebClient(env.gateway.url);
      const res = await web.signIn(user.username, user.password, next);
      expect(res.status).toBe(303);
      expect(res.location).toBe("/app/");
    }
  });
});

describe("the session cookie on /api/v2", () => {
  it("authenticates as the user, exactly as the user's token would", async () => {
    const { web, user } = await signedIn();
    const res = await web.get("/api/v2/account/details");
    expect(res.status).toBe(200);
    const viaCookie = JSON.parse(res.text);
    const token = await env.admin.post(`/users/${user.id}/authentication-tokens`, { data: { type: "authentication-tokens" } });
    const viaToken = await env.admin.withToken(token.body.data.attributes.token).get("/account/details");
    expect(viaCookie).toEqual(viaToken.body);
  });

  it("needs X-CSRF-Token on unsafe methods (403, JSON:API), and bearer requests do not", async () => {
    const { web } = await signedIn();
    const org = unique("org");
    const body = { data: { type: "organizations", attributes: { name: org, email: `${org}@example.com` } } };
    const refused = await web.request("POST", "/api/v2/organizations", { json: body });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("content-type")).toMatch(/^application\/vnd\.api\+json/);
    expect(JSON.parse(refused.text).errors[0]).toMatchObject({ status: "403", title: "forbidden" });
    const wrong = await web.request("POST", "/api/v2/organizations", { json: body, headers: { "X-CSRF-Token": "nope" } });
    expect(wrong.status).toBe(403);
    expect(await env.db.organization.findUnique({ where: { name: org } })).toBeNull();
    const ok = await web.request("POST", "/api/v2/organizations", { json: body, headers: { "X-CSRF-Token": web.jar.get("tarmac_csrf")! } });
    expect(ok.status).toBe(201);
    const del = await web.request("DELETE", `/api/v2/organizations/${org}`, {});
    expect(del.status).toBe(403);

    const bearer = unique("org");
    const viaToken = await env.admin.post("/organizations", { data: { type: "organizations", attributes: { name: bearer, email: `${bearer}@example.com` } } });
    expect(viaToken.status).toBe(201);
  });

  it("answers 401 for an unknown, idle-expired or absolutely expired session", async () => {
    const anon = new WebClient(env.gateway.url);
    anon.jar.set("tarmac_session", "not-a-session");
    expect((await anon.get("/api/v2/account/details")).status).toBe(401);

    const idle = await signedIn();
    await env.db.webSession.updateMany({ where: { userId: idle.user.id }, data: { lastSeenAt: new Date(Date.now() - 12 * 3600 * 1000 - 1000) } });
    expect((await idle.web.get("/api/v2/account/details")).status).toBe(401);

    const old = await signedIn();
    await env.db.webSession.updateMany({ where: { userId: old.user.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    expect((await old.web.get("/api/v2/account/details")).status).toBe(401);
  });

  it("prefers a bearer token over the cookie", async () => {
    const { web } = await signedIn();
    const res = await web.get("/api/v2/account/details", { Authorization: "Bearer nonsense" });
    expect(res.status).toBe(401);
  });
});

describe("signing out", () => {
  it("needs the CSRF token, then ends the session and clears both cookies", async () => {
    const { web, user } = await signedIn();
    const forged = await web.post("/app/logout", {});
    expect(forged.status).toBe(403);
    expect((await web.get("/api/v2/account/details")).status).toBe(200);

    const cookie = web.jar.get("tarmac_session")!;
    const res = await web.post("/app/logout", { csrf: web.jar.get("tarmac_csrf")! });
    expect(res.status).toBe(303);
    expect(res.location).toBe("/app/login");
    const cleared = Object.fromEntries(res.cookies.map((c) => [c.name, c]));
    for (const name of ["tarmac_session", "tarmac_csrf"]) {
      expect(cleared[name]!.value).toBe("");
      expect(new Date(cleared[name]!.attrs.get("expires")!).getTime()).toBeLessThan(Date.now());
    }
    expect(await env.db.webSession.count({ where: { userId: user.id } })).toBe(0);
    const replay = new WebClient(env.gateway.url);
    replay.jar.set("tarmac_session", cookie);
    expect((await replay.get("/api/v2/account/details")).status).toBe(401);
  });

  it("accepts the CSRF token in the X-CSRF-Token header too", async () => {
    const { web } = await signedIn();
    const res = await web.request("POST", "/app/logout", { headers: { "X-CSRF-Token": web.jar.get("tarmac_csrf")! } });
    expect(res.status).toBe(303);
    expect((await web.get("/api/v2/account/details")).status).toBe(401);
  });
});

describe("the admin API for users and passwords", () => {
  it("lets the site admin `admin` sign in with TARMAC_ADMIN_PASSWORD", async () => {
    const web = new WebClient(env.gateway.url);
    expect((await web.signIn("admin", ADMIN_PASSWORD)).status).toBe(303);
    const me = JSON.parse((await web.get("/api/v2/account/details")).text);
    expect(me.data.attributes).toMatchObject({ username: "admin", "is-site-admin": true });
  });

  it("refuses to start with a TARMAC_ADMIN_PASSWORD shorter than 8 characters", async () => {
    const proc = await startApp("gateway", { PORT: String(await freePort()), TARMAC_OUTBOX_RELAY: "off", TARMAC_ADMIN_PASSWORD: "short" });
    const code = await new Promise<number | null>((resolve) => {
      if (proc.child.exitCode !== null) resolve(proc.child.exitCode);
      else proc.child.once("exit", (c) => resolve(c));
    });
    expect(code).toBe(1);
    expect(proc.output()).toContain("TARMAC_ADMIN_PASSWORD: must be at least 8 characters");
  });

  it("creates a user with a password that is never returned", async () => {
    const username = unique("created");
    const res = await env.admin.post("/admin/users", {
      data: { type: "users", attributes: { username, email: `${username}@example.com`, password: "long-enough-1", "is-admin": false } },
    });
    expect(res.status).toBe(201);
    expect(res.text).not.toContain("long-enough-1");
    expect(Object.keys(res.body.data.attributes)).not.toContain("password");
    const stored = await env.db.user.findUnique({ where: { username } });
    expect(stored!.passwordHash).toMatch(/^scrypt\$/);
    expect((await new WebClient(env.gateway.url).signIn(username, "long-enough-1")).status).toBe(303);
  });

  it("refuses a short password with 422 and creates nothing", async () => {
    const username = unique("short");
    const res = await env.admin.post("/admin/users", {
      data: { type: "users", attributes: { username, email: `${username}@example.com`, password: "1234567" } },
    });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].source.pointer).toBe("/data/attributes/password");
    expect(res.body.errors[0].detail).toContain("minimum is 8 characters");
    expect(await env.db.user.findUnique({ where: { username } })).toBeNull();
    const wrongType = await env.admin.post("/admin/users", {
      data: { type: "users", attributes: { username, email: `${username}@example.com`, password: 12345678 } },
    });
    expect(wrongType.status).toBe(422);
    expect(await env.db.user.findUnique({ where: { username } })).toBeNull();
  });

  it("lets only site admins create users or set passwords (404 for others)", async () => {
    const { web, user } = await signedIn();
    const member = await createUser(env);
    const username = unique("sneaky");
    expect((await member.client.post("/admin/users", { data: { type: "users", attributes: { username, email: `${username}@x.example`, password: "long-enough-1" } } })).status).toBe(404);
    expect((await member.client.patch(`/admin/users/${user.id}`, { data: { type: "users", attributes: { password: "taken-over-1" } } })).status).toBe(404);
    const viaCookie = await web.request("PATCH", `/api/v2/admin/users/${user.id}`, {
      json: { data: { type: "users", attributes: { password: "taken-over-1" } } },
      headers: { "X-CSRF-Token": web.jar.get("tarmac_csrf")! },
    });
    expect(viaCookie.status).toBe(404);
    expect(await env.db.user.findUnique({ where: { username } })).toBeNull();
    expect((await new WebClient(env.gateway.url).signIn(user.username, "taken-over-1")).status).toBe(401);
  });

  it("sets a new password: the old one stops working, sessions end, a short one changes nothing", async () => {
    const { web, user } = await signedIn();
    const short = await env.admin.patch(`/admin/users/${user.id}`, { data: { type: "users", attributes: { password: "short" } } });
    expect(short.status).toBe(422);
    expect(short.body.errors[0].source.pointer).toBe("/data/attributes/password");
    expect((await web.get("/api/v2/account/details")).status).toBe(200);

    const res = await env.admin.patch(`/admin/users/${user.id}`, { data: { type: "users", attributes: { password: "brand-new-pass" } } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ id: user.id, type: "users", attributes: { username: user.username } });
    expect(res.text).not.toContain("brand-new-pass");
    expect((await web.get("/api/v2/account/details")).status).toBe(401);
    expect((await new WebClient(env.gateway.url).signIn(user.username, user.password)).status).toBe(401);
    expect((await new WebClient(env.gateway.url).signIn(user.username, "brand-new-pass")).status).toBe(303);
    expect((await env.admin.patch("/admin/users/user-doesnotexist", { data: { type: "users", attributes: { password: "brand-new-pass" } } })).status).toBe(404);
  });
});

// Last: it spends this client address's failure budget.
describe("the failed sign-in limit", () => {
  it(`refuses a username after ${PER_MINUTE} failures in a minute, even with the right password`, async () => {
    const user = await userWithPassword();
    for (let i = 0; i < PER_MINUTE; i++) expect((await new WebClient(env.gateway.url).signIn(user.username, `wrong-${i}-password`)).status).toBe(401);
    const blocked = await new WebClient(env.gateway.url).signIn(user.username, user.password);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(blocked.text).toContain("Too many failed sign-in attempts");
    // Another user is not locked out by them.
    expect((await new WebClient(env.gateway.url).signIn((await userWithPassword()).username, "s3cret-passw0rd")).status).toBe(303);
  });
});
