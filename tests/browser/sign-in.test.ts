import { randomBytes } from "node:crypto";
import { httpsRequest } from "@tarmac/testing";
import { launchChromium, type LaunchedBrowser } from "@tarmac/testing/browser";
import { startTlsGateway, type TlsGateway } from "./tls-gateway";

/**
 * Signing in and out of the web UI in a real browser over HTTPS: the form, the message for a
 * wrong password, the cookies as the browser stores them (Secure here), the session cookie and
 * the readable CSRF cookie used from a page of the site, and sign-out.
 */
jest.setTimeout(120_000);

// The page's own global, used only inside page.evaluate (this project compiles without the DOM lib).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
declare const document: any;

let gw: TlsGateway;
let launched: LaunchedBrowser;
const username = `alice-${randomBytes(3).toString("hex")}`;
const password = "a-long-password-1";

beforeAll(async () => {
  gw = await startTlsGateway();
  await gw.createUser(username, password);
  launched = await launchChromium({ ignoreHTTPSErrors: true });
}, 120_000);
afterAll(async () => {
  await launched?.close();
  await gw?.stop();
});

it("signs in with the form, uses the session from the page, and signs out", async () => {
  const page = await launched.browser.newPage();
  await page.goto(`${gw.url}/app/login?next=${encodeURIComponent("/app/login-landing")}`);
  expect(await page.title()).toBe("Sign in · Tarmac");

  // Wrong password: the form again, with the message, the username kept.
  await page.fill("#username", username);
  await page.fill("#password", "not-my-password");
  const [wrong] = await Promise.all([page.waitForNavigation(), page.click("#sign-in")]);
  expect(wrong!.status()).toBe(401);
  expect(await page.textContent("#login-error")).toBe("Incorrect username or password.");
  expect(await page.inputValue("#username")).toBe(username);
  expect((await launched.browser.cookies(gw.url)).map((c) => c.name)).not.toContain("tarmac_session");

  // Keyboard only: type the password, Enter submits.
  await page.focus("#password");
  await page.keyboard.type(password);
  await Promise.all([page.waitForURL(`${gw.url}/app/login-landing`), page.keyboard.press("Enter")]);

  const cookies = Object.fromEntries((await launched.browser.cookies(gw.url)).map((c) => [c.name, c]));
  expect(cookies.tarmac_session).toMatchObject({ httpOnly: true, secure: true, sameSite: "Lax", path: "/" });
  expect(cookies.tarmac_csrf).toMatchObject({ httpOnly: false, secure: true, sameSite: "Strict", path: "/" });
  expect(cookies.tarmac_login_csrf).toBeUndefined();

  // What the SPA does: the cookie authenticates fetches; unsafe ones echo the readable CSRF cookie.
  const fromPage = await page.evaluate(async () => {
    const csrf = document.cookie.split("; ").find((c: string) => c.startsWith("tarmac_csrf="))!.slice("tarmac_csrf=".length);
    const seesSession = document.cookie.includes("tarmac_session");
    const me = (await fetch("/api/v2/account/details").then((r) => r.json())) as { data: { attributes: { username: string } } };
    const name = `org-${Math.random().toString(36).slice(2, 8)}`;
    const body = JSON.stringify({ data: { type: "organizations", attributes: { name, email: `${name}@example.com` } } });
    const headers = { "Content-Type": "application/vnd.api+json" };
    const without = await fetch("/api/v2/organizations", { method: "POST", headers, body });
    const withToken = await fetch("/api/v2/organizations", { method: "POST", headers: { ...headers, "X-CSRF-Token": csrf }, body });
    return { seesSession, username: me.data.attributes.username, without: without.status, withToken: withToken.status };
  });
  expect(fromPage).toEqual({ seesSession: false, username, without: 403, withToken: 201 });
  const live = await httpsRequest(`${gw.url}/api/v2/account/details`, { ca: gw.certs.ca, headers: { Cookie: `tarmac_session=${cookies.tarmac_session!.value}` } });
  expect(live.status).toBe(200);

  // Sign out as a page of the UI would: a form post carrying the CSRF token.
  await Promise.all([
    page.waitForURL(`${gw.url}/app/login`),
    page.evaluate(() => {
      const csrf = document.cookie.split("; ").find((c: string) => c.startsWith("tarmac_csrf="))!.slice("tarmac_csrf=".length);
      const form = document.createElement("form");
      form.method = "post";
      form.action = "/app/logout";
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = "csrf";
      input.value = csrf;
      form.appendChild(input);
      document.body.appendChild(form);
      form.submit();
    }),
  ]);
  expect(await page.isVisible("#username")).toBe(true);
  const after = (await launched.browser.cookies(gw.url)).map((c) => c.name);
  expect(after).not.toContain("tarmac_session");
  expect(after).not.toContain("tarmac_csrf");
  // The old cookie value no longer authenticates (the login page's CSP forbids fetches from it).
  const replay = await httpsRequest(`${gw.url}/api/v2/account/details`, { ca: gw.certs.ca, headers: { Cookie: `tarmac_session=${cookies.tarmac_session!.value}` } });
  expect(replay.status).toBe(401);
});

it("is readable at a phone's width", async () => {
  const page = await launched.browser.newPage();
  await page.setViewportSize({ width: 320, height: 640 });
  await page.goto(`${gw.url}/app/login`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBe(0);
  const box = await page.locator("#password").boundingBox();
  expect(box!.x).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width).toBeLessThanOrEqual(320);
});
