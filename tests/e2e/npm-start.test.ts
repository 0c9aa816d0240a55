import { spawn } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { createTestDatabase, freePort, REPO_ROOT, waitFor, type TestDatabase } from "@tarmac/testing";

/**
 * The README's first command: `npm start` prepares the checkout and runs the
 * gateway, the scheduler, a worker and the notifier with prefixed logs; SIGINT
 * (Ctrl-C) stops them all cleanly.
 */
describe("npm start", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("serves the API with the admin token, runs all four processes, and stops them on Ctrl-C", async () => {
    // The checkout is prepared already (npm test generated the client): `npm start` must leave the
    // generated client alone, which other test suites are importing meanwhile.
    const client = path.join(REPO_ROOT, "packages/db/src/generated/prisma/client.ts");
    const clientBefore = statSync(client);
    const port = await freePort();
    const prefix = `start${Date.now()}`;
    const child = spawn("npm", ["start"], {
      cwd: REPO_ROOT,
      detached: true,
      env: {
        ...process.env,
        PORT: String(port),
        DATABASE_URL: database.url,
        TARMAC_ADMIN_TOKEN: "start-test-token",
        TARMAC_NATS_PREFIX: prefix,
        TARMAC_QUEUE_PREFIX: prefix,
        HEALTH_PORT: "0",
        // Plain HTTP even where `npm run dev-cert` left a certificate in .tarmac/.
        TARMAC_TLS_CERT_FILE: "",
        TARMAC_TLS_KEY_FILE: "",
        TARMAC_TERRAFORM_BIN: path.join(REPO_ROOT, "packages/terraform/test/terraform-double/terraform"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const ping = await waitFor(
        async () => {
          const res = await fetch(`http://127.0.0.1:${port}/api/v2/ping`).catch(() => null);
          return res ?? undefined;
        },
        // It installs if needed, generates the Prisma client, migrates and builds the apps first.
        { timeoutMs: 180_000, intervalMs: 250, what: "the gateway to answer /api/v2/ping" },
      );
      expect(ping.status).toBe(204);
      const clientAfter = statSync(client);
      expect([clientAfter.ino, clientAfter.mtimeMs]).toEqual([clientBefore.ino, clientBefore.mtimeMs]);
      expect(output).toContain("Prisma client in packages/db/src/generated is up to date");
      expect(ping.headers.get("tfp-api-version")).toBeTruthy();
      const me = await fetch(`http://127.0.0.1:${port}/api/v2/account/details`, {
        headers: { Authorization: "Bearer start-test-token" },
      });
      expect(me.status).toBe(200);
      // The compiled gateway serves the web UI that `turbo run build` wrote to packages/web-ui/dist.
      const app = await fetch(`http://127.0.0.1:${port}/app/some-org/some-ws/runs/run-abc`);
      expect(app.status).toBe(200);
      const html = await app.text();
      const script = /src="(\/app\/assets\/main-[A-Z0-9]+\.js)"/.exec(html)?.[1];
      expect(script).toBeDefined();
      expect(readdirSync(path.join(REPO_ROOT, "packages/web-ui/dist/assets"))).toContain(path.basename(script!));
      expect((await fetch(`http://127.0.0.1:${port}${script}`)).headers.get("cache-control")).toContain("immutable");
      await waitFor(() => (/\[scheduler\]/.test(output) && /\[worker\]/.test(output) && /\[notifier\].*notifier started/.test(output) ? true : undefined), {
        timeoutMs: 60_000,
        what: "prefixed scheduler, worker and notifier logs",
      });
    } finally {
      // Ctrl-C reaches the whole foreground process group.
      process.kill(-child.pid!, "SIGINT");
    }
    const code = await Promise.race([exited, new Promise<string>((r) => setTimeout(() => r("timeout"), 30_000))]);
    child.stdout.destroy();
    child.stderr.destroy();
    expect(code).not.toBe("timeout");
    expect(output).not.toMatch(/exited with code [1-9]/);
    const res = await fetch(`http://127.0.0.1:${port}/api/v2/ping`).catch(() => null);
    expect(res).toBeNull();
  }, 300_000);
});
