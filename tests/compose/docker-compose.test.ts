import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { parse } from "yaml";

/**
 * Validates docker-compose.yml and docker-compose.cluster.yml offline with docker-compose v1's `config` (no Docker engine
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
  scale?: number;
  networks?: Record<string, { aliases?: string[] } | null>;
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] };
  volumes?: string[];
}

interface NormalizedCompose {
  services: Record<string, Service>;
}

function runComposeConfig(file = "docker-compose.yml"): NormalizedCompose {
  const result = spawnSync("docker-compose", ["-f", file, "config"], {
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
  if (!found) throw new Error(`the compose file has no service ${name}`);
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
      // Compiled JavaScript, with source maps for stack traces (the image builds it).
      expect(definition.command).toEqual(["node", "--enable-source-maps", `apps/${app}/dist/main.js`]);
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

describe("docker-compose.cluster.yml", () => {
  let compose: NormalizedCompose;
  const env = (name: string) => service(compose, name).environment ?? {};

  beforeAll(() => {
    compose = runComposeConfig("docker-compose.cluster.yml");
  });

  it("passes `docker-compose config` and describes every tier replicated", () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        "postgres", "pgbouncer", "migrate",
        "redis-1", "redis-2", "redis-3", "redis-4", "redis-5", "redis-6", "redis-cluster-init",
        "nats-1", "nats-2", "nats-3",
        "gateway-1", "gateway-2", "scheduler", "worker",
      ].sort(),
    );
  });

  it("runs 2 gateways on a port each, 2 schedulers and 3 workers", () => {
    const hostPorts = ["gateway-1", "gateway-2"].map((g) => JSON.stringify(service(compose, g).ports));
    expect(hostPorts[0]).toContain("8080");
    expect(hostPorts[1]).toContain("8081");
    expect(service(compose, "scheduler").scale).toBe(2);
    expect(service(compose, "worker").scale).toBe(3);
    for (const g of ["gateway-1", "gateway-2"]) expect(service(compose, g).networks?.default?.aliases).toContain("gateway");
    expect(env("worker").TARMAC_GATEWAY_URL).toBe("http://gateway:8080");
    expect(env("scheduler").TARMAC_GATEWAY_URL).toBe("http://gateway:8080");
  });

  it("makes a 6-node Redis Cluster with one replica per primary, and points every app at all its nodes", () => {
    for (let n = 1; n <= 6; n++) {
      const command = service(compose, `redis-${n}`).command?.join(" ") ?? "";
      expect(command).toContain("--cluster-enabled yes");
      expect(command).toContain("--maxmemory-policy noeviction");
    }
    const init = service(compose, "redis-cluster-init").command?.join(" ") ?? "";
    expect(init).toContain("--cluster create");
    expect(init).toContain("--cluster-replicas 1");
    for (const app of ["gateway-1", "gateway-2", "scheduler", "worker"]) {
      expect(env(app).REDIS_CLUSTER_NODES?.split(",")).toHaveLength(6);
      expect(env(app)).not.toHaveProperty("REDIS_URL");
    }
  });

  it("makes a 3-server NATS JetStream cluster and keeps the stream at 3 replicas", () => {
    for (let n = 1; n <= 3; n++) {
      const command = service(compose, `nats-${n}`).command?.join(" ") ?? "";
      expect(command).toContain("-js");
      expect(command).toMatch(/--cluster_name \S+/);
      expect(command).toMatch(/--routes nats:\/\/nats-\d:6222,nats:\/\/nats-\d:6222/);
      expect(command).not.toContain(`nats-${n}:6222`);
    }
    for (const app of ["gateway-1", "gateway-2", "scheduler", "worker"]) {
      expect(env(app).NATS_URL?.split(",")).toHaveLength(3);
      expect(env(app).NATS_STREAM_REPLICAS).toBe("3");
    }
  });

  it("queries through PgBouncer in transaction mode, LISTENs and migrates direct", () => {
    expect(env("pgbouncer").POOL_MODE).toBe("transaction");
    for (const app of ["gateway-1", "gateway-2", "scheduler"]) {
      expect(env(app).DATABASE_URL).toMatch(/@pgbouncer:5432\/tarmac\?pgbouncer=true$/);
      expect(env(app).TARMAC_DB_POOL_SIZE).toMatch(/^\d+$/);
    }
    for (const g of ["gateway-1", "gateway-2"]) expect(env(g).DATABASE_DIRECT_URL).toMatch(/@postgres:5432\/tarmac$/);
    expect(env("migrate").DATABASE_URL).toMatch(/@postgres:5432\/tarmac$/);
    expect(env("worker")).not.toHaveProperty("DATABASE_URL");
    expect(env("worker")).not.toHaveProperty("DATABASE_DIRECT_URL");
  });

  it("starts the apps once the clusters are formed and the schema is migrated", () => {
    for (const app of ["gateway-1", "gateway-2", "scheduler"]) {
      expect(service(compose, app).depends_on).toMatchObject({
        pgbouncer: { condition: "service_healthy" },
        "redis-cluster-init": { condition: "service_completed_successfully" },
        "nats-1": { condition: "service_healthy" },
        migrate: { condition: "service_completed_successfully" },
      });
    }
  });

  it("publishes no infrastructure port", () => {
    for (const name of ["postgres", "pgbouncer", "redis-1", "nats-1"]) expect(service(compose, name).ports).toBeUndefined();
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
    // The build generates the Prisma client, then bundles each app into apps/<app>/dist.
    expect(dockerfile).toMatch(/npm run build/);
    expect(dockerfile).toMatch(/^CMD \["node", "--enable-source-maps", "apps\/gateway\/dist\/main\.js"\]$/m);
  });
});
