import type { AgentJob, Phase, PhaseSignal, Subjects } from "@tarmac/contracts";
import { subjectsFor } from "@tarmac/contracts";
import type { ArchiveLimits } from "@tarmac/archive";
import { runPhaseJob, type CliConfigOptions, type PhaseServiceDeps, type ProgressPublisher } from "@tarmac/runner";
import type { Logger } from "@tarmac/telemetry";
import { AgentProtocolClient, JobNotHeldError, ProtocolError, TokenRejectedError } from "./protocol-client";

/** Errors after which the agent cannot go on: its token was rejected, or its registration is gone. */
function fatalOf(err: unknown): Error | null {
  if (err instanceof TokenRejectedError) return err;
  if (err instanceof ProtocolError && err.status === 404) return new Error(`this agent is no longer registered with Tarmac (${err.message})`);
  return null;
}

export interface AgentOptions {
  client: AgentProtocolClient;
  logger: Logger;
  name: string;
  capacity: number;
  pingIntervalMs: number;
  pollWaitMs: number;
  heartbeatIntervalMs: number;
  workDir: string;
  terraformBin?: string;
  terraformVersionsDir?: string;
  /** The niceness terraform runs at (TARMAC_TERRAFORM_NICE). */
  terraformNice?: number;
  terraformBaseEnv: Record<string, string>;
  cliConfig?: CliConfigOptions;
  archiveLimits?: ArchiveLimits;
  /** Called once when the agent must stop for good (its token was rejected). */
  onFatal: (err: Error) => void;
}

type Deliver = (signal: PhaseSignal["signal"], why: string) => void;

interface RunningJob {
  job: AgentJob;
  abort: AbortController;
  deliver?: Deliver;
  done: Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One agent process: registers with the pool its token grants, pings, polls for jobs while it
 * has capacity, and runs each with the shared job runner (@tarmac/runner). Progress goes to the
 * gateway's agent protocol, the live log and artifacts through the job URL, and stop orders come
 * back in the answers to its pings.
 */
export class Agent {
  private agentId: string | null = null;
  private readonly running = new Map<string, RunningJob>();
  private isStopping = false;
  private pinger: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private wakeLoop: (() => void) | undefined;
  /** Hangs up the poll in flight when the agent stops, so no job is claimed for it meanwhile. */
  private readonly polling = new AbortController();
  private readonly subjects: Subjects = subjectsFor();

  constructor(private readonly opts: AgentOptions) {}

  get id(): string | null {
    return this.agentId;
  }

  async start(): Promise<void> {
    // The gateway may be restarting or the network not up yet: registration is retried; a
    // rejected token is not.
    let reg: Awaited<ReturnType<AgentProtocolClient["register"]>>;
    for (let backoffMs = 1_000; ; backoffMs = Math.min(backoffMs * 2, 30_000)) {
      try {
        reg = await this.opts.client.register(this.opts.name, this.opts.capacity);
        break;
      } catch (err) {
        const isTransient = err instanceof ProtocolError && (err.status === undefined || err.status >= 500);
        if (!isTransient || this.isStopping) throw err;
        this.opts.logger.warn({ error: err.message, retryInMs: backoffMs }, "registration failed; retrying");
        await sleep(backoffMs);
      }
    }
    this.agentId = reg["agent-id"];
    this.opts.logger.info({ agentId: this.agentId, agentPool: reg["agent-pool-name"], capacity: reg.capacity }, "agent registered");
    this.pinger = setInterval(() => void this.ping(), this.opts.pingIntervalMs);
    this.loop = this.pollLoop();
  }

  private fatal(err: Error): void {
    if (this.isStopping) return;
    this.isStopping = true;
    this.polling.abort();
    clearInterval(this.pinger);
    for (const r of this.running.values()) r.deliver?.("SIGKILL", err.message);
    this.opts.onFatal(err);
  }

  private async ping(): Promise<void> {
    if (!this.agentId || this.isStopping) return;
    try {
      const answer = await this.opts.client.ping(this.agentId, this.running.size > 0 ? "busy" : "idle", [...this.running.keys()]);
      for (const held of answer.jobs) {
        if (held.signal) this.running.get(held["job-id"])?.deliver?.(held.signal, "stop order from Tarmac");
      }
    } catch (err) {
      const fatal = fatalOf(err);
      if (fatal) this.fatal(fatal);
      else this.opts.logger.warn({ error: (err as Error).message }, "ping failed");
    }
  }

  private async pollLoop(): Promise<void> {
    let backoffMs = 1_000;
    while (!this.isStopping) {
      if (this.running.size >= this.opts.capacity) {
        await new Promise<void>((resolve) => (this.wakeLoop = resolve));
        continue;
      }
      try {
        const job = await this.opts.client.nextJob(this.agentId!, this.opts.pollWaitMs, this.polling.signal);
        backoffMs = 1_000;
        if (job && !this.isStopping) this.startJob(job);
      } catch (err) {
        if (this.isStopping) return;
        const fatal = fatalOf(err);
        if (fatal) {
          this.fatal(fatal);
          return;
        }
        this.opts.logger.warn({ error: (err as Error).message }, "poll failed; retrying");
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, 15_000);
      }
    }
  }

  private startJob(job: AgentJob): void {
    const agentId = this.agentId!;
    const logger = this.opts.logger.child({ jobId: job["job-id"], runId: job["run-id"], phase: job.phase });
    const jobUrl = this.opts.client.urlOf(job["job-path"]);
    const abort = new AbortController();
    const entry: RunningJob = { job, abort, done: Promise.resolve() };

    const publisher: ProgressPublisher = {
      publish: async (_subject, event, { retryForMs }) => {
        try {
          await this.opts.client.report(agentId, job["job-id"], event, retryForMs ?? 0);
        } catch (err) {
          if (err instanceof TokenRejectedError) this.fatal(err);
          // The run moved on without this agent: stop terraform now.
          if (err instanceof JobNotHeldError) entry.deliver?.("SIGKILL", err.message);
          throw err;
        }
      },
    };
    const deps: PhaseServiceDeps = {
      publisher,
      subjects: this.subjects,
      liveLog: () => this.opts.client.liveLog(jobUrl, job.phase as Phase),
      stopOrders: async (_runId, _phase, deliver) => {
        entry.deliver = deliver;
        return () => (entry.deliver = undefined);
      },
      logger,
      workerId: agentId,
      workDir: this.opts.workDir,
      ...(this.opts.terraformBin ? { terraformBin: this.opts.terraformBin } : {}),
      ...(this.opts.terraformVersionsDir ? { terraformVersionsDir: this.opts.terraformVersionsDir } : {}),
      heartbeatIntervalMs: this.opts.heartbeatIntervalMs,
      ...(this.opts.terraformNice ? { terraformNice: this.opts.terraformNice } : {}),
      terraformBaseEnv: this.opts.terraformBaseEnv,
      ...(this.opts.cliConfig ? { cliConfig: this.opts.cliConfig } : {}),
      ...(this.opts.archiveLimits ? { archiveLimits: this.opts.archiveLimits } : {}),
    };
    logger.info("job taken");
    entry.done = runPhaseJob(deps, { runId: job["run-id"], phase: job.phase, jobUrl, attempt: job.attempt }, abort.signal)
      .then((outcome) => logger.info({ outcome: outcome.kind }, "job done"))
      .catch((err: Error) => logger.error({ error: err.message }, "job ended without reporting its outcome"))
      .finally(() => {
        this.running.delete(job["job-id"]);
        this.wakeLoop?.();
        void this.ping();
      });
    this.running.set(job["job-id"], entry);
    void this.ping();
  }

  /**
   * Stops polling; running phases get `graceMs` to finish, then are interrupted (they report
   * errored); then the agent tells Tarmac it exited.
   */
  async stop(graceMs: number): Promise<void> {
    this.isStopping = true;
    this.polling.abort();
    this.wakeLoop?.();
    const all = Promise.all([...this.running.values()].map((r) => r.done));
    const timer = setTimeout(() => {
      for (const r of this.running.values()) r.abort.abort();
    }, graceMs);
    await all;
    clearTimeout(timer);
    clearInterval(this.pinger);
    if (this.agentId) await this.opts.client.ping(this.agentId, "exited").catch(() => undefined);
  }
}
