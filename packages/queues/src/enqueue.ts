import { jobIdFor, phaseJob, type Phase, type PhaseJob } from "@tarmac/contracts";
import type { JobState } from "bullmq";
import { queueFor, type PhaseQueues } from "./phase-queues";

export type PhaseJobState = JobState;

export interface EnqueueResult {
  jobId: string;
  /** false when an unfinished job with this id (waiting, delayed, active…) already existed. */
  added: boolean;
}

const FINAL_STATES = new Set<string>(["completed", "failed"]);

/**
 * Idempotent: the job id derives from phase and run (DESIGN invariant 3), so the
 * scheduler may enqueue again whenever it is unsure. A finished job with the same id
 * would make BullMQ ignore the add, so it is removed first: the reconcile loop
 * enqueues again precisely when Postgres says the phase must run again.
 */
export async function enqueuePhaseJob(queues: Pick<PhaseQueues, "plan" | "apply">, job: PhaseJob): Promise<EnqueueResult> {
  const payload = phaseJob.parse(job);
  const queue = queueFor(queues, payload.phase);
  const jobId = jobIdFor(payload.phase, payload.runId);
  const existing = await queue.getJob(jobId);
  if (existing) {
    const state = await existing.getState();
    if (!FINAL_STATES.has(state)) return { jobId, added: false };
    // Not job.remove(), which throws when a concurrent enqueue already replaced the job and a
    // worker holds the new one; the add below is then a no-op, as it should be.
    await queue.remove(jobId);
  }
  // A concurrent enqueue may win the race between getJob and add: BullMQ then keeps
  // the first job and ignores this add, which is the idempotence we want.
  await queue.add(payload.phase, payload, { jobId });
  return { jobId, added: true };
}

/**
 * Adds a run's phase job unless a job with its id exists in any state, finished ones included:
 * BullMQ ignores an add whose job id exists, atomically, in the one round trip of its add script.
 * The same outcome as checking getPhaseJobState for null first and then enqueueing, without the
 * two round trips before the add (the scheduler does it for every run it starts).
 */
export async function addPhaseJobIfAbsent(queues: Pick<PhaseQueues, "plan" | "apply">, job: PhaseJob): Promise<void> {
  const payload = phaseJob.parse(job);
  await queueFor(queues, payload.phase).add(payload.phase, payload, { jobId: jobIdFor(payload.phase, payload.runId) });
}

/** The BullMQ state of a run's phase job, or null when no such job exists. */
export async function getPhaseJobState(
  queues: Pick<PhaseQueues, "plan" | "apply">,
  phase: Phase,
  runId: string,
): Promise<PhaseJobState | null> {
  const state = await queueFor(queues, phase).getJobState(jobIdFor(phase, runId));
  return state === "unknown" ? null : state;
}

/** Removes a run's phase job unless a worker holds it (e.g. a run canceled while queued). */
export async function removePhaseJob(
  queues: Pick<PhaseQueues, "plan" | "apply">,
  phase: Phase,
  runId: string,
): Promise<boolean> {
  const job = await queueFor(queues, phase).getJob(jobIdFor(phase, runId));
  if (!job) return false;
  const state = await job.getState();
  if (state === "active") return false;
  await job.remove();
  return true;
}
