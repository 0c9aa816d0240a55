import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromiumBrowser } from "@tarmac/testing/browser";
import { waitFor } from "@tarmac/testing";
import { FINAL_STATUSES, startStack, Tfe, type Stack } from "../e2e/stack";
import { countReloads, createUser, grantWorkspaceAccess, screenshot, signedInContext, watchForeignRequests, type UiUser } from "./ui-helpers";

// The run page the CLI links to (/app/ORG/WORKSPACE/runs/RUN), in Chromium against the started
// engine (gateway, scheduler, worker with the terraform test double, whose plan prints a line a
// second): logs and statuses arrive live over the run's event stream, actions go through the API.

jest.setTimeout(120_000);

const CONFIG = `resource "null_resource" "a" {}\nresource "null_resource" "b" {}\n`;
const script = (planSeconds: number, applySeconds = 2) => JSON.stringify({ plan: { seconds: planSeconds }, apply: { seconds: applySeconds } });

let stack: Stack;
let launched: { browser: Browser; close(): Promise<void> };
let browser: Browser;
/** Each user's own browser context, signed in through the sign-in form. */
const sessions = new Map<string, BrowserContext>();
let owner: UiUser;
let reader: UiUser;
let tfe: Tfe;
let org: string;
let wsName: string;
let wsId: string;
let foreign: string[] = [];

beforeAll(async () => {
  stack = await startStack();
  owner = await createUser(stack.api);
  reader = await createUser(stack.api);
  tfe = new Tfe(owner.api);
  ({ org, wsId } = await tfe.createWorkspace());
  wsName = (await owner.api.get(`/workspaces/${wsId}`)).body.data.attributes.name;
  await grantWorkspaceAccess(owner.api, org, wsId, reader.id, "read");
  launched = await launchChromiumBrowser();
  browser = launched.browser;
  // A stack with its engine and a browser: well under a minute alone, much longer on a CI machine
  // running every suite at once.
}, 300_000);

afterAll(async () => {
  await launched?.close();
  await stack?.stop();
});

async function sessionOf(user: UiUser): Promise<BrowserContext> {
  let context = sessions.get(user.id);
  if (!context) {
    context = await signedInContext(browser, stack.gateway.url, user);
    sessions.set(user.id, context);
  }
  return context;
}

async function openAs(user: UiUser, path: string): Promise<Page> {
  const page = await (await sessionOf(user)).newPage();
  foreign = foreign.concat(watchForeignRequests(page, stack.gateway.url));
  await page.goto(`${stack.gateway.url}${path}`);
  return page;
}

let runs = 0;
async function newRun(planSeconds: number, applySeconds = 2, message = "browser run"): Promise<string> {
  // A resource of its own per run: every plan has a change to confirm, whatever was applied before.
  const config = `${CONFIG}resource "null_resource" "run${++runs}" {}\n`;
  const cv = await tfe.upload(wsId, { "main.tf": config, "terraform-double.json": script(planSeconds, applySeconds) });
  return tfe.createRun(wsId, cv, { message });
}

/**
 * After each case, no run of the workspace is left holding it (a case that failed half-way
 * would otherwise queue every later case's runs behind its own).
 */
afterEach(async () => {
  const listed = await owner.api.get(`/workspaces/${wsId}/runs?page%5Bsize%5D=100`);
  for (const run of listed.body?.data ?? []) {
    if (FINAL_STATUSES.includes(run.attributes.status)) continue;
    const actions = run.attributes.actions ?? {};
    const action = actions["is-discardable"] ? "discard" : actions["is-force-cancelable"] ? "force-cancel" : actions["is-cancelable"] ? "cancel" : null;
    if (action) await owner.api.post(`/runs/${run.id}/actions/${action}`, {});
    await tfe.waitForStatus(run.id, "discarded", 60_000).catch(() => undefined);
  }
});

const runPath = (runId: string) => `/app/${org}/${wsName}/runs/${runId}`;
const statusOf = (page: Page) => page.getByTestId("run-status");

describe("the run page", () => {
  it("streams the plan log while planning, then confirms and applies with the apply log, all without a reload", async () => {
    const runId = await newRun(8, 2, "live logs");
    const run = await tfe.run(runId);
    // The link the CLI prints for a remote run.
    const page = await openAs(owner, runPath(runId));
    const reloads = countReloads(page);
    await page.getByTestId("plan-log").getByText("Still planning...", { exact: false }).first().waitFor({ timeout: 30_000 });
    // The log is streaming while the phase still runs: it grows on the page while the status
    // still says planning (on a busy machine its first read may already hold several lines).
    const earlyLog = (await page.getByTestId("plan-log").textContent())!;
    await waitFor(
      async () => {
        const [log, status] = [(await page.getByTestId("plan-log").textContent())!, (await statusOf(page).textContent())!];
        if (!status.includes("planning")) throw new Error(`the plan ended (${status}) before its log grew on the page: ${log}`);
        return log.length > earlyLog.length ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: "the plan log to grow while planning" },
    );

    await statusOf(page).getByText("planned", { exact: true }).waitFor({ timeout: 30_000 });
    await expect(page.getByTestId("plan-counts").textContent()).resolves.toContain("+3 to add");
    await page.getByTestId("resource-changes").getByText("null_resource.a").waitFor();
    expect(run.attributes.message).toBe("live logs");
    await screenshot(page, "run-page");

    await page.getByLabel("Comment (optional)").fill("ship it");
    await page.getByRole("button", { name: "Confirm & apply" }).click();
    await statusOf(page).getByText("applied", { exact: true }).waitFor({ timeout: 30_000 });
    await page.getByTestId("apply-log").getByText("Apply complete!", { exact: false }).waitFor({ timeout: 15_000 });
    await expect(page.getByTestId("apply-log").textContent()).resolves.toContain("null_resource.a: Creation complete");
    // Nothing left to do on an applied run.
    await expect(page.getByTestId("run-actions").count()).resolves.toBe(0);
    expect(reloads()).toBe(0);
    expect(await tfe.status(runId)).toBe("applied");

    // Comments: listed and added. A signed-in browser's unsafe requests repeat the session's CSRF cookie.
    const csrf = (await (await sessionOf(owner)).cookies(stack.gateway.url)).find((c) => c.name === "tarmac_csrf")?.value;
    expect(csrf).toMatch(/.{16,}/);
    const posted = page.waitForRequest((req) => req.method() === "POST" && req.url().endsWith(`/api/v2/runs/${runId}/comments`));
    await page.getByLabel("Add a comment").fill("looks good");
    await page.getByRole("button", { name: "Comment", exact: true }).click();
    await page.getByTestId("comments").getByText("looks good").waitFor();
    const headers = (await posted).headers();
    expect(headers["x-csrf-token"]).toBe(csrf);
    expect(headers["content-type"]).toBe("application/vnd.api+json");
    await page.close();
  });

  it("discards a planned run", async () => {
    const runId = await newRun(1);
    const page = await openAs(owner, runPath(runId));
    await statusOf(page).getByText("planned", { exact: true }).waitFor({ timeout: 30_000 });
    await page.getByRole("button", { name: "Discard run" }).click();
    await statusOf(page).getByText("discarded", { exact: true }).waitFor({ timeout: 15_000 });
    expect(await tfe.status(runId)).toBe("discarded");
    await page.close();
  });

  it("cancels a planning run", async () => {
    const runId = await newRun(60);
    const page = await openAs(owner, runPath(runId));
    await page.getByTestId("plan-log").getByText("Still planning...", { exact: false }).first().waitFor({ timeout: 30_000 });
    await page.getByRole("button", { name: "Cancel run" }).click();
    await statusOf(page).getByText("canceled", { exact: true }).waitFor({ timeout: 30_000 });
    expect(await tfe.status(runId)).toBe("canceled");
    await page.close();
  });

  it("force-cancels a run that ignores the interrupt, once the cool-off has passed", async () => {
    const cv = await tfe.upload(wsId, {
      "main.tf": `${CONFIG}resource "null_resource" "stubborn" {}\n`,
      "terraform-double.json": JSON.stringify({ plan: { seconds: 60, ignore_interrupt_seconds: 60 } }),
    });
    const runId = await tfe.createRun(wsId, cv, { message: "stubborn" });
    const page = await openAs(owner, runPath(runId));
    await page.getByTestId("plan-log").getByText("Still planning...", { exact: false }).first().waitFor({ timeout: 30_000 });
    await page.getByRole("button", { name: "Cancel run" }).click();
    // The cool-off (1 s in this stack) ends: the button appears without a reload.
    await page.getByRole("button", { name: "Force cancel" }).click({ timeout: 15_000 });
    await statusOf(page).getByText("force canceled", { exact: true }).waitFor({ timeout: 30_000 });
    expect(await tfe.status(runId)).toBe("force_canceled");
    await page.close();
  });

  it("shows a read-only member the run and no action buttons, on a phone screen too", async () => {
    const runId = await newRun(1);
    await tfe.waitForStatus(runId, "planned");
    const page = await openAs(reader, runPath(runId));
    await page.setViewportSize({ width: 390, height: 844 });
    await statusOf(page).getByText("planned", { exact: true }).waitFor({ timeout: 15_000 });
    await page.getByTestId("plan-log").waitFor();
    const { scroll, client } = await page.evaluate<{ scroll: number; client: number }>(
      "({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth })",
    );
    expect(scroll).toBeLessThanOrEqual(client);
    await expect(page.getByTestId("run-actions").count()).resolves.toBe(0);
    await expect(page.getByRole("button", { name: /apply|discard|cancel/i }).count()).resolves.toBe(0);
    // The owner, on the same run, has them.
    const ownerPage = await openAs(owner, runPath(runId));
    await ownerPage.getByRole("button", { name: "Confirm & apply" }).waitFor({ timeout: 15_000 });
    await ownerPage.getByRole("button", { name: "Discard run" }).click();
    await statusOf(ownerPage).getByText("discarded", { exact: true }).waitFor({ timeout: 15_000 });
    await Promise.all([page.close(), ownerPage.close()]);
  });

  it("force-executes a pending run, discarding the planned run that holds the workspace", async () => {
    const holder = await newRun(1, 2, "holds the workspace");
    await tfe.waitForStatus(holder, "planned");
    const runId = await newRun(1, 2, "waits its turn");
    const page = await openAs(owner, runPath(runId));
    await statusOf(page).getByText("pending", { exact: true }).waitFor({ timeout: 15_000 });
    await page.getByRole("button", { name: "Run now (force execute)" }).click();
    await statusOf(page).getByText("planned", { exact: true }).waitFor({ timeout: 30_000 });
    expect(await tfe.status(holder)).toBe("discarded");
    await page.getByRole("button", { name: "Discard run" }).click();
    await statusOf(page).getByText("discarded", { exact: true }).waitFor({ timeout: 15_000 });
    await page.close();
  });

  it("answers another organization's run with not found, as the API does", async () => {
    const other = new Tfe(stack.api);
    const { org: otherOrg, wsId: otherWs } = await other.createWorkspace();
    const otherName = (await stack.api.get(`/workspaces/${otherWs}`)).body.data.attributes.name;
    const runId = await other.createRun(otherWs, await other.upload(otherWs, { "main.tf": CONFIG }), { message: "secret" });
    expect((await owner.api.get(`/runs/${runId}`)).status).toBe(404);
    // The event stream is refused the same way.
    expect((await owner.api.get(`/runs/${runId}/events-stream`)).status).toBe(404);
    const page = await openAs(owner, `/app/${otherOrg}/${otherName}/runs/${runId}`);
    await page.getByRole("heading", { name: "Not found" }).waitFor({ timeout: 15_000 });
    await expect(page.getByText("secret").count()).resolves.toBe(0);
    await page.close();
  });

  it("sends a browser that is not signed in to sign in, with the page to come back to", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    foreign = foreign.concat(watchForeignRequests(page, stack.gateway.url));
    await page.goto(`${stack.gateway.url}/app/${org}/${wsName}/runs/run-whatever?x=1`);
    await page.waitForURL((url) => url.pathname === "/app/login");
    expect(new URL(page.url()).searchParams.get("next")).toBe(`/app/${org}/${wsName}/runs/run-whatever?x=1`);
    // Signing in there comes back to that page.
    await page.getByLabel("Username").fill(reader.username);
    await page.getByLabel("Password", { exact: true }).fill(reader.password);
    await page.locator("#sign-in").click();
    await page.waitForURL((url) => url.pathname === `/app/${org}/${wsName}/runs/run-whatever` && url.search === "?x=1");
    await context.close();
  });

  it("loaded nothing from any host but Tarmac", () => {
    expect(foreign).toEqual([]);
  });
});
