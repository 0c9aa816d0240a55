import { z } from "zod";
import { ConfigError, commonEnv, databaseEnv, natsEnv, parseEnv, port, redisEnv } from "./index";

const appEnv = z.object({ ...commonEnv, ...databaseEnv, ...redisEnv, ...natsEnv, PORT: port(8080) });

function configErrorOf(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("parseEnv", () => {
  it("applies every default when the environment is empty", () => {
    const env = parseEnv(appEnv, {});
    expect(env).toEqual({
      LOG_LEVEL: "info",
      SHUTDOWN_TIMEOUT_MS: 10_000,
      DATABASE_URL: "postgresql://postgres@127.0.0.1:5432/tarmac",
      REDIS_URL: "redis://127.0.0.1:6379",
      NATS_URL: "nats://127.0.0.1:4222",
      NATS_STREAM_REPLICAS: 1,
      REDIS_SENTINEL_NAME: "mymaster",
      PORT: 8080,
    });
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
    expect(env.OTEL_SERVICE_NAME).toBeUndefined();
  });

  it("reads given values and ignores unrelated variables", () => {
    const env = parseEnv(appEnv, {
      PORT: "9090",
      LOG_LEVEL: "DEBUG",
      SHUTDOWN_TIMEOUT_MS: "2500",
      DATABASE_URL: "postgres://tarmac:pw@db:5432/tarmac?sslmode=require",
      REDIS_URL: "rediss://cache:6380/2",
      NATS_URL: "tls://nats:4222",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_SERVICE_NAME: "tarmac-gateway",
      HOME: "/root",
    });
    expect(env).toEqual({
      PORT: 9090,
      LOG_LEVEL: "debug",
      SHUTDOWN_TIMEOUT_MS: 2500,
      DATABASE_URL: "postgres://tarmac:pw@db:5432/tarmac?sslmode=require",
      REDIS_URL: "rediss://cache:6380/2",
      NATS_URL: "tls://nats:4222",
      NATS_STREAM_REPLICAS: 1,
      REDIS_SENTINEL_NAME: "mymaster",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318",
      OTEL_SERVICE_NAME: "tarmac-gateway",
    });
  });

  it("treats empty values as unset so compose's ${VAR:-} falls back to defaults", () => {
    const env = parseEnv(appEnv, { PORT: "", OTEL_EXPORTER_OTLP_ENDPOINT: "  ", LOG_LEVEL: "" });
    expect(env.PORT).toBe(8080);
    expect(env.LOG_LEVEL).toBe("info");
    expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBeUndefined();
  });

  it("names the bad variable, what it expected and what it got", () => {
    expect(() => parseEnv(appEnv, { PORT: "abc" })).toThrow(
      'Invalid configuration: PORT: expected an integer between 1 and 65535, got "abc"',
    );
  });

  it("reports every bad variable at once", () => {
    const error = configErrorOf(() =>
      parseEnv(appEnv, {
        PORT: "70000",
        REDIS_URL: "http://cache:6379",
        SHUTDOWN_TIMEOUT_MS: "-5",
        LOG_LEVEL: "loud",
      }),
    );
    expect(error.issues.map((i) => i.variable).sort()).toEqual([
      "LOG_LEVEL",
      "PORT",
      "REDIS_URL",
      "SHUTDOWN_TIMEOUT_MS",
    ]);
    expect(error.message).toContain('REDIS_URL: expected a URL starting with redis:// or rediss://, got "http://cache:6379"');
    expect(error.message).toContain("LOG_LEVEL: expected one of fatal, error, warn, info, debug, trace, silent");
  });

  it("never echoes a password embedded in a bad URL", () => {
    const error = configErrorOf(() => parseEnv(appEnv, { DATABASE_URL: "mysql://admin:s3cret@db/tarmac" }));
    expect(error.message).toContain('DATABASE_URL: expected a URL starting with postgresql:// or postgres://, got "mysql://admin:***@db/tarmac"');
    expect(error.message).not.toContain("s3cret");
  });

  it("says a variable without a default is required", () => {
    const schema = z.object({ TARMAC_ADMIN_TOKEN: z.string().min(16), HEALTH_PORT: port() });
    const error = configErrorOf(() => parseEnv(schema, {}));
    expect(error.issues).toEqual([
      { variable: "TARMAC_ADMIN_TOKEN", message: "is required but not set" },
      { variable: "HEALTH_PORT", message: "is required but not set" },
    ]);
  });

  it("does not echo values for plain zod fields, which may hold secrets", () => {
    const schema = z.object({ TARMAC_ADMIN_TOKEN: z.string().min(16) });
    const error = configErrorOf(() => parseEnv(schema, { TARMAC_ADMIN_TOKEN: "short-secret" }));
    expect(error.message).toMatch(/^Invalid configuration: TARMAC_ADMIN_TOKEN: /);
    expect(error.message).not.toContain("short-secret");
  });

  it("reads process.env when no environment is given", () => {
    const schema = z.object({ TARMAC_CONFIG_TEST_VALUE: port() });
    process.env.TARMAC_CONFIG_TEST_VALUE = "4321";
    try {
      expect(parseEnv(schema).TARMAC_CONFIG_TEST_VALUE).toBe(4321);
    } finally {
      delete process.env.TARMAC_CONFIG_TEST_VALUE;
    }
  });
});
