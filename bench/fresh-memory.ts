/**
 * Resident memory of freshly started apps: `npx tsx bench/fresh-memory.ts` (after `turbo run
 * build`). Starts the gateway, scheduler and worker as the benchmark does (same environment,
 * BENCH_NODE_ARGS and BENCH_GATEWAY_ENV apply) on a throwaway database, waits for them to settle
 * and prints each app's VmRSS, then stops them. BENCH_HEAP_SNAPSHOT=<dir>: each app writes a heap
 * snapshot there first (SIGUSR2 with --heapsnapshot-signal), to see what is resident.
 */
import { readdirSync } from "node:fs";
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
      process.stdout.write(`${app.name.padEnd(10)} VmRSS ${rss === null ? "?" : (rss / 1024).toFixed(1)} MB (pid ${app.pid})\n`);
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

main().catch((err) => {
  process.stderr.write(`${String(err)}\n`);
  process.exit(1);
});
