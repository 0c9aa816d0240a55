import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { waitFor } from "@tarmac/testing";
import { launchChromium, type LaunchedBrowser } from "@tarmac/testing/browser";
import { startTlsGateway, type TlsGateway } from "./tls-gateway";

/**
 * `terraform login localhost:PORT` end to end: the real terraform v1.11 CLI finds login.v1 in
 * discovery, prints the authorization URL and waits on its loopback listener; Chromium opens
 * that URL, signs in on the form and approves; terraform trades the code and its PKCE verifier
 * for a token and stores it in $HOME/.terraform.d/credentials.tfrc.json. That token then
 * answers for the user on /api/v2/account/details.
 */
jest.setTimeout(180_000);

let gw: TlsGateway;
let launched: LaunchedBrowser;
const username = `tf-${randomBytes(3).toString("hex")}`;
const password = "terraform-login-pass";

beforeAll(async () => {
  gw = await startTlsGateway();
  await gw.createUser(username, password);
  launched = await launchChromium({ ignoreHTTPSErrors: true });
}, 120_000);
afterAll(async () => {
  await launched?.close();
  await gw?.stop();
});

const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "");

it("logs the terraform CLI in through the browser and stores a working user token", async () => {
  const home = path.join(gw.workDir, "home");
  const bin = path.join(gw.workDir, "bin");
  // terraform login writes into ~/.terraform.d but does not create it (any earlier terraform run has).
  await mkdir(path.join(home, ".terraform.d"), { recursive: true });
  await mkdir(bin, { recursive: true });
  // No browser launch from terraform: an `xdg-open` first on PATH that only notes the URL
  // (terraform's launcher runs the first of xdg-open, x-www-browser, www-browser it finds).
  const opened = path.join(gw.workDir, "opened-url");
  await writeFile(path.join(bin, "xdg-open"), `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`);
  await chmod(path.join(bin, "xdg-open"), 0o755);
  const configFile = path.join(home, "terraform.rc");
  await writeFile(configFile, "# no credentials block: terraform login stores the token in credentials.tfrc.json\n");

  const child = spawn("terraform", ["login", gw.hostname], {
    cwd: home,
    env: {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: home,
      BROWSER: "true",
      TF_CLI_CONFIG_FILE: configFile,
      SSL_CERT_FILE: gw.certs.bundle,
      CHECKPOINT_DISABLE: "1",
    },
    stdio: ["pipe", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  const killer = setTimeout(() => child.kill("SIGKILL"), 150_000);
  const launchedPage = await launched.browser.newPage();
  try {
    // terraform asks before anything else; "yes" goes on.
    await waitFor(async () => (plain(output).includes("Do you want to proceed?") ? true : undefined), { timeoutMs: 30_000, intervalMs: 100, what: `terraform's prompt\n${output}` });
    expect(plain(output)).toContain(path.join(home, ".terraform.d", "credentials.tfrc.json"));
    child.stdin.end("yes\n");

    const authorizeUrl = await waitFor(
      async () => /(https:\/\/localhost:\d+\/app\/oauth\/authorize\?\S+)/.exec(plain(output))?.[1],
      { timeoutMs: 30_000, intervalMs: 100, what: `the authorization URL terraform prints\n${output}` },
    );
    const url = new URL(authorizeUrl);
    expect(url.host).toBe(gw.hostname);
    expect(url.searchParams.get("client_id")).toBe("terraform-cli");
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
    expect(url.searchParams.get("redirect_uri")).toMatch(/^http:\/\/localhost:100(0\d|10)\/login$/);
    expect(await readFile(opened, "utf8")).toBe(authorizeUrl);

    // Signed out: the sign-in form first, then back to the approval page.
    await launchedPage.goto(authorizeUrl);
    expect(new URL(launchedPage.url()).pathname).toBe("/app/login");
    await launchedPage.fill("#username", username);
    await launchedPage.fill("#password", password);
    await Promise.all([launchedPage.waitForURL((u) => u.pathname === "/app/oauth/authorize"), launchedPage.click("#sign-in")]);
    expect(await launchedPage.textContent("#approve-user")).toBe(username);
    expect(await launchedPage.textContent("body")).toContain(gw.hostname);

    // Approve: the browser lands on terraform's own callback page. terraform's callback handler
    // hands the code over before it writes its page, and terraform closes the server as soon as it
    // has the code (server.Close, which drops open connections): on a loaded machine the page can
    // be cut off (ERR_EMPTY_RESPONSE) although terraform got the code. The login itself is checked
    // below, by terraform's exit, its output and the token it stored.
    const landed = launchedPage.waitForURL((u) => u.hostname === "localhost" && u.pathname === "/login").then(
      () => "page" as const,
      (err: Error) => {
        if (/ERR_EMPTY_RESPONSE/.test(err.message)) return "cut off" as const;
        throw err;
      },
    );
    const [callback] = await Promise.all([landed, launchedPage.click("#approve")]);
    if (callback === "page") expect(await launchedPage.textContent("body")).toContain("The login server has returned an authentication code to Terraform.");

    const code = await exited;
    if (code !== 0) throw new Error(`terraform login exited ${code}:\n${plain(output)}\n--- gateway ---\n${gw.process.output()}`);
  } finally {
    clearTimeout(killer);
    child.kill("SIGKILL");
    await launchedPage.close();
  }
  expect(plain(output)).toContain("Success! Terraform has obtained and saved an API token.");

  const stored = JSON.parse(await readFile(path.join(home, ".terraform.d", "credentials.tfrc.json"), "utf8"));
  const token = stored.credentials[gw.hostname].token as string;
  expect(token).toMatch(/\.atlasv1\./);
  const me = await gw.api("GET", "/account/details", undefined, token);
  expect(me.status).toBe(200);
  expect(me.body.data.attributes.username).toBe(username);
  const tokens = await gw.api("GET", `/users/${me.body.data.id}/authentication-tokens`, undefined, token);
  expect(tokens.body.data.map((t: any) => t.attributes.description)).toContain("terraform login");
});
