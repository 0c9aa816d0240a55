import { readdirSync, readFileSync } from "node:fs";
import http from "node:http";
import { createTestDatabase, startGateway, waitFor, type StartedGateway, type TestDatabase } from "@tarmac/testing";

/**
 * TARMAC_GATEWAY_PROCESSES=2: two gateway processes answer on one port (node:cluster), and one
 * that dies is replaced while the other keeps answering.
 */
jest.setTimeout(180_000);

let db: TestDatabase;
let gateway: StartedGateway;

beforeAll(async () => {
  db = await createTestDatabase();
  gateway = await startGateway(db.url, { TARMAC_GATEWAY_PROCESSES: "2", TARMAC_OUTBOX_RELAY: "off", TARMAC_RATE_LIMIT_PER_SECOND: "0", LOG_LEVEL: "info" });
});
afterAll(async () => {
  await gateway?.process.stop(15_000);
  await db?.drop();
});

/** Parent pid of every process, from /proc. */
function children(): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      out.set(ppid, [...(out.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** The gateway's node processes below the launcher: the primary, and the processes it forked. */
function gatewayProcesses(): { primary: number; workers: number[] } {
  const tree = children();
  const isGateway = (pid: number) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("main.");
    } catch {
      return false;
    }
  };
  const below = (pid: number): number[] => (tree.get(pid) ?? []).flatMap((c) => [c, ...below(c)]);
  const all = below(gateway.process.child.pid!).filter(isGateway);
  const primary = all.find((pid) => (tree.get(pid) ?? []).some(isGateway))!;
  return { primary, workers: (tree.get(primary) ?? []).filter(isGateway) };
}

/** How many times a gateway process said it listens. */
function listening(): number {
  return gateway.process.output().split("\n").filter((line) => line.includes('"msg":"gateway listening"')).length;
}

/** CPU ticks (utime + stime) a process has used. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** One request on a connection of its own (no keep-alive), so the cluster hands each one out. */
function get(path: string, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(`${gateway.url}${path}`, { agent: false, headers: { Authorization: `Bearer ${gateway.adminToken}` } }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`no answer to ${path} within ${timeoutMs} ms`)));
  });
}

describe("TARMAC_GATEWAY_PROCESSES", () => {
  it("answers on one port from two processes, and replaces one that is killed", async () => {
    const { workers } = await waitFor(
      async () => {
        const found = gatewayProcesses();
        return found.workers.length === 2 ? found : undefined;
      },
      { timeoutMs: 60_000, what: "two gateway processes" },
    );
    // Both have booted: each logs when it listens.
    await waitFor(() => (listening() >= 2 ? true : undefined), { timeoutMs: 60_000, intervalMs: 200, what: "both processes listening" });
    const before = workers.map(cpuTicks);
    for (let round = 0; round < 5; round++) {
      const statuses = await Promise.all(
        Array.from({ length: 10 }, () => get("/api/v2/account/details").catch((err: Error) => `round ${round}: ${err.message}`)),
      );
      expect(statuses).toEqual(statuses.map(() => 200));
    }
    // Both processes did work answering them (connections are handed out in turn).
    const after = workers.map(cpuTicks);
    expect(after[0]! - before[0]!).toBeGreaterThan(0);
    expect(after[1]! - before[1]!).toBeGreaterThan(0);

    process.kill(workers[0]!, "SIGKILL");
    // Once the primary has seen it die (a connection handed over at that very moment is lost,
    // as with any crash), the other process answers while a replacement boots.
    // A connection the primary handed over as the process died is lost with it (as with any
    // crash; clients retry): the next ones are answered by the survivor.
    await waitFor(() => (gatewayProcesses().workers.includes(workers[0]!) ? undefined : true), { timeoutMs: 30_000, what: "the killed process reaped" });
    await waitFor(async () => ((await get("/api/v2/account/details", 2_000)) === 200 ? true : undefined), {
      timeoutMs: 20_000,
      what: "the surviving process answering",
    });
    const replaced = await waitFor(
      async () => {
        const found = gatewayProcesses();
        return found.workers.length === 2 && !found.workers.includes(workers[0]!) ? found.workers : undefined;
      },
      { timeoutMs: 60_000, what: "a replacement gateway process" },
    );
    expect(replaced).toContain(workers[1]);
    // With both original processes gone, only replacements can answer.
    process.kill(workers[1]!, "SIGKILL");
    await waitFor(async () => ((await get("/api/v2/account/details", 2_000)) === 200 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 200,
      what: "a replacement answering",
    });
    const final = gatewayProcesses().workers;
    expect(final).not.toContain(workers[0]);
    expect(final).not.toContain(workers[1]);
  });
});
