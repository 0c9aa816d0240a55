import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { Browser, BrowserContext, BrowserContextOptions, Locator, Page } from "playwright-core";
import type { ApiClient } from "@tarmac/testing";

/** Test fixtures for the web UI's browser tests, over the JSON:API only. */

export const unique = (base: string) => `${base}-${randomBytes(3).toString("hex")}`;

export interface UiUser {
  id: string;
  username: string;
  /** What the user signs in to the web UI with. */
  password: string;
  token: string;
  api: ApiClient;
}

async function ok(res: { status: number; text: string }, status: number, what: string): Promise<void> {
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${res.text}`);
}

/** A user made by the site admin, with a password and a token of its own. */
export async function createUser(admin: ApiClient, username = unique("user")): Promise<UiUser> {
  const password = `pw-${randomBytes(8).toString("hex")}`;
  const created = await admin.post("/admin/users", { data: { type: "users", attributes: { username, email: `${username}@example.com`, password } } });
  await ok(created, 201, "create user");
  const id = created.body.data.id as string;
  const token = await admin.post(`/users/${id}/authentication-tokens`, { data: { type: "authentication-tokens", attributes: { description: "browser test" } } });
  await ok(token, 201, "create token");
  const value = token.body.data.attributes.token as string;
  return { id, username, password, token: value, api: admin.withToken(value) };
}

/** Makes `member` a member of `org` on a new team holding `access` on the workspace. */
export async function grantWorkspaceAccess(owner: ApiClient, org: string, workspaceId: string, memberId: string, access: string): Promise<void> {
  const team = await owner.post(`/organizations/${org}/teams`, { data: { type: "teams", attributes: { name: unique("team") } } });
  await ok(team, 201, "create team");
  const teamId = team.body.data.id as string;
  await ok(await owner.post(`/teams/${teamId}/relationships/users`, { data: [{ type: "users", id: memberId }] }), 204, "add member");
  const grant = await owner.post("/team-workspaces", {
    data: {
      type: "team-workspaces",
      attributes: { access },
      relationships: { team: { data: { type: "teams", id: teamId } }, workspace: { data: { type: "workspaces", id: workspaceId } } },
    },
  });
  await ok(grant, 201, "grant access");
}

/**
 * Records every request the page makes that leaves for another origin than Tarmac's: the UI
 * must load nothing from a CDN or any third party.
 */
export function watchForeignRequests(page: Page, origin: string): string[] {
  const foreign: string[] = [];
  page.on("request", (req) => {
    const url = req.url();
    if (url.startsWith("data:") || url.startsWith("about:") || url.startsWith("blob:")) return;
    if (new URL(url).origin !== origin) foreign.push(url);
  });
  return foreign;
}

/** Counts full document loads after the first: live updates must arrive without one. */
export function countReloads(page: Page): () => number {
  let loads = 0;
  page.on("load", () => loads++);
  return () => Math.max(0, loads - 1);
}

/**
 * Screenshots for the README, only when asked (`npm run screenshots` sets TARMAC_SCREENSHOTS=1),
 * so test runs and CI never rewrite docs/screenshots.
 */
export async function screenshot(page: Page, name: string, mask: Locator[] = []): Promise<void> {
  if (process.env.TARMAC_SCREENSHOTS !== "1") return;
  const dir = path.resolve(__dirname, "..", "..", "docs", "screenshots");
  await mkdir(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true, mask });
}

/**
 * A browser context of its own for `user`, signed in through the sign-in form as a person would:
 * its session cookie and CSRF cookie are what every page of it then uses.
 */
export async function signedInContext(browser: Browser, baseUrl: string, user: UiUser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/app/login?next=${encodeURIComponent("/app/organizations")}`);
  await page.getByLabel("Username").fill(user.username);
  await page.getByLabel("Password", { exact: true }).fill(user.password);
  await page.locator("#sign-in").click();
  await page.waitForURL((url) => url.pathname === "/app/organizations");
  await page.close();
  return context;
}
