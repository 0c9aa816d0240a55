import { loadWorkerEnv } from "../src/env";
import { terraformBaseEnv } from "@tarmac/runner";

describe("worker configuration", () => {
  it("has defaults for everything and no database setting", () => {
    const env = loadWorkerEnv({});
    expect(env).toMatchObject({
      TARMAC_NATS_PREFIX: "tarmac",
      TARMAC_QUEUE_PREFIX: "tarmac",
      WORKER_CONCURRENCY: 2,
      HEALTH_PORT: 8082,
      TARMAC_HEARTBEAT_INTERVAL_MS: 5000,
      TARMAC_TERRAFORM_ENV_PASSTHROUGH: [],
    });
    expect(env.TARMAC_TERRAFORM_BIN).toBeUndefined();
    expect(env.TARMAC_WORK_DIR).toMatch(/tarmac-worker$/);
    expect(env.TARMAC_WORKER_ID).toMatch(/-\d+$/);
    expect("DATABASE_URL" in env).toBe(false);
  });

  it("refuses bad values, naming each variable", () => {
    expect(() => loadWorkerEnv({ WORKER_CONCURRENCY: "0", REDIS_URL: "localhost:6379" })).toThrow(/WORKER_CONCURRENCY.*REDIS_URL|REDIS_URL.*WORKER_CONCURRENCY/);
    expect(() => loadWorkerEnv({ TARMAC_TERRAFORM_ENV_PASSTHROUGH: "AWS_PROFILE,bad name" })).toThrow(/TARMAC_TERRAFORM_ENV_PASSTHROUGH/);
  });

  it("takes WORKER_HEALTH_PORT over HEALTH_PORT (0 = any free port) and names it when bad", () => {
    expect(loadWorkerEnv({ HEALTH_PORT: "9002", WORKER_HEALTH_PORT: "0" }).WORKER_HEALTH_PORT).toBe(0);
    expect(loadWorkerEnv({ HEALTH_PORT: "9002" }).WORKER_HEALTH_PORT).toBeUndefined();
    expect(() => loadWorkerEnv({ WORKER_HEALTH_PORT: "x" })).toThrow(/WORKER_HEALTH_PORT/);
  });

  it("lets terraform inherit only the basics and the configured passthrough", () => {
    const env = terraformBaseEnv({ PATH: "/bin", REDIS_URL: "redis://secret", NATS_URL: "nats://x", AWS_PROFILE: "prod" }, ["AWS_PROFILE"]);
    expect(env).toEqual({ PATH: "/bin", AWS_PROFILE: "prod" });
  });
});
