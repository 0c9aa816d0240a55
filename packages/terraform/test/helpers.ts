/** Drives the terraform test double through the production driver in temporary directories. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { runTerraform, type RunningTerraform } from "../src";
import { terraformDoublePath } from "./index";

const created: string[] = [];

/** Call from afterAll: removes every directory makeConfigDir created in this test file. */
export async function removeConfigDirs(): Promise<void> {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

export async function makeConfigDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "tarmac-tf-"));
  created.push(dir);
  for (const [name, content] of Object.entries(files)) await writeFile(path.join(dir, name), content);
  return dir;
}

export function doubleEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), TF_IN_AUTOMATION: "1", ...extra };
}

export interface Started {
  run: RunningTerraform;
  /** stdout and stderr interleaved, as a run log shows them. */
  output: () => string;
  stdout: () => string;
}

export function startDouble(dir: string, args: string[], env: Record<string, string> = doubleEnv(), signal?: AbortSignal): Started {
  const chunks: Buffer[] = [];
  const stdout: Buffer[] = [];
  const onOutput = (c: Buffer, stream: "stdout" | "stderr"): void => {
    chunks.push(c);
    if (stream === "stdout") stdout.push(c);
  };
  const run = runTerraform({ bin: terraformDoublePath, args, cwd: dir, env, onOutput, ...(signal ? { signal } : {}) });
  return { run, output: () => Buffer.concat(chunks).toString("utf8"), stdout: () => Buffer.concat(stdout).toString("utf8") };
}

export interface Finished {
  exitCode: number | null;
  signal: string | null;
  output: string;
  stdout: string;
}

export async function runDouble(dir: string, args: string[], env?: Record<string, string>): Promise<Finished> {
  const started = startDouble(dir, args, env);
  const exit = await started.run.promise;
  return { ...exit, output: started.output(), stdout: started.stdout() };
}

/** Polls until `condition` holds; fails with `what` after the deadline. */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function isAlive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
