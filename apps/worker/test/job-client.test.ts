import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { freePort } from "@tarmac/testing";
import { createJobClient, JobApiError } from "@tarmac/runner";
import { parseRetryAfter, retryDelayMs, DEFAULT_RETRY_POLICY } from "@tarmac/runner";

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

/** A stand-in gateway on a free port whose answers each test scripts. */
async function serve(port: number, handler: Handler): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handler(req, Buffer.concat(chunks), res));
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return server;
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));
const fast = { initialDelayMs: 20, maxDelayMs: 200, budgetMs: 10_000 };

describe("job client retries", () => {
  it("honours 503 + Retry-After and delivers the same upload once the gateway answers", async () => {
    const port = await freePort();
    const bodies: string[] = [];
    const times: number[] = [];
    const server = await serve(port, (req, body, res) => {
      times.push(Date.now());
      bodies.push(body.toString());
      if (bodies.length < 3) res.writeHead(503, { "retry-after": "1" }).end();
      else res.writeHead(204).end();
    });
    try {
      const client = createJobClient(`http://127.0.0.1:${port}/_jobs/run-1/secret`, { retry: fast });
      await client.putPlanFile(Buffer.from("plan-bytes"));
      expect(bodies).toEqual(["plan-bytes", "plan-bytes", "plan-bytes"]);
      // Retry-After: 1 is waited out, not the 20 ms backoff.
      expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(950);
    } finally {
      await close(server);
    }
  });

  it("retries a refused connection until the gateway is back", async () => {
    const port = await freePort();
    let server: Server | undefined;
    const client = createJobClient(`http://127.0.0.1:${port}/_jobs/run-1/secret`, { retry: fast });
    const upload = client.putState(Buffer.from("{}"));
    // The first attempts find nothing listening.
    await new Promise((resolve) => setTimeout(resolve, 300));
    let received = 0;
    server = await serve(port, (_req, _body, res) => {
      received++;
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
    try {
      await upload;
      expect(received).toBe(1);
    } finally {
      await close(server);
    }
  });

  it("does not retry an answer that will not change (4xx)", async () => {
    const port = await freePort();
    let received = 0;
    const server = await serve(port, (_req, _body, res) => {
      received++;
      res.writeHead(409, { "content-type": "application/json" }).end('{"errors":[]}');
    });
    try {
      const client = createJobClient(`http://127.0.0.1:${port}/_jobs/run-1/secret`, { retry: fast });
      await expect(client.putState(Buffer.from("{}"))).rejects.toMatchObject({ status: 409 });
      expect(received).toBe(1);
    } finally {
      await close(server);
    }
  });

  it("gives up with the last status once its budget is spent", async () => {
    const port = await freePort();
    let received = 0;
    const server = await serve(port, (_req, _body, res) => {
      received++;
      res.writeHead(500).end();
    });
    try {
      const client = createJobClient(`http://127.0.0.1:${port}/_jobs/run-1/secret`, { retry: { ...fast, budgetMs: 500 } });
      const failure = await client.putPlanFile(Buffer.from("x")).catch((err: unknown) => err);
      expect(failure).toBeInstanceOf(JobApiError);
      expect((failure as JobApiError).status).toBe(500);
      expect(received).toBeGreaterThan(2);
    } finally {
      await close(server);
    }
  });
});

describe("retry timing", () => {
  it("reads Retry-After as seconds or an HTTP date, capped at a minute", () => {
    const now = Date.parse("2026-11-30T12:00:00Z");
    expect(parseRetryAfter("3", now)).toBe(3000);
    expect(parseRetryAfter("Mon, 30 Nov 2026 12:00:05 GMT", now)).toBe(5000);
    expect(parseRetryAfter("3600", now)).toBe(60_000);
    expect(parseRetryAfter("soon", now)).toBeNull();
    expect(parseRetryAfter(null, now)).toBeNull();
  });

  it("backs off exponentially up to its ceiling without a Retry-After", () => {
    expect([1, 2, 3, 10].map((a) => retryDelayMs(DEFAULT_RETRY_POLICY, a, null))).toEqual([500, 1000, 2000, 10_000]);
    expect(retryDelayMs(DEFAULT_RETRY_POLICY, 4, 1500)).toBe(1500);
  });
});
