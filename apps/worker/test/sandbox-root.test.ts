import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
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
