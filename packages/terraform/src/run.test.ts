import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, realpath, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { lowerPriority, runTerraform, type RunTerraformOptions } from "./run";

jest.setTimeout(20_000);

type Chunk = { stream: "stdout" | "stderr"; text: string };

function nodeScript(script: string, extra: Partial<RunTerraformOptions> = {}) {
  const chunks: Chunk[] = [];
  const run = runTerraform({
    bin: process.execPath,
    args: ["-e", script],
    cwd: os.tmpdir(),
    env: {},
    onOutput: (chunk, stream) => chunks.push({ stream, text: chunk.toString() }),
    ...extra,
  });
  return { run, chunks, text: () => chunks.map((c) => c.text).join("") };
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Gone, or a zombie nobody reaped yet: either way no longer running. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

describe("runTerraform", () => {
  it("runs terraform and the processes it starts at the niceness asked for", async () => {
    // The child prints its own niceness and that of a process it starts (as terraform starts providers).
    const niceOf = `require("node:os").getPriority()`;
    const { run, text } = nodeScript(
      `const { execFileSync } = require("node:child_process");
       const child = execFileSync(process.execPath, ["-e", 'process.stdout.write(String(${niceOf}))']).toString();
       process.stdout.write(String(${niceOf}) + " " + child);`,
      { niceness: 7 },
    );
    expect(await run.promise).toEqual({ exitCode: 0, signal: null });
    const expected = Math.max(os.getPriority(), 7);
    expect(text()).toBe(`${expected} ${expected}`);
  });

  it("leaves terraform at the caller's priority without a niceness", async () => {
    const { run, text } = nodeScript(`process.stdout.write(String(require("node:os").getPriority()))`);
    expect(await run.promise).toEqual({ exitCode: 0, signal: null });
    expect(text()).toBe(String(os.getPriority()));
  });

  it("streams stdout and stderr in arrival order, tagged, and reports the exit code", async () => {
    const { run, chunks } = nodeScript(`
      process.stdout.write("one\\n");
      setTimeout(() => process.stderr.write("two\\n"), 100);
      setTimeout(() => { process.stdout.write("three\\n"); process.exit(3); }, 200);
    `);
    expect(await run.promise).toEqual({ exitCode: 3, signal: null });
    expect(chunks).toEqual([
      { stream: "stdout", text: "one\n" },
      { stream: "stderr", text: "two\n" },
      { stream: "stdout", text: "three\n" },
    ]);
  });

  it("gives the child exactly the environment and directory it is given, without a shell", async () => {
    const cwd = await mkdtemp(path.join(os.tmpdir(), "tarmac-run-"));
    const { run, text } = nodeScript(`console.log(JSON.stringify({ env: process.env, cwd: process.cwd(), argv: process.argv.slice(1) }))`, {
      cwd,
      env: { ONLY_THIS: "yes" },
    });
    await run.promise;
    const seen = JSON.parse(text()) as { env: Record<string, string>; cwd: string };
    expect(seen.env).toEqual({ ONLY_THIS: "yes" });
    expect(seen.cwd).toBe(await realpath(cwd));

    const out: string[] = [];
    const literal = runTerraform({
      bin: process.execPath,
      args: ["-e", "console.log(process.argv[1])", "$(echo hi) *"],
      cwd,
      env: {},
      onOutput: (c) => out.push(c.toString()),
    });
    await literal.promise;
    expect(out.join("")).toBe("$(echo hi) *\n");
    await rm(cwd, { recursive: true, force: true });
  });

  it("rejects when the binary cannot be started", async () => {
    const run = runTerraform({ bin: "/nonexistent/terraform", args: [], cwd: os.tmpdir(), env: {}, onOutput: () => {} });
    await expect(run.promise).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("interrupts with SIGINT", async () => {
    const { run, text } = nodeScript(`
      process.on("SIGINT", () => { console.log("graceful"); process.exit(1); });
      console.log("ready");
      setInterval(() => {}, 1000);
    `);
    await waitFor(() => text().includes("ready"), "the child to start");
    run.interrupt();
    expect(await run.promise).toEqual({ exitCode: 1, signal: null });
    expect(text()).toContain("graceful");
  });

  it("kills terraform and the processes it started with SIGKILL", async () => {
    const { run, text } = nodeScript(`
      const { spawn } = require("node:child_process");
      const grandchild = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
      process.on("SIGINT", () => {});
      console.log("grandchild " + grandchild.pid);
      setInterval(() => {}, 1000);
    `);
    await waitFor(() => /grandchild \d+/.test(text()), "the grandchild to start");
    const grandchild = Number(/grandchild (\d+)/.exec(text())?.[1]);
    expect(isRunning(grandchild)).toBe(true);
    run.kill();
    expect(await run.promise).toEqual({ exitCode: null, signal: "SIGKILL" });
    await waitFor(() => !isRunning(grandchild), "the grandchild to die");
  });

  it("interrupts when the abort signal fires, even if it fired before the start", async () => {
    const controller = new AbortController();
    controller.abort();
    const { run } = nodeScript(`process.on("SIGINT", () => process.exit(7)); setInterval(() => {}, 1000);`, { signal: controller.signal });
    const exit = await run.promise;
    // SIGINT may land before node installed the handler; then node dies of it.
    expect(exit.exitCode === 7 || exit.signal === "SIGINT").toBe(true);
  });

  it("rejects the run when the output handler throws", async () => {
    const run = runTerraform({
      bin: process.execPath,
      args: ["-e", "console.log('x')"],
      cwd: os.tmpdir(),
      env: {},
      onOutput: () => {
        throw new Error("log store down");
      },
    });
    await expect(run.promise).rejects.toThrow("log store down");
  });
});

// Niceness belongs to each thread on Linux, and a Go (or Node) program has started threads of its
// own by the time it is lowered: every one of them must be reached, not only the main thread.
(process.platform === "linux" ? describe : describe.skip)("lowerPriority", () => {
  const nicenessOfThreads = (pid: number): string[] =>
    readdirSync(`/proc/${pid}/task`).map((tid) => {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16] ?? "";
    });

  it("lowers every thread of a running multi-threaded process", async () => {
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "ignore" });
    try {
      // Wait until the runtime has started its threads (V8's platform workers, libuv's).
      const started = Date.now();
      while (nicenessOfThreads(child.pid!).length < 3 && Date.now() - started < 5000) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(nicenessOfThreads(child.pid!).length).toBeGreaterThanOrEqual(3);
      const niceness = Math.max(os.getPriority(), 9);
      lowerPriority(child.pid!, niceness);
      expect(new Set(nicenessOfThreads(child.pid!))).toEqual(new Set([String(niceness)]));
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("ignores a process that has exited", async () => {
    const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
    const pid = child.pid!;
    await new Promise((r) => child.on("exit", r));
    expect(() => lowerPriority(pid, 9)).not.toThrow();
  });
});
