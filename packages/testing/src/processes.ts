import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes, randomInt } from "node:crypto";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { REPO_ROOT } from "./database";
import { waitFor } from "./wait";

export type AppName = "gateway" | "scheduler" | "worker" | "notifier" | "agent";

/** Lowest port freePort hands out. */
const LOWEST_PORT = 15_000;
/** Ports this process handed out: never twice, even before whoever asked has bound them. */
const handedOut = new Set<number>();

/**
 * The first port of the kernel's ephemeral range: outgoing connections take their local port
 * from it, any moment, so a port picked there and bound a little later (by a process being
 * started) may be taken in between, most of all while other suites open thousands of connections.
 */
function ephemeralRangeStart(): number {
  try {
    const low = Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 0 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", () => resolve(false));
    // All addresses, as the apps listen: a port taken on any of them is not free.
    srv.listen(port, () => srv.close(() => resolve(true)));
  });
}

function osPickedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === "object" && addr ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * A port that was free a moment ago, for a process about to listen on it: chosen at random
 * below the kernel's ephemeral range, where no outgoing connection can take it before the
 * process binds it (the OS's own pick, from inside that range, when there is no room below).
 */
export async function freePort(): Promise<number> {
  const highest = ephemeralRangeStart() - 1;
  if (highest - LOWEST_PORT >= 1_000) {
    for (let attempt = 0; attempt < 200; attempt++) {
      const port = LOWEST_PORT + randomInt(highest - LOWEST_PORT + 1);
      if (handedOut.has(port)) continue;
      handedOut.add(port);
      if (await canListen(port)) return port;
    }
  }
  return osPickedPort();
}

/**
 * A free port whose neighbour `offset` above is free too, both handed out and both below the
 * ephemeral range where it is wide enough (Redis Cluster's bus listens on its port + 10000).
 */
export async function freePortPair(offset: number): Promise<number> {
  const highest = Math.min(ephemeralRangeStart() - 1, 65_535) - offset;
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = highest - LOWEST_PORT >= 1_000 ? LOWEST_PORT + randomInt(highest - LOWEST_PORT + 1) : await osPickedPort();
    const second = port + offset;
    if (second > 65_535 || handedOut.has(port) || handedOut.has(second)) continue;
    handedOut.add(port);
    handedOut.add(second);
    if ((await canListen(port)) && (await canListen(second))) return port;
  }
  throw new Error(`no free port pair ${offset} apart`);
}

export interface StartedProcess {
  name: string;
  child: ChildProcess;
  /** Everything the process wrote (stdout and stderr interleaved). */
  output(): string;
  /** SIGTERM, then SIGKILL after the grace period; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>;
  /** SIGKILL at once (a crashed process). */
  kill(): Promise<void>;
}

const TSX = path.join(REPO_ROOT, "node_modules", ".bin", "tsx");

/**
 * The deployment key apps started by this test file get unless a test gives its own: random
 * per file, so no test depends on a development key file or a published key.
 */
export const TEST_ENCRYPTION_KEY = randomBytes(32).toString("base64url");

export interface StartAppOptions {
  readyUrl?: string;
  timeoutMs?: number;
  /**
   * Run the build output (`node --enable-source-maps apps/<app>/dist/main.js`, made by
   * `turbo run build`) as production does, instead of the TypeScript sources through tsx.
   */
  compiled?: boolean;
  /** Flags for node itself (compiled only), e.g. `--cpu-prof`, which NODE_OPTIONS refuses. */
  nodeArgs?: string[];
}

/** The command that runs an app: its TypeScript through tsx, or its build output. */
/**
 * V8 heap settings every app runs with in production (Dockerfile, npm start): young generation
 * semi-spaces of 2 MB (V8's default grows them to 16 MB, resident whether used or not) and a
 * 384 MB old generation, which also makes V8 collect before growing the heap far past what is
 * live. Fresh gateway ~168 → ~115 MB RSS, scheduler ~158 → ~130 MB (bench/fresh-memory.ts).
 */
export const APP_NODE_FLAGS = ["--max-semi-space-size=2", "--max-old-space-size=384"];

/**
 * Environment every app runs with in production (Dockerfile, npm start): at most two glibc malloc
 * arenas, where by default each thread that allocates gets one and keeps what it freed resident.
 */
export const APP_ENV: Record<string, string> = { MALLOC_ARENA_MAX: "2" };

export function appCommand(app: AppName, compiled = false, nodeArgs: string[] = []): [string, string[]] {
  return compiled
    ? [process.execPath, ["--enable-source-maps", ...APP_NODE_FLAGS, ...nodeArgs, path.join(REPO_ROOT, "apps", app, "dist", "main.js")]]
    : [TSX, [path.join(REPO_ROOT, "apps", app, "src", "main.ts")]];
}

/**
 * Starts one of the real apps (`tsx apps/<app>/src/main.ts`, or its build output) with the given
 * environment on top of ours. `readyUrl`, when given, is polled until it answers 200.
 */
export async function startApp(
  app: AppName,
  env: Record<string, string>,
  { readyUrl, timeoutMs = 60_000, compiled = false, nodeArgs = [] }: StartAppOptions = {},
): Promise<StartedProcess> {
  // A health port inherited from the developer's shell (or 8081/8082) would collide between
  // stacks: the app's own variable is always set, from the caller's HEALTH_PORT or 0 (any free port).
  const healthPort = app === "gateway" ? {} : { [`${app.toUpperCase()}_HEALTH_PORT`]: env[`${app.toUpperCase()}_HEALTH_PORT`] ?? env.HEALTH_PORT ?? "0" };
  const [command, args] = appCommand(app, compiled, nodeArgs);
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...process.env, ...APP_ENV, LOG_LEVEL: "warn", TARMAC_ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, ...env, ...healthPort },
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group: tsx runs the app in a child node process and cannot
    // forward SIGKILL, so SIGKILL goes to the whole group.
    detached: true,
  });
  const signalGroup = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      // already gone
    }
  };
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let done = false;
  void exited.then(() => (done = true));
  const proc: StartedProcess = {
    name: app,
    child,
    output: () => out,
    stop: async (graceMs = 10_000) => {
      if (done) return child.exitCode;
      // tsx relays SIGTERM to the app; signalling the group would deliver it twice.
      child.kill("SIGTERM");
      const timer = setTimeout(() => signalGroup("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill: async () => {
      if (done) return;
      signalGroup("SIGKILL");
      await exited;
    },
  };
  if (readyUrl) {
    try {
      // A process that exits before it is ready (a port taken, a bad setting) fails the start at once.
      const exitedEarly = exited.then((code) => {
        throw new Error(`${app} exited early (code ${code}) before ${readyUrl} answered`);
      });
      exitedEarly.catch(() => undefined);
      await Promise.race([
        exitedEarly,
        waitFor(
          async () => {
            if (done) return true;
            const res = await fetch(readyUrl).catch(() => null);
            return res?.status === 200 ? true : undefined;
          },
          { timeoutMs, intervalMs: 100, what: `${app} at ${readyUrl}` },
        ),
      ]);
      if (done) await exitedEarly;
    } catch (err) {
      await proc.kill();
      throw new Error(`${(err as Error).message}\n--- ${app} output ---\n${out}`);
    }
  }
  return proc;
}

export interface StartedGateway {
  url: string;
  adminToken: string;
  process: StartedProcess;
  /** The keys it runs with: tests mint capability URLs and decrypt values with them. */
  keys: { current: string; previous: string[] };
}

/** The real gateway on a free port against the given database, with an admin token. */
export async function startGateway(
  databaseUrl: string,
  env: Record<string, string> = {},
  { compiled = false, nodeArgs = [] }: Pick<StartAppOptions, "compiled" | "nodeArgs"> = {},
): Promise<StartedGateway> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const adminToken = `admin-${Math.random().toString(36).slice(2)}${Date.now()}`;
  const process = await startApp(
    "gateway",
    {
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      TARMAC_PUBLIC_URL: url,
      TARMAC_ADMIN_TOKEN: adminToken,
      ...env,
    },
    { readyUrl: `${url}/readyz`, compiled, nodeArgs },
  );
  const keys = {
    current: env.TARMAC_ENCRYPTION_KEY ?? TEST_ENCRYPTION_KEY,
    previous: (env.TARMAC_ENCRYPTION_KEYS_OLD ?? "").split(",").filter((k) => k !== ""),
  };
  return { url, adminToken, process, keys };
}
