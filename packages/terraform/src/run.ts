/**
 * Runs terraform as a subprocess: no shell, stdout and stderr streamed as they arrive, and the two
 * ways a run is stopped: cancel (SIGINT, terraform's graceful shutdown) and force-cancel (SIGKILL).
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import os from "node:os";

export interface RunTerraformOptions {
  bin: string;
  args: readonly string[];
  cwd: string;
  /** The complete environment of the child: nothing is inherited from this process. */
  env: Readonly<Record<string, string>>;
  /**
   * Receives stdout and stderr chunks in arrival order (the run's log). `stream` tells them apart:
   * `show -json` writes its document to stdout while TF_LOG lines go to stderr. Must not throw;
   * if it does, the run's promise rejects.
   */
  onOutput: (chunk: Buffer, stream: "stdout" | "stderr") => void;
  /**
   * Lowers terraform's scheduling priority to this niceness (1–19) from its start; the providers
   * it starts inherit it. Omitted, 0, or not above the caller's own: the caller's priority.
   */
  niceness?: number;
  /** Aborting interrupts terraform (SIGINT), like {@link RunningTerraform.interrupt}. */
  signal?: AbortSignal;
}

export interface TerraformExit {
  /** null when terraform was ended by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export interface RunningTerraform {
  pid: number | undefined;
  /** Settles once terraform exited and its output has been delivered; rejects if it could not start. */
  promise: Promise<TerraformExit>;
  /** SIGINT to terraform: it stops gracefully, saving what it applied. */
  interrupt(): void;
  /** SIGKILL to terraform and every process it started (providers): immediate, state may be lost. */
  kill(): void;
}

export function runTerraform(opts: RunTerraformOptions): RunningTerraform {
  // A process group of its own, so kill() also reaches the provider plugins terraform spawned,
  // and a Ctrl-C aimed at the worker does not reach terraform before the worker decides to.
  const child = spawn(opts.bin, [...opts.args], {
    cwd: opts.cwd,
    env: { ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
    shell: false,
    windowsHide: true,
  });
  let closed = false;
  let outputError: unknown;
  // Set as soon as spawn returns (the child has just exec'd), long before terraform starts a
  // provider: every process it starts inherits the priority.
  // Only ever lowered: a worker already running nicer keeps its own priority for terraform.
  if (opts.niceness && child.pid !== undefined && opts.niceness > os.getPriority()) {
    try {
      lowerPriority(child.pid, opts.niceness);
    } catch (err) {
      child.kill("SIGKILL");
      throw err;
    }
  }

  const deliver = (chunk: Buffer, stream: "stdout" | "stderr"): void => {
    if (outputError !== undefined) return;
    try {
      opts.onOutput(chunk, stream);
    } catch (err) {
      outputError = err ?? new Error("onOutput threw");
    }
  };
  child.stdout?.on("data", (chunk: Buffer) => deliver(chunk, "stdout"));
  child.stderr?.on("data", (chunk: Buffer) => deliver(chunk, "stderr"));

  const interrupt = (): void => {
    if (closed || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    child.kill("SIGINT");
  };
  const kill = (): void => {
    if (closed || child.pid === undefined) return;
    try {
      process.kill(-child.pid, "SIGKILL");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
  };

  const onAbort = (): void => interrupt();
  const promise = new Promise<TerraformExit>((resolve, reject) => {
    let spawnError: Error | undefined;
    child.once("error", (err) => {
      spawnError = err;
    });
    child.once("close", (code, signal) => {
      closed = true;
      opts.signal?.removeEventListener("abort", onAbort);
      if (spawnError && child.pid === undefined) reject(spawnError);
      else if (outputError !== undefined) reject(outputError);
      else resolve({ exitCode: code, signal });
    });
  });

  if (opts.signal?.aborted) interrupt();
  else opts.signal?.addEventListener("abort", onAbort, { once: true });

  return { pid: child.pid, promise, interrupt, kill };
}

/** ESRCH: the process (or thread) exited already, nothing left to lower. A SystemError keeps the cause in `info`. */
function isGone(err: unknown): boolean {
  return (err as { info?: { code?: string } }).info?.code === "ESRCH";
}

/**
 * Sets a process's niceness. On Linux niceness belongs to each thread and setpriority(2) on a pid
 * reaches only its main thread: terraform is a Go program whose runtime may have started threads
 * already, so each of them is lowered too (a thread started later inherits from a lowered one).
 */
export function lowerPriority(pid: number, niceness: number): void {
  try {
    os.setPriority(pid, niceness);
  } catch (err) {
    if (isGone(err)) return;
    throw err;
  }
  if (process.platform !== "linux") return;
  let threads: string[];
  try {
    threads = readdirSync(`/proc/${pid}/task`);
  } catch {
    return; // exited meanwhile
  }
  for (const tid of threads) {
    if (Number(tid) === pid) continue;
    try {
      os.setPriority(Number(tid), niceness);
    } catch (err) {
      if (!isGone(err)) throw err;
    }
  }
}
