import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { claimSandboxRoot } from "@tarmac/runner";

let workDir: string;

beforeEach(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), "tarmac-sandbox-root-"));
});

afterEach(async () => {
  await rm(workDir, { recursive: true, force: true });
});

/** The pid of a process that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.once("exit", resolve));
  return child.pid!;
}

/** Waits until /proc says the process is in `state` (R, S, Z…). */
async function waitForState(pid: number, state: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
    if (stat.slice(stat.lastIndexOf(")") + 2).split(" ")[0] === state) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`process ${pid} never reached state ${state}`);
}

async function fakeWorkerDir(name: string, owner: Record<string, unknown> | null): Promise<string> {
  const dir = path.join(workDir, name);
  await mkdir(path.join(dir, "plan-abc", "config", ".terraform"), { recursive: true });
  await writeFile(path.join(dir, "plan-abc", "tarmac.tfplan"), "plan");
  if (owner) await writeFile(path.join(dir, "owner.json"), JSON.stringify(owner));
  return dir;
}

const DAY = 24 * 3600 * 1000;

async function makeOld(file: string): Promise<void> {
  const old = new Date(Date.now() - 2 * DAY);
  await utimes(file, old, old);
}

describe("sandbox root", () => {
  it("removes the sandboxes of a dead worker and keeps those of a live one on the same machine", async () => {
    const dead = await fakeWorkerDir("proc-1-dead", { pid: await deadPid(), hostname: os.hostname(), startTicks: null });
    const live = await claimSandboxRoot({ workDir, maxAgeMs: DAY });
    await mkdir(path.join(live.dir, "plan-live"));

    const mine = await claimSandboxRoot({ workDir, maxAgeMs: DAY });
    const removed = await mine.sweep();
    expect(removed).toEqual([dead]);
    expect((await readdir(workDir)).sort()).toEqual([path.basename(live.dir), path.basename(mine.dir)].sort());
    expect(await readdir(live.dir)).toContain("plan-live");
  });

  it("treats an owner that exited but was never reaped (a zombie) as dead", async () => {
    // `sh` starts a child that outlives it, then becomes `sleep`, which never reaps it: once the
    // child exits it stays a zombie. The child sleeps so that it exits after the exec; a child that
    // exited first could be reaped by `sh` itself and vanish instead.
    const parent = spawn("sh", ["-c", "sleep 1 & echo $!; exec sleep 30"], { stdio: ["ignore", "pipe", "ignore"] });
    try {
      const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once("data", (d: Buffer) => resolve(d.toString().trim()))));
      await waitForState(zombie, "Z");
      const dir = await fakeWorkerDir("proc-zombie", { pid: zombie, hostname: os.hostname(), startTicks: null });
      const mine = await claimSandboxRoot({ workDir, maxAgeMs: DAY });
      expect(await mine.sweep()).toEqual([dir]);
    } finally {
      parent.kill("SIGKILL");
    }
  });

  it("treats a reused pid with another start time as a dead owner", async () => {
    const reused = await fakeWorkerDir("proc-reused", { pid: process.pid, hostname: os.hostname(), startTicks: "1" });
    const mine = await claimSandboxRoot({ workDir, maxAgeMs: DAY });
    expect(await mine.sweep()).toEqual([reused]);
  });

  it("removes what it cannot attribute only past the age limit", async () => {
    const legacyOld = await fakeWorkerDir("plan-old", null);
    await makeOld(legacyOld);
    const legacyNew = await fakeWorkerDir("plan-new", null);
    const otherHostOld = await fakeWorkerDir("proc-9-otherhost", { pid: 9, hostname: "elsewhere", startTicks: null });
    await makeOld(path.join(otherHostOld, "owner.json"));
    const otherHostLive = await fakeWorkerDir("proc-10-otherhost", { pid: 10, hostname: "elsewhere", startTicks: null });
    // A worker killed between creating its directory and writing its owner file, moments ago.
    const starting = await fakeWorkerDir("proc-11-starting", null);

    const mine = await claimSandboxRoot({ workDir, maxAgeMs: DAY });
    expect((await mine.sweep()).sort()).toEqual([legacyOld, otherHostOld].sort());
    const left = await readdir(workDir);
    for (const kept of [legacyNew, otherHostLive, starting, mine.dir]) expect(left).toContain(path.basename(kept));
  });

  it("releases its own directory", async () => {
    const mine = await claimSandboxRoot({ workDir, maxAgeMs: DAY });
    await mkdir(path.join(mine.dir, "apply-x"));
    await mine.release();
    expect(await readdir(workDir)).toEqual([]);
  });
});
