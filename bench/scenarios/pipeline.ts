import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import { FINAL_STATUSES } from "@tarmac/domain";
import type { ApiClient } from "@tarmac/testing";
import { terraformDoublePath } from "@tarmac/terraform/test";
import { createRun, createWorkspace, lockWorkspace, makeArchive, uploadConfiguration } from "../lib/stack";
import { mapLimit, percentile, sleep } from "../lib/stats";

/**
 * Every run changes the workspace (the trigger follows a run variable), so every run plans,
 * auto-applies and applies; the double spends no time of its own (no terraform-double.json).
 */
export const PIPELINE_CONFIG = `variable "n" {
  default = "0"
}

resource "null_resource" "bench" {
  triggers = {
    n = var.n
  }
}
`;

export interface PipelineWorkspace {
  workspaceId: string;
  configurationVersionId: string;
}

/** Workspaces with auto-apply and an uploaded configuration (setup, not measured). */
export async function preparePipeline(api: ApiClient, organization: string, workspaces: number, namePrefix = "pipeline"): Promise<PipelineWorkspace[]> {
  const archive = await makeArchive({ "main.tf": PIPELINE_CONFIG });
  return mapLimit(
    Array.from({ length: workspaces }, (_, i) => i),
    8,
    async (i) => {
      const workspaceId = await createWorkspace(api, organization, `${namePrefix}-${String(i).padStart(3, "0")}`, { "auto-apply": true });
      return { workspaceId, configurationVersionId: await uploadConfiguration(api, workspaceId, archive) };
    },
  );
}

export interface PipelineResult {
  runs: number;
  completed: number;
  byStatus: Record<string, number>;
  seconds: number;
  runsPerSecond: number;
  /** A run final → the next run of its workspace `planning` (the scheduling latency). */
  toPlanning: { count: number; p50Ms: number; p99Ms: number };
  /**
   * A run final → the next run of its workspace leaving `pending` (to `plan_queued`, or `queuing`
   * when the organization has no free slot): the scheduler's own decision, without the wait for
   * organization capacity and a free worker that `toPlanning` includes.
   */
  toQueued: { count: number; p50Ms: number; p99Ms: number };
  runIds: string[];
  timedOut: boolean;
  timeoutS: number;
}

const FINAL = FINAL_STATUSES as readonly string[];

/**
 * Scenario 3: `runsPerWorkspace` runs queued over the API in every (locked) workspace, in creation
 * order per workspace; the clock starts when the workspaces are unlocked and stops when every run
 * is final or the time box ends. Times come from outbox_events.created_at, when each status
 * change's event row was written (millisecond precision; the API's status-timestamps have seconds).
 */
export async function runPipeline(input: {
  api: ApiClient;
  databaseUrl: string;
  workspaces: PipelineWorkspace[];
  runsPerWorkspace: number;
  /** The time box, read when the clock starts (so it can take what the run has left). */
  timeoutS: number | (() => number);
  onProgress?: (done: number, total: number) => void;
  /** Called once every run is queued, just before the workspaces are unlocked (the clock starts). */
  onQueued?: () => void;
}): Promise<PipelineResult> {
  const { workspaces, runsPerWorkspace } = input;
  const total = workspaces.length * runsPerWorkspace;
  // Every run is queued while the workspaces are locked, so the measurement starts with all
  // 1,000 waiting and API run creation (scenario 2) stays out of it.
  await mapLimit(workspaces, 8, (w) => lockWorkspace(input.api, w.workspaceId));
  const runIds: string[] = [];
  // Round k creates every workspace's k-th run, so each workspace's runs are created in order.
  for (let k = 0; k < runsPerWorkspace; k++) {
    const ids = await mapLimit(workspaces, 8, (w) =>
      createRun(input.api, w.workspaceId, w.configurationVersionId, { variables: [{ key: "n", value: JSON.stringify(`run-${k}`) }] }),
    );
    runIds.push(...ids);
  }
  input.onQueued?.();
  const timeoutS = typeof input.timeoutS === "function" ? input.timeoutS() : input.timeoutS;
  const started = Date.now();
  await mapLimit(workspaces, 8, async (w) => {
    const res = await input.api.post(`/workspaces/${w.workspaceId}/actions/unlock`);
    if (res.status !== 200) throw new Error(`unlock ${w.workspaceId}: ${res.status} ${res.text.slice(0, 300)}`);
  });
  const c = new Client({ connectionString: input.databaseUrl });
  await c.connect();
  try {
    let completed = 0;
    let timedOut = false;
    for (;;) {
      const { rows } = await c.query<{ n: string }>("SELECT count(*) AS n FROM runs WHERE id = ANY($1::text[]) AND status::text = ANY($2::text[])", [
        runIds,
        FINAL,
      ]);
      completed = Number(rows[0]!.n);
      input.onProgress?.(completed, total);
      if (completed >= total) break;
      if (Date.now() - started > timeoutS * 1000) {
        timedOut = true;
        break;
      }
      await sleep(1000);
    }
    const statuses = await c.query<{ status: string; n: string }>("SELECT status::text, count(*) AS n FROM runs WHERE id = ANY($1::text[]) GROUP BY 1", [runIds]);
    const byStatus = Object.fromEntries(statuses.rows.map((r) => [r.status, Number(r.n)]));
    const events = await c.query<{ run_id: string; workspace_id: string; seq: string; from: string; to: string; ms: string }>(
      `SELECT r.id AS run_id, r.workspace_id, r.seq::text AS seq, o.payload->>'from' AS from, o.payload->>'to' AS to,
              (extract(epoch FROM o.created_at) * 1000)::bigint::text AS ms
       FROM outbox_events o JOIN runs r ON r.id = o.payload->>'runId'
       WHERE o.subject LIKE '%.status' AND r.id = ANY($1::text[])`,
      [runIds],
    );
    const byRun = new Map<string, { ws: string; seq: bigint; final?: number; planning?: number; queued?: number }>();
    let lastFinal = started;
    for (const e of events.rows) {
      const r = byRun.get(e.run_id) ?? { ws: e.workspace_id, seq: BigInt(e.seq) };
      const ms = Number(e.ms);
      if (FINAL.includes(e.to)) {
        r.final = ms;
        lastFinal = Math.max(lastFinal, ms);
      } else if (e.to === "planning") r.planning = ms;
      if (e.from === "pending" && (r.queued === undefined || ms < r.queued)) r.queued = ms;
      byRun.set(e.run_id, r);
    }
    const perWorkspace = new Map<string, { seq: bigint; final?: number; planning?: number; queued?: number }[]>();
    for (const r of byRun.values()) perWorkspace.set(r.ws, [...(perWorkspace.get(r.ws) ?? []), r]);
    const toPlanning: number[] = [];
    const toQueued: number[] = [];
    for (const list of perWorkspace.values()) {
      list.sort((a, b) => (a.seq < b.seq ? -1 : 1));
      for (let i = 0; i + 1 < list.length; i++) {
        const prev = list[i]!;
        const next = list[i + 1]!;
        if (prev.final === undefined) continue;
        if (next.planning !== undefined) toPlanning.push(next.planning - prev.final);
        if (next.queued !== undefined) toQueued.push(next.queued - prev.final);
      }
    }
    const seconds = (lastFinal - started) / 1000;
    return {
      runs: total,
      completed,
      byStatus,
      seconds,
      runsPerSecond: completed / seconds,
      toPlanning: { count: toPlanning.length, p50Ms: percentile(toPlanning, 50), p99Ms: percentile(toPlanning, 99) },
      toQueued: { count: toQueued.length, p50Ms: percentile(toQueued, 50), p99Ms: percentile(toQueued, 99) },
      runIds,
      timedOut,
      timeoutS,
    };
  } finally {
    await c.end();
  }
}

function invoke(cwd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(terraformDoublePath, args, {
      cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "", HOME: os.homedir(), TF_IN_AUTOMATION: "1", TMPDIR: os.tmpdir() },
    });
    child.stdout.resume();
    child.stderr.resume();
    child.once("error", reject);
    child.once("exit", (code) => resolve(code ?? 1));
  });
}

/**
 * The floor: the worker's terraform invocations for one run (plan phase: init, plan, show,
 * providers schema (for `terraform show` of a saved plan); apply phase: init, apply) in a fresh directory per run, `lanes` runs at a time,
 * with nothing else: no HTTP, queue, events or database.
 */
export async function runFloor(runs: number, lanes: number): Promise<{ runs: number; seconds: number; runsPerSecond: number; failures: number }> {
  const root = await mkdtemp(path.join(os.tmpdir(), "tarmac-bench-floor-"));
  let failures = 0;
  const started = Date.now();
  try {
    await mapLimit(
      Array.from({ length: runs }, (_, i) => i),
      lanes,
      async (i) => {
        const dir = await mkdtemp(path.join(root, "run-"));
        await writeFile(path.join(dir, "main.tf"), PIPELINE_CONFIG);
        // The worker asks a binary's version once per process (BinaryVersions), not per phase.
        const steps = [
          ["init", "-input=false", "-no-color"],
          ["plan", "-input=false", "-no-color", "-out=run.tfplan", "-detailed-exitcode", `-var=n="run-${i}"`],
          ["show", "-json", "run.tfplan"],
          ["providers", "schema", "-json"],
          ["init", "-input=false", "-no-color"],
          ["apply", "-input=false", "-no-color", "-auto-approve", "run.tfplan"],
        ];
        for (const args of steps) {
          const code = await invoke(dir, args);
          if (code !== 0 && !(args[0] === "plan" && code === 2)) failures++;
        }
        await rm(dir, { recursive: true, force: true });
      },
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  const seconds = (Date.now() - started) / 1000;
  return { runs, seconds, runsPerSecond: runs / seconds, failures };
}
