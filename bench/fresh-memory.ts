/**
 * Resident memory of freshly started apps: `npx tsx bench/fresh-memory.ts` (after `turbo run
 * build`). Starts the gateway, scheduler and worker as the benchmark does (same environment,
 * BENCH_NODE_ARGS and BENCH_GATEWAY_ENV apply) on a throwaway database, waits for them to settle
 * and prints each app's VmRSS with where it lies (/proc/<pid>/smaps: the node binary's pages,
 * malloc's main heap and its per-thread arenas, other anonymous memory, which is mostly V8's heap),
 * then stops them. BENCH_HEAP_SNAPSHOT=<dir>: each app writes a heap snapshot there first
 * (BENCH_NODE_ARGS="--heapsnapshot-signal=SIGUSR2 --diagnostic-dir=<dir>"), to see what is resident.
 */
import { readdirSync, readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { createTestDatabase } from "@tarmac/testing";
import { appPid, statusKb } from "./lib/procs";
import { startEngine, startGatewayFor, stopEngine } from "./lib/stack";

async function main(): Promise<void> {
  const db = await createTestDatabase();
  const stack = await startGatewayFor(db.url);
  try {
    await startEngine(stack, db.url, 4);
    const apps = [
      { name: "gateway", pid: appPid(stack.gateway.process.child.pid!) },
      { name: "scheduler", pid: appPid(stack.scheduler!.child.pid!) },
      { name: "worker", pid: appPid(stack.worker!.child.pid!) },
    ];
    const settleMs = Number(process.env.BENCH_SETTLE_MS ?? 5000);
    await sleep(settleMs);
    for (const app of apps) {
      const rss = statusKb(app.pid, "VmRSS");
      process.stdout.write(`${app.name.padEnd(10)} VmRSS ${rss === null ? "?" : (rss / 1024).toFixed(1)} MB (pid ${app.pid})  ${breakdown(app.pid)}\n`);
    }
    const dir = process.env.BENCH_HEAP_SNAPSHOT;
    if (dir) {
      for (const app of apps) process.kill(app.pid, "SIGUSR2");
      await sleep(15_000);
      process.stdout.write(`heap snapshots: ${readdirSync(dir).join(", ")}\n`);
    }
  } finally {
    await stopEngine(stack);
    await stack.gateway.process.stop(15_000);
    await db.drop();
  }
}

/**
 * Resident MB by kind of mapping. glibc gives each thread that allocates an arena of its own,
 * mapped at a 64 MB boundary: those are told apart from V8's heap pages and other mappings so.
 */
function breakdown(pid: number): string {
  const mb = { node: 0, files: 0, mallocMain: 0, mallocThreads: 0, code: 0, otherAnon: 0 };
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, "utf8");
  } catch {
    return "";
  }
  let kind: keyof typeof mb = "otherAnon";
  for (const line of text.split("\n")) {
    const header = /^([0-9a-f]+)-[0-9a-f]+ (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header) {
      const [, start = "", perms = "", inode = "", name = ""] = header;
      if (name.endsWith("/node")) kind = "node";
      else if (name === "[heap]") kind = "mallocMain";
      else if (inode !== "0") kind = "files";
      else if (perms.includes("x")) kind = "code";
      else if (BigInt(`0x${start}`) % 0x4000000n === 0n && name === "") kind = "mallocThreads";
      else kind = "otherAnon";
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) mb[kind] += Number(rss[1]) / 1024;
  }
  return Object.entries(mb).map(([k, v]) => `${k} ${v.toFixed(1)}`).join(", ");
}

main().catch((err) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
