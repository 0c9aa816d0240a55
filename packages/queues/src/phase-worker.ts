import { Worker, type Job } from "bullmq";
import { QUEUES, type Phase, type PhaseJob } from "@tarmac/contracts";
import { bullConnection, queueKeyPrefix, type RedisConnection } from "./connection";
import { PHASE_WORKER_DEFAULTS } from "./defaults";

/**
 * Resolves with what the job's return value should hold: the worker returns the phase's final
 * progress event, so the outcome survives in Redis even if NATS lost the event itself.
 */
export type PhaseJobProcessor = (job: Job<PhaseJob, unknown, string>, signal: AbortSignal) => Promise<unknown>;

export interface PhaseWorkerOptions {
  connection: RedisConnection;
  prefix: string;
  phase: Phase;
  concurrency: number;
  /** Thin: parse the payload, call a service. `signal` aborts when close() runs past its deadline. */
  processor: PhaseJobProcessor;
  /** Defaults to true; false lets the caller call `worker.run()` once its dependencies answer. */
  autorun?: boolean;
  lockDuration?: number;
  stalledInterval?: number;
}

export interface PhaseWorker {
  worker: Worker<PhaseJob, unknown, string>;
  /**
   * Stops taking jobs and waits for in-flight ones up to `timeoutMs` (BullMQ's own
   * close() waits forever). Past the deadline, in-flight processors get an abort
   * signal and a grace period of `abortGraceMs`, then the worker closes by force.
   * Resolves true when every job finished within the deadline.
   */
  close(timeoutMs: number, abortGraceMs?: number): Promise<boolean>;
}

const deadline = (ms: number): { promise: Promise<"timeout">; clear(): void } => {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), ms);
  });
  return { promise, clear: () => clearTimeout(timer) };
};

export function createPhaseWorker(opts: PhaseWorkerOptions): PhaseWorker {
  const connection = bullConnection(opts.connection);
  const worker = new Worker<PhaseJob, unknown, string>(
    QUEUES[opts.phase],
    async (job, _token, signal) => opts.processor(job, signal ?? new AbortController().signal),
    {
      connection: connection.connection,
      prefix: queueKeyPrefix(opts.prefix),
      concurrency: opts.concurrency,
      autorun: opts.autorun ?? true,
      lockDuration: opts.lockDuration ?? PHASE_WORKER_DEFAULTS.lockDuration,
      stalledInterval: opts.stalledInterval ?? PHASE_WORKER_DEFAULTS.stalledInterval,
      maxStalledCount: PHASE_WORKER_DEFAULTS.maxStalledCount,
    },
  );

  let closing: Promise<boolean> | undefined;
  const close = (timeoutMs: number, abortGraceMs = 5_000): Promise<boolean> => {
    closing ??= (async () => {
      const graceful = worker.close();
      const first = deadline(timeoutMs);
      const outcome = await Promise.race([graceful.then(() => "closed" as const), first.promise]);
      first.clear();
      if (outcome === "closed") return true;
      worker.cancelAllJobs("worker shutting down");
      const second = deadline(abortGraceMs);
      const afterAbort = await Promise.race([graceful.then(() => "closed" as const), second.promise]);
      second.clear();
      if (afterAbort === "timeout") await worker.close(true);
      return false;
    })().finally(() => connection.close());
    return closing;
  };

  return { worker, close };
}
