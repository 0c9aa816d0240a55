import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/**
 * Each worker process keeps its job sandboxes (configuration, `.terraform`, plan file, state)
 * under a directory of its own, `<work dir>/proc-<pid>-<random>`, with an owner file naming the
 * process. Several workers may share a machine and a work dir, so a worker only removes what
 * it can prove is dead: directories whose owner process is gone (kill -9, a crash) and, for
 * anything it cannot attribute (another host's, an older layout), what is older than the
 * age limit. A job's own sandbox is removed when the job ends; this catches the rest.
 */

const OWNER_FILE = "owner.json";
const PREFIX = "proc-";

interface Owner {
  pid: number;
  hostname: string;
  /** The process's start time in clock ticks since boot (/proc/<pid>/stat), against pid reuse. */
  startTicks: string | null;
}

export interface SandboxRoot {
  /** Where this process creates its job sandboxes. */
  dir: string;
  /** Removes dead workers' directories and stale leftovers; returns what it removed. */
  sweep(): Promise<string[]>;
  /** Removes this process's directory (at shutdown, after the last job). */
  release(): Promise<void>;
}

export interface SandboxRootOptions {
  workDir: string;
  /** Leftovers that cannot be attributed to a live process are removed past this age. */
  maxAgeMs: number;
  onRemoved?: (dir: string, reason: string) => void;
}

async function startTicksOf(pid: number): Promise<string | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name (which may hold spaces and parentheses); starttime is field 22.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, under another user.
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Whether the process has exited and only its process-table entry is left (a zombie, state Z or
 * X, until its parent or init reaps it): it answers signals but will never touch a file again.
 */
async function isExited(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0];
    return state === "Z" || state === "X";
  } catch {
    return false;
  }
}

/** Whether the directory's owner process is known to be gone; null when this host cannot tell. */
async function isOwnerDead(owner: Owner): Promise<boolean | null> {
  if (owner.hostname !== os.hostname()) return null;
  if (!isRunning(owner.pid) || (await isExited(owner.pid))) return true;
  if (owner.startTicks === null) return false;
  const ticks = await startTicksOf(owner.pid);
  // Same pid, another start time: the pid was reused by a new process.
  return ticks !== null && ticks !== owner.startTicks;
}

async function readOwner(dir: string): Promise<Owner | null> {
  try {
    const doc = JSON.parse(await readFile(path.join(dir, OWNER_FILE), "utf8")) as Partial<Owner>;
    if (typeof doc.pid !== "number" || typeof doc.hostname !== "string") return null;
    return { pid: doc.pid, hostname: doc.hostname, startTicks: typeof doc.startTicks === "string" ? doc.startTicks : null };
  } catch {
    return null;
  }
}

async function ageMs(file: string): Promise<number | null> {
  const info = await stat(file).catch(() => null);
  return info ? Date.now() - info.mtimeMs : null;
}

export async function claimSandboxRoot(opts: SandboxRootOptions): Promise<SandboxRoot> {
  await mkdir(opts.workDir, { recursive: true, mode: 0o700 });
  const dir = path.join(opts.workDir, `${PREFIX}${process.pid}-${randomBytes(4).toString("hex")}`);
  await mkdir(dir, { mode: 0o700 });
  const owner: Owner = { pid: process.pid, hostname: os.hostname(), startTicks: await startTicksOf(process.pid) };
  const ownerFile = path.join(dir, OWNER_FILE);
  await writeFile(ownerFile, JSON.stringify(owner), { mode: 0o600 });

  async function removable(entry: string): Promise<string | null> {
    const full = path.join(opts.workDir, entry);
    if (entry.startsWith(PREFIX)) {
      const other = await readOwner(full);
      if (other) {
        const dead = await isOwnerDead(other);
        if (dead === true) return "its worker process is gone";
        if (dead === false) return null;
        // Another host's: it refreshes its owner file at every sweep while it lives.
        const age = await ageMs(path.join(full, OWNER_FILE));
        return age !== null && age > opts.maxAgeMs ? "its owner file is older than the age limit" : null;
      }
      // A directory whose owner file was never written (a worker killed while starting).
    }
    const age = await ageMs(full);
    return age !== null && age > opts.maxAgeMs ? "older than the age limit" : null;
  }

  async function sweep(): Promise<string[]> {
    // Our own directory stays young while we live, for sweepers on other hosts.
    const now = new Date();
    await utimes(ownerFile, now, now).catch(() => undefined);
    const removed: string[] = [];
    for (const entry of await readdir(opts.workDir)) {
      const full = path.join(opts.workDir, entry);
      if (full === dir) continue;
      const reason = await removable(entry);
      if (!reason) continue;
      await rm(full, { recursive: true, force: true });
      removed.push(full);
      opts.onRemoved?.(full, reason);
    }
    return removed;
  }

  return {
    dir,
    sweep,
    release: () => rm(dir, { recursive: true, force: true }),
  };
}
