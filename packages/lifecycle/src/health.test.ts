import { recordingLogger } from "./__fixtures__/recording-logger";
import { type HealthCheck, type HealthServer, startHealthServer } from "./index";

const servers: HealthServer[] = [];

let log = recordingLogger();

async function start(checks: Record<string, HealthCheck>, extra: { checkTimeoutMs?: number; isShuttingDown?: () => boolean } = {}) {
  log = recordingLogger();
  const server = await startHealthServer({ port: 0, host: "127.0.0.1", checks, logger: log.logger, ...extra });
  servers.push(server);
  return server;
}

async function get(server: HealthServer, path: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const response = await fetch(`http://127.0.0.1:${server.port}${path}`);
  return { status: response.status, body: await response.json(), headers: response.headers };
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe("health server", () => {
  it("answers /healthz with 200 while the process lives, whatever its dependencies", async () => {
    const server = await start({ postgres: async () => Promise.reject(new Error("down")) });
    expect(server.port).toBeGreaterThan(0);
    const { status, body, headers } = await get(server, "/healthz");
    expect(status).toBe(200);
    expect(body).toEqual({ status: "ok" });
    expect(headers.get("cache-control")).toBe("no-store");
  });

  it("answers /readyz with 200 and every check ok", async () => {
    const server = await start({ postgres: async () => undefined, redis: async () => undefined });
    const { status, body } = await get(server, "/readyz");
    expect(status).toBe(200);
    expect(body).toEqual({ status: "ok", checks: { postgres: { status: "ok" }, redis: { status: "ok" } } });
  });

  it("flips /readyz to 503 naming the failing check, logging (not answering) its error, and back", async () => {
    let isRedisUp = true;
    const server = await start({
      postgres: async () => undefined,
      redis: async () => {
        if (!isRedisUp) throw new Error("connect ECONNREFUSED 127.0.0.1:6379");
      },
    });
    expect((await get(server, "/readyz")).status).toBe(200);

    isRedisUp = false;
    const { status, body, headers } = await get(server, "/readyz");
    expect(status).toBe(503);
    expect(headers.get("retry-after")).toBe("5");
    expect(body).toEqual({
      status: "unavailable",
      checks: {
        postgres: { status: "ok" },
        redis: { status: "failed" },
      },
    });
    expect(log.entries).toContainEqual(expect.objectContaining({ level: "warn", check: "redis", error: "connect ECONNREFUSED 127.0.0.1:6379" }));

    isRedisUp = true;
    expect((await get(server, "/readyz")).status).toBe(200);
  });

  it("fails a check that does not answer within the default 2 s, running checks in parallel", async () => {
    const hang: HealthCheck = () => new Promise<void>(() => undefined);
    const server = await start({ postgres: hang, nats: hang });
    const startedAt = Date.now();
    const { status, body } = await get(server, "/readyz");
    const elapsedMs = Date.now() - startedAt;
    expect(status).toBe(503);
    expect(body).toEqual({
      status: "unavailable",
      checks: {
        postgres: { status: "failed" },
        nats: { status: "failed" },
      },
    });
    expect(elapsedMs).toBeGreaterThanOrEqual(1_900);
    expect(elapsedMs).toBeLessThan(3_500);
  });

  it("reports a check that throws synchronously", async () => {
    const server = await start({
      broken: (() => {
        throw new Error("not connected");
      }) as HealthCheck,
    });
    const { status, body } = await get(server, "/readyz");
    expect(status).toBe(503);
    expect(body).toEqual({ status: "unavailable", checks: { broken: { status: "failed" } } });
    expect(log.entries).toContainEqual(expect.objectContaining({ check: "broken", error: "not connected" }));
  });

  it("answers /readyz with 503 while shutting down, without running checks", async () => {
    let isShuttingDown = false;
    let checkRuns = 0;
    const server = await start({ postgres: async () => void checkRuns++ }, { isShuttingDown: () => isShuttingDown });
    expect((await get(server, "/readyz")).status).toBe(200);
    isShuttingDown = true;
    const { status, body } = await get(server, "/readyz");
    expect(status).toBe(503);
    expect(body).toEqual({ status: "shutting_down", checks: {} });
    expect(checkRuns).toBe(1);
    expect((await get(server, "/healthz")).status).toBe(200);
  });

  it("frees its port on close", async () => {
    const server = await start({});
    await get(server, "/healthz");
    await server.close();
    await expect(fetch(`http://127.0.0.1:${server.port}/healthz`)).rejects.toThrow();
  });

  it("rejects when the port is taken", async () => {
    const first = await start({});
    await expect(
      startHealthServer({ port: first.port, host: "127.0.0.1", checks: {}, logger: recordingLogger().logger }),
    ).rejects.toThrow(/EADDRINUSE/);
  });
});
