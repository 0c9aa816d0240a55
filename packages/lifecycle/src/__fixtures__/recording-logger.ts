import type { LifecycleLogger } from "../logger";

export interface LogEntry {
  level: "info" | "warn" | "error";
  msg: string | undefined;
  [field: string]: unknown;
}

/** Keeps log entries in memory so tests can assert on what the lifecycle reported. */
export function recordingLogger(): { logger: LifecycleLogger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const write = (level: LogEntry["level"]) => (obj: object, msg?: string) => {
    entries.push({ ...obj, level, msg });
  };
  return { logger: { info: write("info"), warn: write("warn"), error: write("error") }, entries };
}
