import cluster, { type Worker } from "node:cluster";

/** How long a replacement waits after a process died, so a process failing at boot does not spin. */
const RESTART_DELAY_MS = 1_000;

/**
 * The primary of TARMAC_GATEWAY_PROCESSES gateway processes: forks them (each runs the whole
 * gateway and listens on the shared ports, node:cluster hands it connections), replaces one that
 * exits unless the primary is stopping, and on SIGTERM/SIGINT stops them all (each drains as a
 * lone gateway does) and exits once they have.
 */
export function runClusterPrimary(processes: number, log: (message: string) => void): void {
  let stopping = false;
  const fork = (): Worker => {
    const worker = cluster.fork();
    worker.once("exit", (code, signal) => {
      if (stopping) {
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
        return;
      }
      log(`gateway process ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another`);
      setTimeout(() => {
        if (!stopping) fork();
      }, RESTART_DELAY_MS).unref();
    });
    return worker;
  };
  for (let i = 0; i < processes; i++) fork();
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    if (workers.length === 0) process.exit(0);
    for (const w of workers) w.process.kill(signal);
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGTERM"));
}
