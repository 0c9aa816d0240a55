import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { freePort, makeTestCertificates } from "@tarmac/testing";
import { createJobClient } from "@tarmac/runner";

/** A worker that cannot reach the gateway says where it tried and why, never the job's secret. */
describe("job client errors", () => {
  let dir: string;
  let server: https.Server;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), "tarmac-worker-tls-"));
    const certs = makeTestCertificates(dir);
    server = https.createServer({ cert: readFileSync(certs.cert), key: readFileSync(certs.key) }, (_req, res) => res.end("{}"));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  }, 30_000);
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it("names the gateway and an untrusted certificate, with the ways to fix it", async () => {
    const client = createJobClient(`https://localhost:${port}/_jobs/run-x/very-secret`, { retry: { budgetMs: 0 } });
    const err = await client.getSpec().catch((e: Error) => e);
    expect((err as Error).message).toContain(`GET /spec failed: the gateway at https://localhost:${port} presented a certificate this worker does not trust`);
    expect((err as Error).message).toContain("TARMAC_INTERNAL_PORT");
    expect((err as Error).message).not.toContain("very-secret");
  });

  it("names the gateway and a refused connection", async () => {
    const closed = await freePort();
    const client = createJobClient(`http://127.0.0.1:${closed}/_jobs/run-x/very-secret`, { retry: { budgetMs: 0 } });
    const err = await client.getSpec().catch((e: Error) => e);
    expect((err as Error).message).toBe(
      `GET /spec failed: cannot reach the gateway at http://127.0.0.1:${closed}: connection refused: is the gateway listening there? (ECONNREFUSED)`,
    );
  });

  it("says when the gateway does not answer within the request's timeout", async () => {
    const plain = await import("node:http");
    const s = plain.createServer(() => {
      // Never answers.
    });
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    try {
      const p = (s.address() as { port: number }).port;
      const err = await createJobClient(`http://127.0.0.1:${p}/_jobs/run-x/very-secret`, { retry: { budgetMs: 0 }, timeoutMs: 200 })
        .getSpec()
        .catch((e: Error) => e);
      expect((err as Error).message).toBe(`GET /spec failed: the gateway at http://127.0.0.1:${p} did not answer in time`);
    } finally {
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });

  it("says when an HTTPS URL reaches a plain-HTTP port", async () => {
    const plain = await import("node:http");
    const s = plain.createServer((_req, res) => res.end());
    await new Promise<void>((resolve) => s.listen(0, "127.0.0.1", resolve));
    try {
      const p = (s.address() as { port: number }).port;
      const err = await createJobClient(`https://127.0.0.1:${p}/_jobs/run-x/very-secret`, { retry: { budgetMs: 0 } })
        .getSpec()
        .catch((e: Error) => e);
      expect((err as Error).message).toMatch(new RegExp(`cannot reach the gateway at https://127\\.0\\.0\\.1:${p}: `));
      expect((err as Error).message).not.toContain("very-secret");
    } finally {
      await new Promise<void>((resolve) => s.close(() => resolve()));
    }
  });
});
