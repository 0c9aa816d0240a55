import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { createOrganization as createApiOrganization, waitFor } from "@tarmac/testing";
import type { CliStack } from "./stack";

/**
 * The terraform CLI on PATH as a user runs it against Tarmac: a working directory with a
 * `cloud` block, a CLI config file holding the token (a `TF_TOKEN_*` variable cannot name a
 * port), the test CA trusted through SSL_CERT_FILE, no checkpoint calls, no prompts.
 */

export const hex = (n: number) => randomBytes(n).toString("hex");

/** Output as the user reads it: terraform colours its own messages with ANSI escapes. */
const plain = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, "");

export interface TfResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout and stderr, for messages and loose assertions. */
  output: string;
}

export interface CloudBlock {
  organization: string;
  /** `name = "…"` */
  workspace?: string;
  /** `tags = [...]` (a list) or `tags = { k = "v" }` (a map) */
  tags?: string[] | Record<string, string>;
  project?: string;
}

export function cloudBlock(hostname: string, c: CloudBlock): string {
  const lines = [`    hostname     = "${hostname}"`, `    organization = "${c.organization}"`];
  const ws: string[] = [];
  // `project` belongs inside `workspaces` (terraform's cloud block schema), not beside it.
  if (c.project) ws.push(`      project = "${c.project}"`);
  if (c.workspace) ws.push(`      name = "${c.workspace}"`);
  if (Array.isArray(c.tags)) ws.push(`      tags = [${c.tags.map((t) => `"${t}"`).join(", ")}]`);
  else if (c.tags) ws.push(`      tags = { ${Object.entries(c.tags).map(([k, v]) => `${k} = "${v}"`).join(", ")} }`);
  return `terraform {\n  cloud {\n${lines.join("\n")}\n    workspaces {\n${ws.join("\n")}\n    }\n  }\n}\n`;
}

/** A configuration using only what works offline: terraform_data, local-exec, variables, outputs. */
export const SIMPLE_CONFIG = `
variable "greeting" {
  type    = string
  default = "hello"
}

resource "terraform_data" "greeting" {
  input = var.greeting
}

output "greeting" {
  value = terraform_data.greeting.output
}
`;

export interface RunOptions {
  env?: Record<string, string>;
  /** Typed answers to the CLI's prompts, one per line. */
  input?: string;
  timeoutMs?: number;
}

export class TerraformUser {
  readonly dir: string;
  readonly configFile: string;
  private readonly home: string;

  constructor(
    readonly stack: CliStack,
    name: string,
  ) {
    this.dir = path.join(stack.workDir, name);
    this.home = path.join(stack.workDir, `${name}-home`);
    this.configFile = path.join(this.home, "terraform.rc");
  }

  /** Writes the CLI config with the token and the given files into a fresh working directory. */
  async init(files: Record<string, string>): Promise<this> {
    await mkdir(this.dir, { recursive: true });
    await mkdir(this.home, { recursive: true });
    await writeFile(this.configFile, `credentials "${this.stack.hostname}" {\n  token = "${this.stack.adminToken}"\n}\n`);
    await this.write(files);
    return this;
  }

  async write(files: Record<string, string>): Promise<void> {
    for (const [name, content] of Object.entries(files)) {
      await mkdir(path.dirname(path.join(this.dir, name)), { recursive: true });
      await writeFile(path.join(this.dir, name), content);
    }
  }

  env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: this.home,
      TF_CLI_CONFIG_FILE: this.configFile,
      SSL_CERT_FILE: this.stack.certs.bundle,
      CHECKPOINT_DISABLE: "1",
      TF_IN_AUTOMATION: "1",
      TF_INPUT: "0",
      ...extra,
    };
  }

  /** Starts `terraform <args>`; the caller waits on `done` (and may signal the child). */
  spawn(args: string[], extraEnv: Record<string, string> = {}, input?: string): { child: ChildProcess; done: Promise<TfResult>; output(): string } {
    // Answers to prompts arrive on stdin, as a user would type them; without any, no prompts.
    const env = this.env(input === undefined ? extraEnv : { TF_INPUT: "1", ...extraEnv });
    const child = spawn("terraform", args, { cwd: this.dir, env, stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
    if (input !== undefined) child.stdin!.end(input);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const done = new Promise<TfResult>((resolve, reject) => {
      child.once("error", reject);
      child.once("close", (code) => resolve({ code, stdout: plain(stdout), stderr: plain(stderr), output: plain(stdout + stderr) }));
    });
    return { child, done, output: () => plain(stdout + stderr) };
  }

  /** Runs `terraform <args>` to the end, with a deadline (a hung CLI fails the test, not the suite). */
  async run(args: string[], { env = {}, input, timeoutMs = 180_000 }: RunOptions = {}): Promise<TfResult> {
    const { child, done } = this.spawn(args, env, input);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    try {
      return await done;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs and fails with the whole output when the exit code is not `expected`. */
  async expect(args: string[], expected = 0, opts: RunOptions = {}): Promise<TfResult> {
    const result = await this.run(args, opts);
    if (result.code !== expected) {
      throw new Error(`terraform ${args.join(" ")} exited ${result.code}, expected ${expected}\n--- stdout ---\n${result.stdout}\n--- stderr ---\n${result.stderr}`);
    }
    return result;
  }
}

/** A fresh organization (cost estimation off, so runs go plan → apply) owned by the admin. */
export function createOrganization(stack: CliStack, attributes: Record<string, unknown> = {}): Promise<string> {
  return createApiOrganization(stack.api, `org-${hex(4)}`, { "cost-estimation-enabled": false, ...attributes });
}

export async function workspaceByName(stack: CliStack, org: string, name: string): Promise<{ id: string; attributes: Record<string, any>; relationships: Record<string, any> } | null> {
  const res = await stack.api.get(`/organizations/${org}/workspaces/${name}`);
  if (res.status === 404) return null;
  if (res.status !== 200) throw new Error(`GET workspace ${name} answered ${res.status}: ${res.text}`);
  return res.body.data;
}

export async function runsOf(stack: CliStack, workspaceId: string): Promise<Array<{ id: string; attributes: Record<string, any> }>> {
  const res = await stack.api.get(`/workspaces/${workspaceId}/runs?page[size]=100`);
  if (res.status !== 200) throw new Error(`GET runs answered ${res.status}: ${res.text}`);
  return res.body.data;
}

/** The current state of a workspace as terraform wrote it (null before the first apply). */
export async function currentState(stack: CliStack, workspaceId: string): Promise<any | null> {
  const sv = await stack.api.get(`/workspaces/${workspaceId}/current-state-version`);
  if (sv.status === 404) return null;
  if (sv.status !== 200) throw new Error(`GET current-state-version answered ${sv.status}: ${sv.text}`);
  const url = sv.body.data.attributes["hosted-state-download-url"] as string;
  const res = await stack.api.request("GET", url.replace(stack.url, ""));
  if (res.status !== 200) throw new Error(`state download answered ${res.status}: ${res.text}`);
  return res.body;
}

export function resourceAddresses(state: any): string[] {
  return ((state?.resources ?? []) as Array<{ mode: string; type: string; name: string }>)
    .filter((r) => r.mode === "managed")
    .map((r) => `${r.type}.${r.name}`)
    .sort();
}

export async function waitForRunStatus(stack: CliStack, runId: string, statuses: string[], timeoutMs = 60_000): Promise<string> {
  return waitFor(
    async () => {
      const res = await stack.api.get(`/runs/${runId}`);
      const status = res.body?.data?.attributes?.status as string | undefined;
      return status && statuses.includes(status) ? status : undefined;
    },
    { timeoutMs, intervalMs: 300, what: `run ${runId} to be ${statuses.join(" or ")}` },
  );
}

/** The run the CLI announced ("To view this run in a browser, visit: …/runs/run-…"), last one first. */
export function runIdsIn(output: string): string[] {
  return [...output.matchAll(/\/runs\/(run-[A-Za-z0-9]+)/g)].map((m) => m[1]!).reverse();
}

export async function runById(stack: CliStack, runId: string): Promise<{ id: string; attributes: Record<string, any>; relationships: Record<string, any> }> {
  const res = await stack.api.get(`/runs/${runId}`);
  if (res.status !== 200) throw new Error(`GET /runs/${runId} answered ${res.status}: ${res.text}`);
  return res.body.data;
}
