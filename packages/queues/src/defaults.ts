import type { DefaultJobOptions } from "bullmq";

/**
 * Retries belong to the scheduler's reconcile loop, which re-derives from Postgres
 * whether a phase must run again (DESIGN invariant 3); BullMQ retrying a plan or an
 * apply behind its back would run terraform twice for one attempt.
 */
export const DEFAULT_PHASE_JOB_OPTIONS: DefaultJobOptions = {
  attempts: 1,
  // Finished jobs are kept a while for inspection, then expire; a re-enqueue of the
  // same run removes a finished job first, so the age limit only bounds memory.
  removeOnComplete: { age: 24 * 3600, count: 10_000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 10_000 },
};

/** Worker-side defaults shared by both phases. */
export const PHASE_WORKER_DEFAULTS = {
  /** A job's lock is renewed every lockDuration/2 while the process lives. */
  lockDuration: 30_000,
  stalledInterval: 30_000,
  /**
   * A job whose worker died is failed, not silently re-run: re-running an apply is
   * unsafe, and the scheduler notices the missing heartbeats and decides.
   */
  maxStalledCount: 0,
} as const;
