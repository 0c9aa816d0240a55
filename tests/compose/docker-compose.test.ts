import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";

/**
 * Validates docker-compose.yml offline with docker-compose v1's `config` (no Docker engine
 * needed) and checks the deployment's invariants on its normalized output.
 */

const repoRoot = path.resolve(__dirname, "../..");
const INSTALL_HINT =
  "docker-compose is not installed. Install the Debian package `docker-compose` " +
  "(apt-get update && apt-get install -y docker-compose); this test validates docker-compose.yml with `docker-compose config`.";

interface Service {
  image?: string;
  build?: { context?: string };
  command?: string[];
  container_name?: string;
  ports?: unknown[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] };
  volumes?: string[];
}

interface NormalizedCompose {
  services: Record<string, Service>;
}

function runComposeConfig(): NormalizedCompose {
  const result = spawnSync("docker-compose", ["-f", "docker-compose.yml", "config"], {
    cwd: repoRoot,
    encoding: "utf8",
    // Only what the tool needs: variables from the caller's shell must not change the output.
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", LANG: "C.UTF-8" },
    timeout: 60_000,
  });
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === "ENOENT") throw new Error(INSTALL_HINT);
  if (result.error) throw result.error;
  if (result.status !== 0) {
    throw new Error(`docker-compose config exited ${result.status}:\n${result.stderr}`);
  }
  return parse(result.stdout) as NormalizedCompose;
}

function service(compose: NormalizedCompose, name: string): Service {
  const found = compose.services[name];
  if (!found) throw new Error(`docker-compose.yml has no service ${name}`);
  return found;
}

describe("docker-compose.yml", () => {
  let compose: NormalizedCompose;

  beforeAll(() => {
    compose = runComposeConfig();
  });

  it("passes `docker-compose config` and defines the infrastructure, the migration and the four apps", () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ["gateway", "migrate", "nats", "notifier", "postgres", "redis", "scheduler", "worker"].sort(),
    );
  });

  it("runs PostgreSQL 15 with a pg_isready healthcheck and a volume", () => {
    const postgres = service(compose, "postgres");
    expect(postgres.image).toBe("postgres:15");
    expect(postgres.healthcheck?.test).toEqual(expect.arrayContaining(["pg_isready"]));
    expect(postgres.volumes).toEqual([expect.stringMatching(/:\/var\/lib\/postgresql\/data/)]);
  });

  it("runs Redis with noeviction (BullMQ loses jobs otherwise) and AOF persistence", () => {
    const redis = service(compose, "redis");
    expect(redis.image).toMatch(/^redis:7/);
    const command = redis.command?.join(" ") ?? "";
    expect(command).toContain("--maxmemory-policy noeviction");
    expect(command).toContain("--appendonly yes");
    expect(redis.volumes).toEqual([expect.stringMatching(/:\/data/)]);
  });

  it("runs NATS 2.10 with JetStream storing to a volume", () => {
    const nats = service(compose, "nats");
    expect(nats.image).toMatch(/^nats:2\.10/);
    expect(nats.command).toContain("-js");
    expect(nats.command?.join(" ")).toContain("-sd /data");
    expect(nats.volumes).toEqual([expect.stringMatching(/:\/data/)]);
  });

  it("builds every app from the repository's Dockerfile and starts each app's entry", () => {
    for (const app of ["gateway", "scheduler", "worker", "notifier"]) {
      const definition = service(compose, app);
      expect(definition.build?.context).toBe(repoRoot);
      expect(definition.command?.join(" ")).toContain(`apps/${app}/src/main.ts`);
    }
    expect(service(compose, "migrate").command?.join(" ")).toBe("npx prisma migrate deploy");
  });

  it("starts the apps only once their dependencies are healthy and the schema is migrated", () => {
    for (const app of ["gateway", "scheduler"]) {
      expect(service(compose, app).depends_on).toEqual({
        postgres: { condition: "service_healthy" },
        redis: { condition: "service_healthy" },
        nats: { condition: "service_healthy" },
        migrate: { condition: "service_completed_successfully" },
      });
    }
    // The notifier needs no Redis: its deliveries and their retries live in PostgreSQL.
    expect(service(compose, "notifier").depends_on).toEqual({
      postgres: { condition: "service_healthy" },
      nats: { condition: "service_healthy" },
      migrate: { condition: "service_completed_successfully" },
    });
    expect(service(compose, "migrate").depends_on).toEqual({ postgres: { condition: "service_healthy" } });
  });

  it("publishes the gateway on 8080 and gives it the connection settings", () => {
    const gateway = service(compose, "gateway");
    expect(JSON.stringify(gateway.ports)).toContain("8080");
    expect(gateway.environment).toMatchObject({
      PORT: "8080",
      DATABASE_URL: expect.stringMatching(/^postgresql:\/\/.*@postgres:5432\//),
      REDIS_URL: "redis://redis:6379",
      NATS_URL: "nats://nats:4222",
      TARMAC_ADMIN_TOKEN: "",
    });
  });

  it("lets workers scale out: no container name, no host port", () => {
    const worker = service(compose, "worker");
    expect(worker.container_name).toBeUndefined();
    expect(worker.ports).toBeUndefined();
    expect(worker.environment).toMatchObject({
      TARMAC_GATEWAY_URL: "http://gateway:8080",
      REDIS_URL: "redis://redis:6379",
      NATS_URL: "nats://nats:4222",
      TARMAC_TERRAFORM_BIN: expect.any(String),
      WORKER_CONCURRENCY: expect.stringMatching(/^\d+$/),
    });
  });

  it("gives workers no database credentials (they run untrusted configurations)", () => {
    const worker = service(compose, "worker");
    expect(worker.environment).not.toHaveProperty("DATABASE_URL");
    expect(worker.depends_on).not.toHaveProperty("postgres");
  });

  it("publishes the infrastructure on the loopback interface only", () => {
    for (const name of ["postgres", "redis", "nats"]) {
      for (const port of service(compose, name).ports ?? []) {
        expect(String(port)).toMatch(/^127\.0\.0\.1:/);
      }
    }
  });
});

describe("Docker build context", () => {
  it("keeps node_modules out of the image's build context", () => {
    const ignored = readFileSync(path.join(repoRoot, ".dockerignore"), "utf8").split("\n").map((l) => l.trim());
    expect(ignored).toEqual(expect.arrayContaining(["node_modules", "**/node_modules", ".git"]));
  });

  it("builds on Node 20 and runs the gateway by default", () => {
    const dockerfile = readFileSync(path.join(repoRoot, "Dockerfile"), "utf8");
    expect(dockerfile).toMatch(/^FROM node:20-bookworm-slim$/m);
    expect(dockerfile).toMatch(/npm ci/);
    expect(dockerfile).toMatch(/prisma generate/);
    expect(dockerfile).toMatch(/^CMD \[.*"apps\/gateway\/src\/main\.ts"\]$/m);
  });
});
