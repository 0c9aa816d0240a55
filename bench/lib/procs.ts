import { readdirSync, readFileSync, writeFileSync } from "node:fs";

/** kB fields of /proc/<pid>/status (VmRSS, VmHWM), or null once the process is gone. */
export function statusKb(pid: number, field: "VmRSS" | "VmHWM"): number | null {
  try {
    const text = readFileSync(`/proc/${pid}/status`, "utf8");
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** Parent pid of every live process. */
function parents(): Map<number, number[]> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // The command name may hold spaces and parentheses: fields start after the last ")".
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // exited while we looked
    }
  }
  return children;
}

export function descendants(pid: number, tree = parents()): number[] {
  const out: number[] = [];
  const stack = [...(tree.get(pid) ?? [])];
  while (stack.length > 0) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(tree.get(p) ?? []));
  }
  return out;
}

/**
 * The node process that runs an app: startApp spawns the tsx launcher, which spawns node with
 * tsx's loader; the app is that child (the launcher only forwards signals).
 */
export function appPid(launcherPid: number): number {
  const kids = parents().get(launcherPid) ?? [];
  for (const k of kids) {
    try {
      const cmd = readFileSync(`/proc/${k}/cmdline`, "utf8");
      if (cmd.includes("main.ts")) return k;
    } catch {
      // gone
    }
  }
  return launcherPid;
}

/** Resets VmHWM (peak RSS) so it covers only what follows (`echo 5 > clear_refs`, Linux ≥ 4.0). */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

export interface MemoryPeak {
  name: string;
  /** Peak RSS of the app's own node process (VmHWM since the reset, else the sampled maximum), MB. */
  processMb: number;
  /** RSS of the app's process when scenario 3 started, MB: what it holds before the work. */
  startMb: number;
  /** RSS of the app's process just started and ready (restarted for scenario 3, before its setup), MB. */
  readyMb?: number;
  /** Largest sampled sum of RSS over the launcher, the app and every child (terraform), MB. */
  treeMb: number;
}

/** Samples the RSS of each app (and its process tree) until stopped. */
/** VmRSS of each app's node process (by its launcher's pid) in MB, 0 once gone. */
export function rssMb(apps: { name: string; launcherPid: number }[]): Record<string, number> {
  return Object.fromEntries(apps.map((a) => [a.name, (statusKb(appPid(a.launcherPid), "VmRSS") ?? 0) / 1024]));
}

export function startMemorySampler(apps: { name: string; launcherPid: number }[], intervalMs = 200) {
  const tracked = apps.map((a) => ({ ...a, pid: appPid(a.launcherPid), startKb: 0, maxKb: 0, maxTreeKb: 0, reset: false }));
  for (const t of tracked) {
    t.startKb = statusKb(t.pid, "VmRSS") ?? 0;
    t.reset = resetPeak(t.pid);
  }
  const sample = () => {
    const tree = parents();
    for (const t of tracked) {
      const own = statusKb(t.pid, "VmRSS") ?? 0;
      t.maxKb = Math.max(t.maxKb, own);
      let total = statusKb(t.launcherPid, "VmRSS") ?? 0;
      for (const p of descendants(t.launcherPid, tree)) total += statusKb(p, "VmRSS") ?? 0;
      t.maxTreeKb = Math.max(t.maxTreeKb, total);
    }
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop(): MemoryPeak[] {
      clearInterval(timer);
      sample();
      return tracked.map((t) => {
        const hwm = t.reset ? statusKb(t.pid, "VmHWM") : null;
        return { name: t.name, processMb: Math.max(hwm ?? 0, t.maxKb) / 1024, startMb: t.startKb / 1024, treeMb: t.maxTreeKb / 1024 };
      });
    },
  };
}

const CLOCK_TICKS_PER_S = 100; // USER_HZ, 100 on every Linux architecture Node runs on

/** utime + stime of one process in milliseconds, or 0 once it is gone. */
function processCpuMs(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name: state is field 3, utime field 14, stime field 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return 0;
  }
}

/**
 * CPU time (user + system, ms) used so far by the given processes and every live descendant
 * (a gateway's cluster workers): sampled before and after a measurement, the difference divided
 * by the requests served is the CPU per request of the serving processes.
 */
export function cpuMsOf(pids: number[]): number {
  const tree = parents();
  let total = 0;
  for (const pid of pids) {
    total += processCpuMs(pid);
    for (const child of descendants(pid, tree)) total += processCpuMs(child);
  }
  return total;
}
