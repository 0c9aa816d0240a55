import { execFile, spawn, type ChildProcess } from "node:child_process";
import { chown, mkdir, mkdtemp, rm } from "node:fs/promises";
import { connect } from "node:net";
import os, { userInfo } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort, migrateDeploy, waitFor } from "@tarmac/testing";

/**
 * PostgreSQL, Redis and NATS of a fault test's own, on free ports, so the test may stop,
 * restart or flush them. The machine's shared services (5432, 6379, 4222) are never touched.
 */

const run = promisify(execFile);
const PG_BIN = process.env.TARMAC_PG_BIN ?? "/usr/lib/postgresql/15/bin";

/** PostgreSQL refuses to run as root: as root, run its commands as the postgres user. */
export function asPostgres(cmd: string, args: string[]): [string, string[]] {
  return userInfo().uid === 0 ? ["runuser", ["-u", "postgres", "--", cmd, ...args]] : [cmd, args];
}

async function pgCommand(cmd: string, args: string[]): Promise<void> {
  const [file, argv] = asPostgres(path.join(PG_BIN, cmd), args);
  await run(file, argv, { timeout: 60_000 });
}

export interface OwnPostgres {
  /** A migrated database on this server. */
  url: string;
  port: number;
  start(): Promise<void>;
  /** A fast shutdown: connections are cut, as in an outage. */
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tarmac-faults-pg-"));
  const data = path.join(dir, "data");
  if (userInfo().uid === 0) {
    const { stdout } = await run("id", ["-u", "postgres"]);
    const { stdout: gid } = await run("id", ["-g", "postgres"]);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  await pgCommand("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8"]);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`;
  const pg: OwnPostgres = {
    url: `postgresql://postgres@127.0.0.1:${port}/tarmac`,
    port,
    start: () => pgCommand("pg_ctl", ["-D", data, "-o", options, "-l", path.join(dir, "server.log"), "-w", "-t", "60", "start"]),
    stop: () => pgCommand("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]),
    async destroy() {
      await pgCommand("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
  await pg.start();
  await pgCommand("createdb", ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "tarmac"]);
  migrateDeploy(pg.url);
  return pg;
}

/** A server process we start and stop ourselves (Redis, NATS, PgBouncer). */
export class OwnServer {
  private child: ChildProcess | undefined;
  private output = "";

  constructor(
    private readonly bin: string,
    private readonly args: () => string[],
    readonly port: number,
  ) {}

  /** What the server wrote, for a failure message. */
  get log(): string {
    return this.output;
  }

  get isRunning(): boolean {
    return this.child !== undefined && this.child.exitCode === null;
  }

  async start(): Promise<void> {
    const child = spawn(this.bin, this.args(), { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (d: Buffer) => (this.output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (this.output += d.toString()));
    this.child = child;
    await waitFor(
      () =>
        new Promise<true | undefined>((resolve) => {
          if (child.exitCode !== null) throw new Error(`${this.bin} exited: ${this.output}`);
          const socket = connect(this.port, "127.0.0.1");
          socket.once("connect", () => {
            socket.destroy();
            resolve(true);
          });
          socket.once("error", () => resolve(undefined));
        }),
      { timeoutMs: 20_000, intervalMs: 100, what: `${this.bin} on port ${this.port}` },
    );
  }

  /** SIGTERM (SIGKILL when `hard`), then waits for the exit. */
  async stop(hard = false): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill(hard ? "SIGKILL" : "SIGTERM");
    await exited;
  }
}

export interface OwnRedis {
  url: string;
  /** Starts it again on the same port, with the data it had when it stopped (append-only file). */
  start(): Promise<void>;
  /** A shutdown: connections are cut and refused until start(); the data stays on disk. */
  stop(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), "tarmac-faults-redis-"));
  // Persistence (an append-only file, written at shutdown too) so an outage can end with Redis
  // back as it was; the FLUSHALL probe covers a Redis that comes back empty.
  const server = new OwnServer(
    "redis-server",
    () => ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
    port,
  );
  await server.start();
  return {
    url: `redis://127.0.0.1:${port}`,
    start: () => server.start(),
    stop: () => server.stop(),
    async destroy() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface OwnNats {
  url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Deletes the JetStream store (the server must be stopped): it comes back empty. */
  wipeStore(): Promise<void>;
  destroy(): Promise<void>;
}

export async function startOwnNats(): Promise<OwnNats> {
  const port = await freePort();
  const storeDir = await mkdtemp(path.join(os.tmpdir(), "tarmac-faults-nats-"));
  const server = new OwnServer("nats-server", () => ["-a", "127.0.0.1", "-p", String(port), "-js", "-sd", storeDir], port);
  await server.start();
  return {
    url: `nats://127.0.0.1:${port}`,
    start: () => server.start(),
    stop: () => server.stop(),
    async wipeStore() {
      await rm(storeDir, { recursive: true, force: true });
      await mkdir(storeDir, { recursive: true });
    },
    async destroy() {
      await server.stop();
      await rm(storeDir, { recursive: true, force: true });
    },
  };
}

export interface OwnInfra {
  pg: OwnPostgres;
  redis: OwnRedis;
  nats: OwnNats;
  destroy(): Promise<void>;
}

export async function startOwnInfra(): Promise<OwnInfra> {
  const [pg, redis, nats] = await Promise.all([startOwnPostgres(), startOwnRedis(), startOwnNats()]);
  return {
    pg,
    redis,
    nats,
    async destroy() {
      await Promise.allSettled([pg.destroy(), redis.destroy(), nats.destroy()]);
    },
  };
}
