import { createServer, connect, type Server, type Socket } from "node:net";
import { freePort, startGatewayTestEnv, waitFor, type GatewayTestEnv } from "@tarmac/testing";

/**
 * A dependency outage answers 503 with Retry-After and a JSON:API document that shows no
 * internal error text. The gateway reaches PostgreSQL and Redis through TCP relays owned by
 * this file; closing a relay is an outage of that dependency for this gateway alone (the
 * machine's shared services keep running).
 */
interface Relay {
  port: number;
  close(): Promise<void>;
}

async function startRelay(targetPort: number): Promise<Relay> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, "127.0.0.1");
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("close", () => sockets.delete(s));
      s.on("error", () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

const INTERNAL_TEXT = /127\.0\.0\.1|ECONNREFUSED|ECONNRESET|Can't reach|prisma|Prisma|P10\d\d|postgres(ql)?:\/\/|redis:\/\/|stack|at .*\.ts/;

let pgRelay: Relay;
let redisRelay: Relay;
let env: GatewayTestEnv;

beforeAll(async () => {
  pgRelay = await startRelay(5432);
  redisRelay = await startRelay(6379);
  const pgBase = process.env.TARMAC_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432";
  const viaRelay = (url: string) => url.replace(/@127\.0\.0\.1:5432\//, `@127.0.0.1:${pgRelay.port}/`);
  expect(pgBase).toContain("127.0.0.1:5432");
  env = await startGatewayTestEnv(
    { REDIS_URL: `redis://127.0.0.1:${redisRelay.port}`, TARMAC_RATE_LIMIT_PER_SECOND: "1000" },
    { rewriteDatabaseUrl: viaRelay },
  );
}, 120_000);

afterAll(async () => {
  await env?.close();
  await pgRelay?.close();
  await redisRelay?.close();
});

async function get(path: string, token?: string): Promise<{ status: number; retryAfter: string | null; text: string; type: string | null }> {
  const res = await fetch(`${env.gateway.url}${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  return { status: res.status, retryAfter: res.headers.get("retry-after"), text: await res.text(), type: res.headers.get("content-type") };
}

describe("dependency outages", () => {
  it("answers normally while both dependencies are up", async () => {
    expect((await get("/readyz")).status).toBe(200);
    expect((await get("/api/v2/organizations", env.gateway.adminToken)).status).toBe(200);
  });

  it("keeps serving the API, rate limits failing open, while Redis is down; /readyz names redis without its error", async () => {
    await redisRelay.close();
    const ready = await waitFor(async () => {
      const r = await get("/readyz");
      return r.status === 503 ? r : undefined;
    }, { timeoutMs: 15_000, what: "/readyz to report redis down" });
    expect(ready.retryAfter).toMatch(/^\d+$/);
    expect(JSON.parse(ready.text)).toEqual({ status: "unavailable", checks: { postgres: { status: "ok" }, redis: { status: "failed" } } });
    expect(ready.text).not.toMatch(INTERNAL_TEXT);
    // Rate limits protect capacity; they are not worth failing every request over.
    expect((await get("/api/v2/organizations", env.gateway.adminToken)).status).toBe(200);
  });

  it("answers 503 with Retry-After and no internal text while PostgreSQL is down, on the API and on /readyz", async () => {
    await pgRelay.close();
    // A token the gateway has not cached yet: authentication itself needs the database.
    const api = await waitFor(async () => {
      const r = await get("/api/v2/organizations", `never-seen-${Date.now()}`);
      return r.status === 503 ? r : undefined;
    }, { timeoutMs: 30_000, what: "the API to answer 503" });
    expect(api.retryAfter).toMatch(/^\d+$/);
    expect(api.type).toMatch(/^application\/vnd\.api\+json/);
    const doc = JSON.parse(api.text);
    expect(doc.errors).toEqual([expect.objectContaining({ status: "503", title: "service unavailable" })]);
    expect(api.text).not.toMatch(INTERNAL_TEXT);

    // The admin token, cached or not, reaches a route that queries the database.
    const listed = await waitFor(async () => {
      const r = await get("/api/v2/organizations", env.gateway.adminToken);
      return r.status === 503 ? r : undefined;
    }, { timeoutMs: 30_000, what: "an authenticated route to answer 503" });
    expect(listed.retryAfter).toMatch(/^\d+$/);
    expect(listed.text).not.toMatch(INTERNAL_TEXT);

    const ready = await get("/readyz");
    expect(ready.status).toBe(503);
    expect(ready.retryAfter).toMatch(/^\d+$/);
    expect(JSON.parse(ready.text)).toEqual({ status: "unavailable", checks: { postgres: { status: "failed" }, redis: { status: "failed" } } });
    expect(ready.text).not.toMatch(INTERNAL_TEXT);
    expect(env.gateway.process.output()).not.toMatch(/"level":50|"level":"error"/);
  }, 90_000);
});
