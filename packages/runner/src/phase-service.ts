import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ArchiveLimits } from "@tarmac/archive";
import type { JobSpec, Phase, PhaseProgressEvent, PhaseSignal, Subjects } from "@tarmac/contracts";
import { applyIdFor, planIdFor } from "@tarmac/domain";
import { withSpan, type Logger } from "@tarmac/telemetry";
import {
  buildApplyArgs,
  buildInitArgs,
  buildPlanArgs,
  buildProvidersSchemaArgs,
  buildShowPlanArgs,
  buildTerraformEnv,
  isPlanSuccess,
  parsePlanJson,
  pruneProviderSchemas,
  resolveTerraformBin,
  runTerraform,
  type RunningTerraform,
  type TerraformExit,
} from "@tarmac/terraform";
import { BinaryVersions } from "./binary-versions";
import { writeCliConfig, type CliConfigOptions } from "./cli-config";
import { createJobClient, type JobClient } from "./job-client";
import { PhaseLog, type LiveLogSink } from "./phase-log";
import { ProgressReporter, type FinishedCounts, type ProgressPublisher } from "./progress";
import { PreparationError, prepareWorkspace, STATE_FILE } from "./sandbox/prepare";
import { UnsafeArchiveError } from "./sandbox/extract";

/**
 * How one phase's stop orders reach it (a user's cancel: SIGINT, a force-cancel or the
 * scheduler settling the phase without it: SIGKILL). `watch` resolves once orders are being
 * listened for and returns a function that stops listening.
 */
export type StopOrders = (
  runId: string,
  phase: Phase,
  deliver: (signal: PhaseSignal["signal"], why: string) => void,
) => Promise<() => void>;

export interface PhaseServiceDeps {
  /** Where progress events go (JetStream for a worker, the gateway for an agent). */
  publisher: ProgressPublisher;
  subjects: Subjects;
  /** Where the live log of a phase (its plan or apply id) goes. */
  liveLog: (phaseId: string) => LiveLogSink;
  stopOrders: StopOrders;
  logger: Logger;
  /** Recorded on the phase as who ran it: a worker id or an agent id. */
  workerId: string;
  workDir: string;
  terraformBin?: string;
  terraformVersionsDir?: string;
  /** The niceness terraform runs at (0–19); its own priority when absent. */
  terraformNice?: number;
  heartbeatIntervalMs: number;
  /** What terraform inherits from the worker's environment (see terraform-env.ts). */
  terraformBaseEnv: Record<string, string>;
  /** Provider mirror and plugin cache for the CLI configuration written per job (cli-config.ts). */
  cliConfig?: CliConfigOptions;
  /** Bounds on the configuration archive (the gateway's, from the same settings); defaults when absent. */
  archiveLimits?: ArchiveLimits;
}

export interface PhaseJobInput {
  runId: string;
  phase: Phase;
  jobUrl: string;
  /** Distinct per enqueue of the job (part of every event's message id). */
  attempt: number;
  /** Receives the phase's final progress event once published. */
  onFinalEvent?: (event: PhaseProgressEvent) => void;
}

export type PhaseOutcome =
  | { kind: "finished"; counts: FinishedCounts }
  | { kind: "errored"; message: string }
  | { kind: "canceled"; message?: string };

/** A user's cancel (SIGINT/SIGKILL through stopOrders) or the process shutting down (abort signal). */
interface Control {
  signal: PhaseSignal["signal"] | null;
  shuttingDown: boolean;
  current: RunningTerraform | null;
}

const PLAN_FILE = "tarmac.tfplan";

const APPLY_COMPLETE = /Apply complete! Resources: (?:(\d+) imported, )?(\d+) added, (\d+) changed, (\d+) destroyed/;

/** Counts from the apply output's summary line ("Apply complete! Resources: 1 added, 0 changed, 0 destroyed."). */
export function parseApplyCounts(output: string): FinishedCounts {
  const m = APPLY_COMPLETE.exec(output);
  const n = (s: string | undefined) => (s === undefined ? 0 : Number(s));
  return {
    resourceImports: n(m?.[1]),
    resourceAdditions: n(m?.[2]),
    resourceChanges: n(m?.[3]),
    resourceDestructions: n(m?.[4]),
  };
}

class PhaseFailure extends Error {}
class PhaseInterrupted extends Error {}

/**
 * Runs one plan or apply job end to end: sandbox, configuration and state through the job URL,
 * terraform with live logs, artifacts uploaded, and progress events. The final log (ending in
 * ETX) is stored before the final event is published, so a log reader that saw ETX finds the
 * phase final once the scheduler has recorded that event (notes §0.8).
 */
export async function runPhaseJob(deps: PhaseServiceDeps, input: PhaseJobInput, abort: AbortSignal): Promise<PhaseOutcome> {
  const { runId, phase } = input;
  const logger = deps.logger.child({ runId, phase, attempt: input.attempt });
  const client = createJobClient(input.jobUrl);
  const phaseId = phase === "plan" ? planIdFor(runId) : applyIdFor(runId);
  const log = new PhaseLog({
    sink: deps.liveLog(phaseId),
    onError: (err) => logger.warn({ error: err.message }, "live log append failed"),
  });
  const progress = new ProgressReporter({
    publisher: deps.publisher,
    subjects: deps.subjects,
    runId,
    phase,
    attempt: input.attempt,
    workerId: deps.workerId,
    heartbeatIntervalMs: deps.heartbeatIntervalMs,
    onHeartbeatError: (err) => logger.warn({ error: err.message }, "heartbeat not published"),
    ...(input.onFinalEvent ? { onFinalEvent: input.onFinalEvent } : {}),
  });

  const control: Control = { signal: null, shuttingDown: false, current: null };
  const deliver = (signal: PhaseSignal["signal"]): void => {
    control.signal = control.signal === "SIGKILL" ? "SIGKILL" : signal;
    if (signal === "SIGKILL") control.current?.kill();
    else control.current?.interrupt();
  };
  const onAbort = (): void => {
    control.shuttingDown = true;
    control.current?.interrupt();
  };
  abort.addEventListener("abort", onAbort, { once: true });

  let sandbox: string | null = null;
  let stopListening: (() => void) | undefined;
  let outcome: PhaseOutcome;
  try {
    // Stop orders are listened for before anyone learns the job started.
    stopListening = await deps.stopOrders(runId, phase, (signal, why) => {
      logger.info({ signal, why }, "stop order received");
      deliver(signal);
    });
    // The live log's reset goes out first and `started` right behind it, without waiting for
    // Redis: the scheduler records `planning` only after JetStream acknowledged the event and it
    // ran a transaction, long after the reset landed (a reset that fails costs only the live view).
    const opening = log.open();
    await progress.start();
    await opening;
    logger.info("phase started");
    await mkdir(deps.workDir, { recursive: true, mode: 0o700 });
    sandbox = await mkdtemp(path.join(deps.workDir, `${phase}-`));
    const ctx: StepContext = { deps, client, log, control, sandbox, logger };
    outcome = phase === "plan" ? await executePlan(ctx) : await executeApply(ctx);
  } catch (err) {
    outcome = outcomeOfError(err, control);
    if (outcome.kind === "errored") log.write(`\nError: ${outcome.message}\n`);
    if (!(err instanceof PhaseFailure || err instanceof PhaseInterrupted || err instanceof PreparationError || err instanceof UnsafeArchiveError)) {
      logger.error({ error: (err as Error)?.message }, "phase failed unexpectedly");
    }
  } finally {
    abort.removeEventListener("abort", onAbort);
    stopListening?.();
    if (sandbox) await rm(sandbox, { recursive: true, force: true }).catch((err: Error) => logger.warn({ error: err.message }, "sandbox not removed"));
  }

  if (outcome.kind === "canceled") log.write("\nThe run was canceled.\n");
  await log.flush();
  try {
    await client.putLog(phase, log.finalBytes());
  } catch (err) {
    // The phase must still end: the live log stays readable in Redis until it expires.
    logger.error({ error: (err as Error).message }, "final log not stored");
    if (outcome.kind === "finished") outcome = { kind: "errored", message: `the final log could not be stored: ${(err as Error).message}` };
  }

  try {
    if (outcome.kind === "finished") await progress.finished(outcome.counts);
    else if (outcome.kind === "errored") await progress.errored(outcome.message);
    else await progress.canceled(outcome.message);
  } catch (err) {
    await progress.stop();
    throw err;
  }
  logger.info({ outcome: outcome.kind, ...(outcome.kind === "errored" ? { error: outcome.message } : {}) }, "phase done");
  return outcome;
}

function outcomeOfError(err: unknown, control: Control): PhaseOutcome {
  if (control.signal) return { kind: "canceled" };
  if (control.shuttingDown) return { kind: "errored", message: "the worker shut down before the phase finished" };
  return { kind: "errored", message: err instanceof Error ? err.message : String(err) };
}

interface StepContext {
  deps: PhaseServiceDeps;
  client: JobClient;
  log: PhaseLog;
  control: Control;
  sandbox: string;
  logger: Logger;
}

function checkInterrupted(control: Control): void {
  if (control.signal || control.shuttingDown) throw new PhaseInterrupted("interrupted");
}

interface Prepared {
  bin: string;
  workingDir: string;
  env: Record<string, string>;
  /** Without TF_LOG: for commands whose stdout we parse. */
  quietEnv: Record<string, string>;
  initialState: Buffer | null;
  spec: JobSpec;
}

async function prepare(ctx: StepContext, phase: Phase): Promise<Prepared> {
  const { spec, configuration: archive, state } = await ctx.client.getInputs();
  checkInterrupted(ctx.control);
  const prepared = await prepareWorkspace({
    sandbox: ctx.sandbox,
    spec,
    archive,
    state,
    writeTerraformVariables: phase === "plan",
    ...(ctx.deps.archiveLimits ? { archiveLimits: ctx.deps.archiveLimits } : {}),
  });
  const version = spec.run.terraformVersion || spec.workspace.terraformVersion;
  const resolved = await resolveTerraformBin({
    ...(ctx.deps.terraformBin ? { explicitBin: ctx.deps.terraformBin } : {}),
    ...(ctx.deps.terraformVersionsDir ? { versionsDir: ctx.deps.terraformVersionsDir } : {}),
    version,
    ...(ctx.deps.terraformBaseEnv.PATH !== undefined ? { searchPath: ctx.deps.terraformBaseEnv.PATH } : {}),
  });
  if (!resolved.ok) throw new PhaseFailure(resolved.message);
  const base = { ...ctx.deps.terraformBaseEnv, TF_CLI_CONFIG_FILE: await writeCliConfig(ctx.sandbox, ctx.deps.cliConfig ?? {}) };
  const env = buildTerraformEnv({ base, variables: prepared.env, debuggingMode: spec.run.debuggingMode });
  const quietEnv = buildTerraformEnv({ base, variables: prepared.env, debuggingMode: false });
  delete quietEnv.TF_LOG;
  return { bin: resolved.path, workingDir: prepared.workingDir, env, quietEnv, initialState: prepared.initialState, spec };
}

interface CommandResult {
  exit: TerraformExit;
  /** stdout and stderr interleaved, as the log shows them. */
  output: Buffer;
  stdout: Buffer;
}

/** Runs one terraform command; its output goes to the log (`toLog`) and is returned either way. */
async function terraform(ctx: StepContext, bin: string, args: string[], cwd: string, env: Record<string, string>, toLog: boolean): Promise<CommandResult> {
  checkInterrupted(ctx.control);
  const chunks: Buffer[] = [];
  const stdout: Buffer[] = [];
  const handle = runTerraform({
    bin,
    args,
    cwd,
    env,
    ...(ctx.deps.terraformNice ? { niceness: ctx.deps.terraformNice } : {}),
    onOutput: (chunk, stream) => {
      chunks.push(chunk);
      if (stream === "stdout") stdout.push(chunk);
      if (toLog) ctx.log.write(chunk);
    },
  });
  ctx.control.current = handle;
  // A signal that arrived between commands applies to this one at once.
  if (ctx.control.signal === "SIGKILL") handle.kill();
  else if (ctx.control.signal || ctx.control.shuttingDown) handle.interrupt();
  try {
    // One span per command, so a run's trace shows where its time went (init, plan, show, apply).
    const exit = await withSpan(`terraform ${args.find((a) => !a.startsWith("-")) ?? ""}`.trim(), { "tarmac.terraform.args": args.filter((a) => a.startsWith("-") && !a.startsWith("-var")).join(" ") }, async (span) => {
      const result = await handle.promise;
      span.setAttribute("tarmac.terraform.exit_code", result.exitCode ?? -1);
      return result;
    });
    return { exit, output: Buffer.concat(chunks), stdout: Buffer.concat(stdout) };
  } finally {
    ctx.control.current = null;
  }
}

/** Shared by every phase this process runs (a worker's slots, an agent's jobs). */
const binaryVersions = new BinaryVersions();

async function versionHeader(ctx: StepContext, p: Prepared): Promise<string> {
  // The CLI skips the first three lines of an apply log (notes §0.11); plan logs show them, as HCP's do.
  const header = (version: string): string => `Terraform v${version}\n\nInitializing plugins and modules...\n`;
  const key = await binaryVersions.keyOf(p.bin);
  const known = key === null ? undefined : binaryVersions.get(key);
  if (known !== undefined) return header(known);
  const res = await terraform(ctx, p.bin, ["version", "-json"], p.workingDir, p.quietEnv, false).catch(() => null);
  if (res?.exit.exitCode === 0) {
    try {
      const doc = JSON.parse(res.stdout.toString("utf8")) as { terraform_version?: unknown };
      if (typeof doc.terraform_version === "string") {
        if (key !== null) binaryVersions.set(key, doc.terraform_version);
        return header(doc.terraform_version);
      }
    } catch {
      // Keep the requested version: the header is informational.
    }
  }
  return header(p.spec.run.terraformVersion || p.spec.workspace.terraformVersion);
}

async function init(ctx: StepContext, p: Prepared): Promise<void> {
  const res = await terraform(ctx, p.bin, buildInitArgs(), p.workingDir, p.env, false);
  if (res.exit.exitCode !== 0) {
    // Init's chatter is shown only when it explains a failure.
    ctx.log.write(res.output);
    throw interruptedOr(ctx.control, new PhaseFailure(`terraform init failed (${describeExit(res.exit)})`));
  }
}

function describeExit(exit: TerraformExit): string {
  return exit.signal ? `ended by ${exit.signal}` : `exit code ${exit.exitCode}`;
}

function interruptedOr(control: Control, err: Error): Error {
  return control.signal || control.shuttingDown ? new PhaseInterrupted(err.message) : err;
}

async function executePlan(ctx: StepContext): Promise<PhaseOutcome> {
  const p = await prepare(ctx, "plan");
  ctx.log.write(await versionHeader(ctx, p));
  await init(ctx, p);
  const planFile = path.join(ctx.sandbox, PLAN_FILE);
  const run = p.spec.run;
  let args: string[];
  try {
    args = buildPlanArgs({
      planFile,
      isDestroy: run.isDestroy,
      refresh: run.refresh,
      refreshOnly: run.refreshOnly,
      targetAddrs: run.targetAddrs,
      replaceAddrs: run.replaceAddrs,
      json: p.spec.workspace.structuredRunOutput === true,
    });
  } catch (err) {
    throw new PhaseFailure((err as Error).message);
  }
  const plan = await terraform(ctx, p.bin, args, p.workingDir, p.env, true);
  if (!isPlanSuccess(plan.exit.exitCode)) {
    throw interruptedOr(ctx.control, new PhaseFailure(`terraform plan failed (${describeExit(plan.exit)})`));
  }
  checkInterrupted(ctx.control);

  const show = await terraform(ctx, p.bin, buildShowPlanArgs(planFile), p.workingDir, p.quietEnv, false);
  if (show.exit.exitCode !== 0) {
    ctx.log.write(show.output);
    throw interruptedOr(ctx.control, new PhaseFailure(`terraform show failed (${describeExit(show.exit)})`));
  }
  let counts: FinishedCounts;
  try {
    counts = parsePlanJson(show.stdout);
  } catch (err) {
    throw new PhaseFailure((err as Error).message);
  }
  const planBytes = await readFile(planFile);
  // The plan file and JSON plan upload while `providers schema` runs. Its terraform runs after
  // show's, not beside it: a second terraform at once per slot lengthened every latency-bound
  // path of the apps (events, scheduling) on a machine the slots already fill.
  const uploads = await Promise.allSettled([
    ctx.client.putPlanFile(planBytes),
    ctx.client.putPlanJson(show.stdout),
    uploadProviderSchemas(ctx, p, show.stdout),
  ]);
  // Every upload has ended before the phase goes on (or fails with the first error).
  for (const result of uploads) if (result.status === "rejected") throw result.reason;
  return { kind: "finished", counts };
}

/**
 * The redacted plan the CLI renders (`terraform show`, structured run output) needs the schemas
 * of the plan's resources. Without them that document is refused, but the run itself is sound,
 * so a terraform that cannot print them does not fail the plan.
 */
async function uploadProviderSchemas(ctx: StepContext, p: Prepared, planJson: Buffer): Promise<void> {
  const res = await terraform(ctx, p.bin, buildProvidersSchemaArgs(), p.workingDir, p.quietEnv, false);
  let pruned: Buffer;
  try {
    if (res.exit.exitCode !== 0) throw new Error(`terraform providers schema failed (${describeExit(res.exit)}): ${res.output.toString("utf8").slice(0, 300)}`);
    pruned = Buffer.from(JSON.stringify(pruneProviderSchemas(res.stdout, planJson)));
  } catch (err) {
    checkInterrupted(ctx.control);
    ctx.logger.warn({ error: (err as Error).message }, "provider schemas not available; the redacted plan will be refused");
    return;
  }
  await ctx.client.putProviderSchemas(pruned);
}

async function executeApply(ctx: StepContext): Promise<PhaseOutcome> {
  // The saved plan downloads while the sandbox is prepared and terraform initializes.
  const planDownload = ctx.client.getPlanFile();
  // Whichever step fails first, the download's own failure is not left unhandled.
  planDownload.catch(() => undefined);
  const p = await prepare(ctx, "apply");
  ctx.log.write(await versionHeader(ctx, p));
  await init(ctx, p);
  const planFile = path.join(ctx.sandbox, PLAN_FILE);
  await writeFile(planFile, await planDownload, { mode: 0o600 });

  const apply = await terraform(ctx, p.bin, buildApplyArgs(planFile, { json: p.spec.workspace.structuredRunOutput === true }), p.workingDir, p.env, true);
  // Whatever happened, terraform saved what it did: a canceled or failed apply still changes state.
  await uploadStateIfChanged(ctx, p);
  if (apply.exit.exitCode !== 0) {
    throw interruptedOr(ctx.control, new PhaseFailure(`terraform apply failed (${describeExit(apply.exit)})`));
  }
  if (ctx.control.signal) return { kind: "canceled" };
  return { kind: "finished", counts: parseApplyCounts(apply.output.toString("utf8")) };
}

async function uploadStateIfChanged(ctx: StepContext, p: Prepared): Promise<void> {
  const after = await readFile(path.join(p.workingDir, STATE_FILE)).catch(() => null);
  if (!after || (p.initialState && after.equals(p.initialState))) return;
  await ctx.client.putState(after);
}
