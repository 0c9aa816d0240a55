import { readFileSync } from "node:fs";
import os from "node:os";
import { fmt } from "./stats";

export interface Row {
  scenario: string;
  metric: string;
  tarmac: string;
  baseline: string;
  ratio: string;
  target: string;
  /** true met, false missed, null nothing to judge. */
  met: boolean | null;
  /** How far off a missed target is. */
  miss?: string;
}

export function machine(): Record<string, string> {
  let cpu = "unknown";
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux
  }
  return {
    cores: String(os.cpus().length),
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    cpu,
    kernel: os.release(),
    node: process.version,
  };
}

export function markdownTable(rows: Row[]): string {
  const head = "| Scenario | Metric | Tarmac | Baseline | Ratio | Target | Met |\n| --- | --- | ---: | ---: | ---: | --- | :---: |";
  const body = rows.map(
    (r) => `| ${r.scenario} | ${r.metric} | ${r.tarmac} | ${r.baseline} | ${r.ratio} | ${r.target} | ${r.met === null ? "" : r.met ? "yes" : "**no**"} |`,
  );
  return [head, ...body].join("\n");
}

export const ms = (n: number) => `${fmt(n, 1)} ms`;
export const cpuMs = (n: number) => `${fmt(n, 2)} CPU-ms`;
export const rps = (n: number) => `${fmt(n, 0)} req/s`;
export const x = (n: number) => `${fmt(n, 2)}×`;
