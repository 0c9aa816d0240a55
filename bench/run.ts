/**
 * Tarmac's benchmarks: `npx tsx bench/run.ts` (see bench/README.md). Starts the real gateway,
 * scheduler and worker on a dedicated database seeded with a million runs, measures each scenario
 * and its baseline in the same run, prints a Markdown table and writes bench/results/latest.md
 * (and a JSON copy). Asserts nothing: the numbers are the output.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { build } from "esbuild";
import { Client } from "pg";
import { Redis } from "ioredis";
import { subjectsFor } from "@tarmac/contracts";
import { connectNats, deleteStream } from "@tarmac/events";
import { createTestDatabase, freePort, REPO_ROOT, waitFor, type TestDatabase } from "@tarmac/testing";
import { ANALYSIS } from "./lib/analysis";
import { appPid, rssMb, startMemorySampler, type MemoryPeak } from "./lib/procs";
import { cpuMs, machine, markdownTable, ms, rps, x, type Row } from "./lib/report";
import { seedRuns, type SeedResult } from "./lib/seed";
import {
  COMPILED,
  createOrganization,
  createWorkspace,
  lockWorkspace,
  makeArchive,
  NATS_URL,
  REDIS_URL,
  restartStack,
  startEngine,
  startGatewayFor,
  stopEngine,
  uploadConfiguration,
  type Stack,
} from "./lib/stack";
import { fmt, ratio } from "./lib/stats";
import { hasWrk, type WrkResult } from "./lib/wrk";
import { benchApiReads, benchRunCreation, type LoadSettings } from "./scenarios/api";
import { benchEvents, statusEventLatency, subscribeStatuses, type ActionLatency, type EventLatency, type StatusSubscriber } from "./scenarios/events";
import { preparePipeline, runFloor, runPipeline, type PipelineResult } from "./scenarios/pipeline";
import { ownCpuMs, startCpuSplit, type CpuSplit } from "./lib/cpu-split";

const int = (name: string, def: number) => {
  const v = process.env[name];
  return v === undefined || v === "" ? def : Number.parseInt(v, 10);
};

const settings = {
  totalRuns: int("BENCH_RUNS", 1_000_000),
  load: { connections: int("BENCH_CONNECTIONS", 8), durationS: int("BENCH_DURATION_S", 10), warmupS: int("BENCH_WARMUP_S", 2) } as LoadSettings,
  createWorkspaces: int("BENCH_CREATE_WORKSPACES", 20),
  events: int("BENCH_EVENTS", 100),
  pipelineWorkspaces: int("BENCH_PIPELINE_WORKSPACES", 100),
  runsPerWorkspace: int("BENCH_PIPELINE_RUNS_PER_WORKSPACE", 10),
  /** Scheduling: capacity exceeds demand (a worker plan slot and an organization slot for every workspace). */
  schedulingWorkspaces: int("BENCH_SCHEDULING_WORKSPACES", int("WORKER_CONCURRENCY", 4)),
  schedulingRunsPerWorkspace: int("BENCH_SCHEDULING_RUNS_PER_WORKSPACE", 6),
  pipelineTimeoutS: int("BENCH_PIPELINE_TIMEOUT_S", 150),
  floorRuns: int("BENCH_FLOOR_RUNS", 60),
  workerConcurrency: int("WORKER_CONCURRENCY", 4),
  /** The whole run's budget: the pipeline's time box shrinks (to 60 s at least) when seeding or setup ran late. */
  budgetS: int("BENCH_BUDGET_S", 570),
  scenarios: new Set((process.env.BENCH_SCENARIOS ?? "reads,create,events,scheduling,pipeline").split(",").map((s) => s.trim())),
};

const t0 = Date.now();
const log = (msg: string) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(3)} s] ${msg}\n`);

interface Results {
  seed?: SeedResult;
  reads?: Awaited<ReturnType<typeof benchApiReads>>;
  create?: Awaited<ReturnType<typeof benchRunCreation>>;
  events?: EventLatency & { actions?: ActionLatency };
  pipeline?: Omit<PipelineResult, "runIds">;
  scheduling?: Omit<PipelineResult, "runIds">;
  eventsUnderLoad?: EventLatency;
  floor?: Awaited<ReturnType<typeof runFloor>> & { cpuPerRunMs: number; machinePerRunMs: number };
  memory?: MemoryPeak[];
  pipelineCpu?: CpuSplit;
}

/**
 * The baseline server, compiled like the apps (esbuild, packages from node_modules) when they
 * are, so both sides run the same kind of JavaScript.
 */
async function startBaseline(databaseUrl: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const source = path.join(__dirname, "baseline-server.ts");
  let command = [path.join(REPO_ROOT, "node_modules", ".bin", "tsx"), source];
  if (COMPILED) {
    const outfile = path.join(__dirname, "dist", "baseline-server.js");
    await build({
      entryPoints: [source],
      outfile,
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      logLevel: "warning",
      // As scripts/build-app.mjs: @tarmac packages bundled, the rest loaded from node_modules.
      plugins: [
        {
          name: "external-third-party",
          setup(b) {
            b.onResolve({ filter: /^[^./]/ }, (args) =>
              args.path.startsWith("@tarmac/") || path.isAbsolute(args.path) ? undefined : { path: args.path, external: true },
            );
          },
        },
      ],
    });
    command = [process.execPath, outfile];
  }
  const child = spawn(command[0]!, command.slice(1), {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl, PORT: String(port), POOL_SIZE: "10" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => ((await fetch(`${url}/healthz`).catch(() => null))?.status === 200 ? true : undefined), {
    timeoutMs: 30_000,
    what: "the baseline server",
  });
  return { url, child };
}

async function organizationIdOf(databaseUrl: string, name: string): Promise<string> {
  const c = new Client({ connectionString: databaseUrl });
  await c.connect();
  try {
    return (await c.query<{ id: string }>("SELECT id FROM organizations WHERE name = $1", [name])).rows[0]!.id;
  } finally {
    await c.end();
  }
}

async function deleteRedisKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL);
  try {
    // BullMQ's keys sit under the hash-tagged prefix (`{prefix}:`), the rest under the plain one.
    for (const pattern of [`{${prefix}}:*`, `${prefix}:*`]) {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 1000);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== "0");
    }
  } finally {
    redis.disconnect();
  }
}

/** Requests per second, with the failures (non-2xx, socket errors, wrk's 10 s timeouts) when there were any. */
function rpsOf(w: WrkResult): string {
  return w.errors > 0 ? `${rps(w.rps)} (${fmt(w.errors, 0)} failed)` : rps(w.rps);
}

/** A latency only means something when requests completed; wrk leaves timed-out ones out of it. */
function latencyMet(w: WrkResult, limitMs: number): boolean {
  return w.requests > 0 && w.errors === 0 && w.p99Ms < limitMs;
}

function latencyMiss(w: WrkResult, limitMs: number): string {
  if (w.requests === 0) return `no request completed within the ${settings.load.durationS} s measurement`;
  const failed = w.errors > 0 ? `; ${fmt(w.errors, 0)} requests failed or timed out, which the percentiles leave out` : "";
  return `${ms(w.p99Ms)} (${fmt(w.p99Ms / limitMs, 1)}× the ${limitMs} ms target)${failed}`;
}

/**
 * Status events: the target is on commit → subscriber, the commit as a LISTEN client sees it
 * (watchCommits); it counts only when nearly every event got its commit time. The row written →
 * subscriber time, which adds the rest of the writing transaction, is shown with its split.
 */
function eventRows(scenario: string, e: EventLatency): Row[] {
  const t = e.split;
  const covered = e.count > 0 && t.count >= 0.95 * e.count;
  return [
    {
      scenario,
      metric: `commit → subscriber p50 · p99 (n=${t.count} of ${e.count} events, missing ${e.missing})`,
      tarmac: `${ms(t.relayP50Ms)} · ${ms(t.relayP99Ms)}`,
      baseline: "",
      ratio: "",
      target: "p99 < 50 ms",
      met: covered ? t.relayP99Ms < 50 && e.missing === 0 : null,
      miss: `${ms(t.relayP99Ms)} (${fmt(t.relayP99Ms / 50, 1)}× the 50 ms target)${e.missing ? `, ${e.missing} never arrived` : ""}`,
    },
    {
      scenario,
      metric: "row written → subscriber p50 · p99 (with the rest of the writing transaction: row written → committed p50 · p99)",
      tarmac: `${ms(e.p50Ms)} · ${ms(e.p99Ms)} (${ms(t.commitP50Ms)} · ${ms(t.commitP99Ms)})`,
      baseline: "",
      ratio: "",
      target: "",
      met: null,
    },
  ];
}

/** A CPU split's parts, largest first (those that round to zero left out). */
function splitParts(split: CpuSplit, digits = 2): string {
  return Object.entries(split.perRunMs)
    .sort((a, b) => b[1] - a[1])
    .filter(([, ms]) => ms >= 0.5 / 10 ** digits)
    .map(([name, ms]) => `${name} ${fmt(ms, digits)}`)
    .join(", ");
}

function rowsOf(r: Results): Row[] {
  const rows: Row[] = [];
  const rel = (a: number, b: number) => x(ratio(a, b));
  /** CPU-ms per request: the row, and whether it is within `factor`× the baseline's (or under `absMs`). */
  const cpuRow = (scenario: string, product: WrkResult, baseline: WrkResult, limit: { factor?: number; absMs?: number }): Row => {
    const p = product.cpuMsPerRequest ?? Number.NaN;
    const b = baseline.cpuMsPerRequest ?? Number.NaN;
    const q = ratio(p, b);
    const met = limit.factor !== undefined ? q <= limit.factor : p <= limit.absMs!;
    return {
      scenario,
      metric: "CPU per request (serving processes)",
      tarmac: cpuMs(p),
      baseline: cpuMs(b),
      ratio: x(q),
      target: limit.factor !== undefined ? `≤ ${limit.factor}× baseline` : `≤ ${limit.absMs} CPU-ms`,
      met: Number.isFinite(p) ? met : null,
      miss: limit.factor !== undefined ? `${fmt(q, 2)}× the baseline's CPU instead of ${limit.factor}×` : `${cpuMs(p)} instead of ${limit.absMs}`,
    };
  };
  const latencyRows = (scenario: string, m: { product: WrkResult; baseline: WrkResult }, p99Limit?: number): Row[] => [
    { scenario, metric: "p50", tarmac: ms(m.product.p50Ms), baseline: ms(m.baseline.p50Ms), ratio: rel(m.product.p50Ms, m.baseline.p50Ms), target: "", met: null },
    {
      scenario,
      metric: "p99",
      tarmac: ms(m.product.p99Ms),
      baseline: ms(m.baseline.p99Ms),
      ratio: rel(m.product.p99Ms, m.baseline.p99Ms),
      target: p99Limit === undefined ? "" : `< ${p99Limit} ms`,
      met: p99Limit === undefined ? null : latencyMet(m.product, p99Limit),
      ...(p99Limit === undefined ? {} : { miss: latencyMiss(m.product, p99Limit) }),
    },
  ];
  if (r.reads) {
    const { getRun, listRuns } = r.reads;
    const runRatio = ratio(getRun.product.rps, getRun.baseline.rps);
    rows.push({
      scenario: "1. GET /runs/:id",
      metric: "throughput",
      tarmac: rpsOf(getRun.product),
      baseline: rpsOf(getRun.baseline),
      ratio: x(runRatio),
      target: "≥ 0.5× baseline",
      met: runRatio >= 0.5,
      miss: `${fmt(runRatio, 2)}× instead of 0.5× (${fmt((0.5 - runRatio) * getRun.baseline.rps, 0)} req/s short)`,
    });
    rows.push(cpuRow("1. GET /runs/:id", getRun.product, getRun.baseline, { factor: 2 }));
    rows.push(...latencyRows("1. GET /runs/:id", getRun, 20));
    const scenario = "1. GET /workspaces/:id/runs (baseline: bare page of 20)";
    rows.push({ scenario, metric: "throughput", tarmac: rpsOf(listRuns.product), baseline: rpsOf(listRuns.baseline), ratio: rel(listRuns.product.rps, listRuns.baseline.rps), target: "", met: null });
    rows.push(cpuRow(scenario, listRuns.product, listRuns.baseline, { factor: 3 }));
    rows.push(...latencyRows(scenario, listRuns, 50));
  }
  if (r.create) {
    const { product, baseline } = r.create;
    const q = ratio(product.rps, baseline.rps);
    rows.push({
      scenario: "2. POST /runs",
      metric: "throughput",
      tarmac: rpsOf(product),
      baseline: rpsOf(baseline),
      ratio: x(q),
      target: "≥ 0.33× bare insert",
      met: q >= 1 / 3,
      miss: `${fmt(q, 2)}× instead of 0.33× (${fmt((1 / 3 - q) * baseline.rps, 0)} runs/s short)`,
    });
    rows.push(cpuRow("2. POST /runs", product, baseline, { absMs: 6 }));
    const { productSplit, baselineSplit } = r.create;
    if (productSplit && baselineSplit) {
      rows.push({
        scenario: "2. POST /runs",
        metric: `CPU-ms per created run, every process (machine busy ${fmt(productSplit.busyCores, 2)} cores): ${splitParts(productSplit)}; bare insert: ${splitParts(baselineSplit)}`,
        tarmac: `${fmt(productSplit.machinePerRunMs, 2)} CPU-ms (machine)`,
        baseline: `${fmt(baselineSplit.machinePerRunMs, 2)} CPU-ms (machine)`,
        ratio: x(ratio(productSplit.machinePerRunMs, baselineSplit.machinePerRunMs)),
        target: "",
        met: null,
      });
    }
    rows.push(...latencyRows("2. POST /runs", r.create));
  }
  if (r.pipeline) {
    const p = r.pipeline;
    const floor = r.floor;
    const q = floor ? ratio(p.runsPerSecond, floor.runsPerSecond) : Number.NaN;
    rows.push({
      scenario: "3. Pipeline",
      metric: `runs completed/s (${p.completed}/${p.runs} in ${fmt(p.seconds, 0)} s)`,
      tarmac: `${fmt(p.runsPerSecond, 2)} runs/s`,
      baseline: floor ? `${fmt(floor.runsPerSecond, 2)} runs/s` : "n/a",
      ratio: x(q),
      target: "≥ 0.8× floor",
      met: Number.isFinite(q) ? q >= 0.8 : null,
      miss: `${fmt(q, 2)}× the floor instead of 0.8×`,
    });
    const cpu = r.pipelineCpu;
    if (cpu) {
      rows.push({
        scenario: "3. Pipeline",
        metric: `CPU-ms per completed run (machine busy ${fmt(cpu.busyCores, 2)} cores): ${splitParts(cpu, 0)}`,
        tarmac: `${fmt(cpu.machinePerRunMs, 0)} CPU-ms (machine)`,
        baseline: floor ? `${fmt(floor.cpuPerRunMs, 0)} CPU-ms (double) · ${fmt(floor.machinePerRunMs, 0)} (machine)` : "n/a",
        ratio: floor ? x(ratio(cpu.machinePerRunMs, floor.machinePerRunMs)) : "",
        target: "",
        met: null,
      });
    }
    rows.push({
      scenario: "3. Pipeline",
      metric: `scheduling latency p50 (final → next planning, n=${p.toPlanning.count})`,
      tarmac: ms(p.toPlanning.p50Ms),
      baseline: "0 ms",
      ratio: "",
      target: "",
      met: null,
    });
    rows.push({
      scenario: "3. Pipeline",
      metric: "scheduling latency p99 (final → next planning)",
      tarmac: ms(p.toPlanning.p99Ms),
      baseline: "0 ms",
      ratio: "",
      target: "< 100 ms",
      met: p.toPlanning.p99Ms < 100,
      miss: `${ms(p.toPlanning.p99Ms)} (${fmt(p.toPlanning.p99Ms / 100, 1)}× the 100 ms target)`,
    });
    rows.push({
      scenario: "3. Pipeline",
      metric: "final → next run leaves pending, p50 · p99 (the scheduler's decision)",
      tarmac: `${ms(p.toQueued.p50Ms)} · ${ms(p.toQueued.p99Ms)}`,
      baseline: "",
      ratio: "",
      target: "",
      met: null,
    });
  }
  if (r.scheduling) {
    const p = r.scheduling;
    const label = `3b. Scheduling (${p.runs / settings.schedulingRunsPerWorkspace} workspaces × ${settings.schedulingRunsPerWorkspace} runs, capacity > demand)`;
    rows.push({
      scenario: label,
      metric: `final → next planning p50 (n=${p.toPlanning.count}; ${p.completed}/${p.runs} runs final in ${fmt(p.seconds, 0)} s)`,
      tarmac: ms(p.toPlanning.p50Ms),
      baseline: "",
      ratio: "",
      target: "",
      met: null,
    });
    rows.push({
      scenario: label,
      metric: "final → next planning p99",
      tarmac: ms(p.toPlanning.p99Ms),
      baseline: "",
      ratio: "",
      target: "< 100 ms",
      met: p.toPlanning.count > 0 ? p.toPlanning.p99Ms < 100 : null,
      miss: `${ms(p.toPlanning.p99Ms)} (${fmt(p.toPlanning.p99Ms / 100, 1)}× the 100 ms target)`,
    });
    rows.push({
      scenario: label,
      metric: "final → next run leaves pending, p50 · p99",
      tarmac: `${ms(p.toQueued.p50Ms)} · ${ms(p.toQueued.p99Ms)}`,
      baseline: "",
      ratio: "",
      target: "",
      met: null,
    });
  }
  if (r.events) rows.push(...eventRows("4. Events (quiet)", r.events));
  if (r.events?.actions) {
    const a = r.events.actions;
    rows.push({
      scenario: "4. Run action (quiet)",
      metric: `discard: POST answered p50 · p99 (n=${a.count})`,
      tarmac: `${ms(a.postP50Ms)} · ${ms(a.postP99Ms)}`,
      baseline: `${ms(a.getP50Ms)} · ${ms(a.getP99Ms)} (GET of the run)`,
      ratio: fmt(a.postP50Ms / a.getP50Ms, 1),
      target: "",
      met: null,
    });
    rows.push({
      scenario: "4. Run action (quiet)",
      metric: `discard: POST → status visible p50 · p99 (not yet visible right after the 202: ${a.notYetVisible})`,
      tarmac: `${ms(a.visibleP50Ms)} · ${ms(a.visibleP99Ms)}`,
      baseline: "",
      ratio: "",
      target: "",
      met: null,
    });
    if (a.hop) {
      rows.push({
        scenario: "4. Run action (quiet)",
        metric: "request recorded → scheduler decided p50 · p99 (the event hop)",
        tarmac: `${ms(a.hop.p50Ms)} · ${ms(a.hop.p99Ms)}`,
        baseline: "",
        ratio: "",
        target: "",
        met: null,
      });
    }
  }
  if (r.eventsUnderLoad) rows.push(...eventRows("4. Events (during 3)", r.eventsUnderLoad));
  for (const m of r.memory ?? []) {
    if (m.readyMb !== undefined) {
      rows.push({
        scenario: "5. Memory",
        metric: `${m.name} RSS, fresh (just started and ready, before the setup of 3)`,
        tarmac: `${fmt(m.readyMb, 0)} MB`,
        baseline: "",
        ratio: "",
        target: "< 120 MB",
        met: m.readyMb < 120,
        miss: `${fmt(m.readyMb, 0)} MB (${fmt(m.readyMb - 120, 0)} MB over)`,
      });
    }
    rows.push({
      scenario: "5. Memory",
      metric: `${m.name} RSS after the setup of 3 (100 workspaces, configurations uploaded)`,
      tarmac: `${fmt(m.startMb, 0)} MB`,
      baseline: "",
      ratio: "",
      target: "< 120 MB",
      met: m.startMb < 120,
      miss: `${fmt(m.startMb, 0)} MB (${fmt(m.startMb - 120, 0)} MB over)`,
    });
    rows.push({
      scenario: "5. Memory",
      metric: `${m.name} peak RSS during 3 (whole tree: launcher, cluster workers, terraform children)`,
      tarmac: `${fmt(m.processMb, 0)} MB (${fmt(m.treeMb, 0)})`,
      baseline: "",
      ratio: "",
      target: "< 200 MB",
      met: m.processMb < 200,
      miss: `${fmt(m.processMb, 0)} MB (${fmt(m.processMb - 200, 0)} MB over)`,
    });
  }
  return rows;
}

function missedSection(rows: Row[]): string {
  const missed = rows.filter((r) => r.met === false);
  if (missed.length === 0) return "Every target was met in this run.\n";
  const keyOf = (r: Row) => `${r.scenario} ${r.metric}`;
  const out: string[] = [];
  const explained = new Set<Row>();
  for (const a of ANALYSIS) {
    const group = missed.filter((r) => !explained.has(r) && keyOf(r).startsWith(a.match));
    if (group.length === 0) continue;
    group.forEach((r) => explained.add(r));
    out.push(`- **${a.title}**: ${group.map((r) => `${r.metric}: ${r.miss ?? "missed"}`).join("; ")}.\n  *What limits it:* ${a.why}`);
  }
  for (const r of missed) if (!explained.has(r)) out.push(`- **${r.scenario}, ${r.metric}**: ${r.miss ?? "missed"}.`);
  return out.join("\n");
}

function renderMarkdown(r: Results, rows: Row[], startedAt: Date, info: Record<string, string>): string {
  const m = machine();
  const p = r.pipeline;
  return `# Tarmac benchmark results

Run ${startedAt.toISOString()} with \`npm run bench\` (apps ${COMPILED ? "compiled: node dist/main.js" : "through tsx"}) in ${fmt((Date.now() - t0) / 1000, 0)} s.

Machine: ${m.cores} cores (${m.cpu}), ${m.memory} memory, Linux ${m.kernel}, Node ${m.node}, ${info.postgres}.
Load average when the run started: ${info.load} (other work on the machine makes every number noisier).

Settings: ${settings.load.connections} connections for ${settings.load.durationS} s per HTTP measurement (wrk, after a ${settings.load.warmupS} s warm-up);
${fmt(r.seed?.organizationRuns ?? 0, 0)} runs in the organization, ${fmt(r.seed?.benchWorkspaceRuns ?? 0, 0)} in the benchmarked workspace (seeded in ${fmt(r.seed?.seconds ?? 0, 0)} s);
pipeline: ${settings.pipelineWorkspaces} auto-apply workspaces × ${settings.runsPerWorkspace} runs, WORKER_CONCURRENCY=${settings.workerConcurrency}
(${settings.workerConcurrency} plan and ${settings.workerConcurrency} apply jobs at once), one gateway, one scheduler, one worker;
floor: ${r.floor?.runs ?? 0} runs of the same terraform test-double invocations (6 per run) on ${settings.workerConcurrency * 2} lanes, no orchestration.
${p ? `Pipeline outcome: ${Object.entries(p.byStatus).map(([s, n]) => `${n} ${s}`).join(", ")}${p.timedOut ? ` when the ${fmt(p.timeoutS, 0)} s time box ended (BENCH_PIPELINE_TIMEOUT_S, shortened to fit BENCH_BUDGET_S when the run is late); the rate is measured over that window` : ""}.` : ""}

${markdownTable(rows)}

## Missed targets

${missedSection(rows)}
`;
}

async function main(): Promise<void> {
  if (!(await hasWrk())) throw new Error("wrk is not installed (Debian/Ubuntu: apt-get install -y wrk)");
  const startedAt = new Date();
  const info: Record<string, string> = { load: os.loadavg().map((l) => l.toFixed(2)).join(", ") };
  const results: Results = {};
  let database: TestDatabase | undefined;
  let stack: Stack | undefined;
  let baseline: ChildProcess | undefined;
  let sub: StatusSubscriber | undefined;
  // Ctrl-C must not leave the apps running: stop them, then exit.
  const interrupt = () => {
    log("interrupted; stopping the apps");
    baseline?.kill("SIGTERM");
    void Promise.allSettled([stack?.worker?.kill(), stack?.scheduler?.kill(), stack?.gateway.process.kill()])
      .then(() => database?.drop())
      .finally(() => process.exit(130));
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  try {
    database = await createTestDatabase();
    log(`database ${database.name}`);
    stack = await startGatewayFor(database.url);
    const { api } = stack;
    log(`gateway at ${stack.gateway.url}, deployment prefix ${stack.prefix}`);

    const orgName = `bench-${stack.prefix}`;
    await createOrganization(api, orgName);
    // The API addresses organizations by name; rows reference the internal id.
    const organizationId = await organizationIdOf(database.url, orgName);
    const account = await api.get("/account/details");
    const userId = account.body.data.id as string;
    const archive = await makeArchive({ "main.tf": 'resource "null_resource" "a" {}\n' });
    const readsWs = await createWorkspace(api, orgName, "reads");
    const readsCv = await uploadConfiguration(api, readsWs, archive);

    log(`seeding ${settings.totalRuns} runs`);
    results.seed = await seedRuns({
      databaseUrl: database.url,
      organizationId,
      userId,
      benchWorkspaceId: readsWs,
      benchConfigurationVersionId: readsCv,
      totalRuns: settings.totalRuns,
      fillerWorkspaces: 99,
    });
    log(`seeded in ${results.seed.seconds.toFixed(1)} s: ${results.seed.organizationRuns} runs, ${results.seed.phaseRows} phase rows`);
    const pg = new Client({ connectionString: database.url });
    await pg.connect();
    let runIds: string[];
    try {
      info.postgres = `PostgreSQL ${(await pg.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v}`;
      runIds = (
        await pg.query<{ id: string }>("SELECT id FROM runs WHERE workspace_id = $1 ORDER BY random() LIMIT 1000", [readsWs])
      ).rows.map((r) => r.id);
    } finally {
      await pg.end();
    }

    await startEngine(stack, database.url, settings.workerConcurrency);
    log("scheduler and worker ready");
    const started = await startBaseline(database.url);
    baseline = started.child;

    if (settings.scenarios.has("reads")) {
      log("scenario 1: API reads");
      results.reads = await benchApiReads({
        settings: settings.load,
        gatewayUrl: stack.gateway.url,
        baselineUrl: started.url,
        token: stack.gateway.adminToken,
        runIds,
        workspaceId: readsWs,
        gatewayPids: [appPid(stack.gateway.process.child.pid!)],
        baselinePids: [started.child.pid!],
      });
    }
    if (settings.scenarios.has("create")) {
      log("scenario 2: run creation");
      const targets: { workspaceId: string; configurationVersionId: string }[] = [];
      for (let i = 0; i < settings.createWorkspaces; i++) {
        const ws = await createWorkspace(api, orgName, `create-${String(i).padStart(2, "0")}`);
        targets.push({ workspaceId: ws, configurationVersionId: await uploadConfiguration(api, ws, archive) });
        // Locked: the created runs stay pending instead of being planned during the measurement.
        await lockWorkspace(api, ws);
      }
      results.create = await benchRunCreation({
        settings: settings.load,
        gatewayUrl: stack.gateway.url,
        baselineUrl: started.url,
        token: stack.gateway.adminToken,
        organizationId,
        targets,
        gatewayPids: [appPid(stack.gateway.process.child.pid!)],
        baselinePids: [started.child.pid!],
        apps: [
          { name: "gateway", launcherPid: stack.gateway.process.child.pid! },
          { name: "scheduler", launcherPid: stack.scheduler!.child.pid! },
          { name: "worker", launcherPid: stack.worker!.child.pid! },
        ],
        baselineApps: [{ name: "bare server", launcherPid: started.child.pid! }],
      });
    }
    baseline.kill("SIGTERM");
    baseline = undefined;
    // The events' apparatus (a NATS subscriber and a reader of every commit's outbox rows) runs
    // from here on: during the HTTP scenarios it was load on the machine that the bare baselines
    // did not carry (PostgreSQL read up to 1,000 outbox rows per creation's wake).
    sub = await subscribeStatuses(NATS_URL, stack.prefix, database.url);
    if (settings.scenarios.has("events")) {
      log("scenario 4: events");
      const ws = await createWorkspace(api, orgName, "events");
      const cv = await uploadConfiguration(api, ws, archive);
      await lockWorkspace(api, ws);
      results.events = await benchEvents({ api, databaseUrl: database.url, sub, workspaceId: ws, configurationVersionId: cv, count: settings.events, gapMs: 20 });
    }
    if (settings.scenarios.has("scheduling")) {
      // Fewer workspaces than worker plan slots and organization slots (run concurrency 10): a
      // next run never waits for capacity, so final → planning is the scheduler's own delay.
      log(`scenario 3b: scheduling, ${settings.schedulingWorkspaces} workspaces × ${settings.schedulingRunsPerWorkspace} runs`);
      const workspaces = await preparePipeline(stack.api, orgName, settings.schedulingWorkspaces, "scheduling");
      const { runIds: _ids, ...scheduling } = await runPipeline({
        api: stack.api,
        databaseUrl: database.url,
        workspaces,
        runsPerWorkspace: settings.schedulingRunsPerWorkspace,
        timeoutS: 120,
      });
      results.scheduling = scheduling;
      log(`scheduling: ${scheduling.completed} runs in ${scheduling.seconds.toFixed(0)} s`);
    }
    if (settings.scenarios.has("pipeline")) {
      log("scenario 3: pipeline (setup: fresh gateway, scheduler and worker; workspaces)");
      stack = await restartStack(stack, database.url, settings.workerConcurrency);
      const apps = [
        { name: "gateway", launcherPid: stack.gateway.process.child.pid! },
        { name: "scheduler", launcherPid: stack.scheduler!.child.pid! },
        { name: "worker", launcherPid: stack.worker!.child.pid! },
      ];
      // Fresh: just started and ready, settled as bench/fresh-memory.ts lets them settle.
      await new Promise((r) => setTimeout(r, Number(process.env.BENCH_SETTLE_MS ?? 5000)));
      const ready = rssMb(apps);
      const workspaces = await preparePipeline(stack.api, orgName, settings.pipelineWorkspaces);
      log(`scenario 3: pipeline, queueing ${settings.pipelineWorkspaces * settings.runsPerWorkspace} runs in locked workspaces`);
      let lastLog = 0;
      const sampler = startMemorySampler(apps);
      let cpuSplit: ReturnType<typeof startCpuSplit> | undefined;
      const pipeline = await runPipeline({
        api: stack.api,
        databaseUrl: database.url,
        workspaces,
        runsPerWorkspace: settings.runsPerWorkspace,
        // What is left of the budget after the floor (~50 s) and the teardown (~25 s).
        timeoutS: () => Math.max(60, Math.min(settings.pipelineTimeoutS, settings.budgetS - (Date.now() - t0) / 1000 - 75)),
        onQueued: () => {
          log("scenario 3: runs queued; unlocking the workspaces (the clock starts)");
          cpuSplit = startCpuSplit(apps);
        },
        onProgress: (done, total) => {
          if (Date.now() - lastLog > 15_000) {
            lastLog = Date.now();
            log(`  ${done}/${total} runs final`);
          }
        },
      });
      results.memory = sampler.stop().map((m) => ({ ...m, readyMb: ready[m.name] }));
      results.pipelineCpu = cpuSplit?.stop(pipeline.completed);
      const { runIds: pipelineRuns, ...rest } = pipeline;
      results.pipeline = rest;
      log(`pipeline: ${pipeline.completed} runs in ${pipeline.seconds.toFixed(0)} s`);
      await new Promise((r) => setTimeout(r, 1000));
      results.eventsUnderLoad = await statusEventLatency(database.url, sub, pipelineRuns);
      // The floor gets the machine to itself.
      await stopEngine(stack);
      log(`floor: ${settings.floorRuns} runs of bare test-double invocations`);
      const cpuBefore = ownCpuMs();
      const floor = await runFloor(settings.floorRuns, settings.workerConcurrency * 2);
      const cpuAfter = ownCpuMs();
      results.floor = {
        ...floor,
        cpuPerRunMs: (cpuAfter.childrenMs - cpuBefore.childrenMs) / floor.runs,
        machinePerRunMs: (cpuAfter.machineMs - cpuBefore.machineMs) / floor.runs,
      };
    }
  } catch (err) {
    log(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    for (const p of [stack?.gateway.process, stack?.scheduler, stack?.worker]) {
      if (p) log(`--- ${p.name} output (last 3,000 characters) ---\n${p.output().slice(-3000)}`);
    }
    throw err;
  } finally {
    baseline?.kill("SIGTERM");
    await sub?.close().catch(() => undefined);
    if (stack) {
      await stopEngine(stack).catch(() => undefined);
      await stack.gateway.process.stop().catch(() => undefined);
      const nc = await connectNats(NATS_URL, "tarmac-bench-cleanup");
      await deleteStream(nc, subjectsFor(stack.prefix).streamName).catch(() => undefined);
      await nc.drain();
      await deleteRedisKeys(stack.prefix).catch(() => undefined);
    }
    if (database && !process.env.BENCH_KEEP_DB) await database.drop();
    else if (database) log(`kept database ${database.url}`);
  }

  const rows = rowsOf(results);
  const markdown = renderMarkdown(results, rows, startedAt, info);
  const dir = path.join(__dirname, "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "latest.md"), markdown);
  const json = { startedAt: startedAt.toISOString(), machine: machine(), info, settings: { ...settings, scenarios: [...settings.scenarios] }, results };
  writeFileSync(path.join(dir, `${startedAt.toISOString().replace(/[:.]/g, "-")}.json`), JSON.stringify(json, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2));
  process.stdout.write(`${markdown}\n`);
  log("done");
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`benchmark failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
