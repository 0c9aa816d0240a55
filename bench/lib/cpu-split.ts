import { readdirSync, readFileSync } from "node:fs";
import { appPid } from "./procs";

const CLOCK_TICKS_PER_S = 100; // USER_HZ

interface StatFields {
  comm: string;
  /** utime + stime of the process itself, ms. */
  selfMs: number;
  /** cutime + cstime: children that exited and were waited for, ms. */
  reapedChildrenMs: number;
}

function stat(pid: number | "self"): StatFields | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    const comm = text.slice(text.indexOf("(") + 1, text.lastIndexOf(")"));
    // Fields after the command name: state is field 3; utime 14, stime 15, cutime 16, cstime 17.
    const f = text.slice(text.lastIndexOf(")") + 2).split(" ");
    const ms = (i: number) => (Number(f[i]) * 1000) / CLOCK_TICKS_PER_S;
    return { comm, selfMs: ms(11) + ms(12), reapedChildrenMs: ms(13) + ms(14) };
  } catch {
    return null;
  }
}

/** Busy CPU time of the whole machine (every core, everything but idle and iowait), ms. */
function machineBusyMs(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n")[0]!;
  const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number) as number[];
  return (((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) * 1000) / CLOCK_TICKS_PER_S;
}

/** CPU of every process whose command name is `comm` (and of its reaped children), ms. */
function serviceMs(comm: string): number {
  let total = 0;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (s && s.comm === comm) total += s.selfMs + s.reapedChildrenMs;
  }
  return total;
}

export interface CpuSplit {
  /** CPU-ms per completed run, by where it was spent. */
  perRunMs: Record<string, number>;
  /** Busy CPU of the whole machine over the window, ms per completed run (includes other work on the machine). */
  machinePerRunMs: number;
  /** Busy cores over the window (of os.cpus().length). */
  busyCores: number;
}

/**
 * Where the CPU of a measured window goes: the apps' node processes, the worker's terraform
 * children (reaped, so counted in the worker's cutime), and the shared services. Services are
 * found by command name, so their figure also holds other databases' work on a shared machine;
 * the machine total shows how much else ran.
 */
export function startCpuSplit(apps: { name: string; launcherPid: number }[]) {
  const pids = apps.map((a) => ({ name: a.name, pid: appPid(a.launcherPid) }));
  const services = { PostgreSQL: "postgres", Redis: "redis-server", NATS: "nats-server" } as const;
  const read = () => {
    const out: Record<string, number> = {};
    for (const { name, pid } of pids) {
      const s = stat(pid);
      out[name] = s?.selfMs ?? 0;
      out[`${name}: child processes`] = s?.reapedChildrenMs ?? 0;
    }
    for (const [label, comm] of Object.entries(services)) out[label] = serviceMs(comm);
    return { byName: out, machine: machineBusyMs(), at: Date.now() };
  };
  const before = read();
  return {
    stop(completedRuns: number): CpuSplit {
      const after = read();
      const runs = Math.max(1, completedRuns);
      const perRunMs: Record<string, number> = {};
      for (const [name, ms] of Object.entries(after.byName)) {
        const delta = ms - (before.byName[name] ?? 0);
        if (delta > 0 || !name.endsWith("child processes")) perRunMs[name] = delta / runs;
      }
      const seconds = Math.max(0.001, (after.at - before.at) / 1000);
      return { perRunMs, machinePerRunMs: (after.machine - before.machine) / runs, busyCores: (after.machine - before.machine) / 1000 / seconds };
    },
  };
}

/** CPU (self and reaped children) of this process so far, ms: around the floor, whose invocations are its children. */
export function ownCpuMs(): { selfMs: number; childrenMs: number; machineMs: number } {
  const s = stat("self");
  return { selfMs: s?.selfMs ?? 0, childrenMs: s?.reapedChildrenMs ?? 0, machineMs: machineBusyMs() };
}
