import { type ChildProcess, spawn } from "node:child_process";
import path from "node:path";

const repoRoot = path.resolve(__dirname, "../../..");

interface Started {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLine(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<void>;
}

function startSignalProcess(timeoutMs: number, mode?: "hang-drain"): Started {
  const args = ["--import", "tsx", path.join(__dirname, "__fixtures__/signal-process.ts"), String(timeoutMs)];
  if (mode) args.push(mode);
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
  const lines: Record<string, unknown>[] = [];
  const listeners = new Set<() => void>();
  let buffered = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    buffered += chunk;
    const complete = buffered.split("\n");
    buffered = complete.pop() ?? "";
    for (const line of complete) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
    for (const listener of listeners) listener();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    lines,
    exited,
    waitForLine(predicate, waitMs = 15_000) {
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!lines.some(predicate)) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`no matching line within ${waitMs} ms; got ${JSON.stringify(lines)}`));
        }, waitMs);
        listeners.add(check);
        check();
      });
    },
  };
}

const steps = (lines: Record<string, unknown>[]) => lines.filter((l) => typeof l.step === "string" && !l.msg).map((l) => l.step);

describe("signal handlers", () => {
  let started: Started | undefined;

  afterEach(() => {
    if (started && started.child.exitCode === null && started.child.signalCode === null) started.child.kill("SIGKILL");
    started = undefined;
  });

  it.each(["SIGTERM", "SIGINT"] as const)("shut down in phase order on %s and exit 0", async (signal) => {
    started = startSignalProcess(5_000);
    await started.waitForLine((l) => l.ready === true);
    started.child.kill(signal);
    const { code } = await started.exited;
    expect(code).toBe(0);
    expect(steps(started.lines)).toEqual(["intake", "drain", "clients", "telemetry"]);
    expect(started.lines).toContainEqual(expect.objectContaining({ msg: "shutdown started", reason: signal }));
  });

  it("exits 1 when a step hangs past its deadline, after running the later phases", async () => {
    started = startSignalProcess(1_000, "hang-drain");
    await started.waitForLine((l) => l.ready === true);
    started.child.kill("SIGTERM");
    const { code } = await started.exited;
    expect(code).toBe(1);
    expect(steps(started.lines)).toEqual(["intake", "drain", "clients", "telemetry"]);
    expect(started.lines).toContainEqual(expect.objectContaining({ step: "drain", msg: "shutdown step timed out; abandoned" }));
  });

  it("exits 1 at once on a second signal", async () => {
    started = startSignalProcess(60_000, "hang-drain");
    await started.waitForLine((l) => l.ready === true);
    started.child.kill("SIGTERM");
    await started.waitForLine((l) => l.step === "drain");
    const secondSignalAt = Date.now();
    started.child.kill("SIGINT");
    const { code } = await started.exited;
    expect(code).toBe(1);
    expect(Date.now() - secondSignalAt).toBeLessThan(5_000);
    expect(steps(started.lines)).toEqual(["intake", "drain"]);
  });
});
