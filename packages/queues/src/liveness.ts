import { jobIdFor, type Phase } from "@tarmac/contracts";
import { queueFor, type PhaseQueues } from "./phase-queues";

export interface PhaseJobLiveness {
  /** BullMQ's state of the run's phase job, or null when Redis holds no such job. */
  state: string | null;
  /**
   * An active job whose lock is held: a live worker process renews the lock every
   * lockDuration/2, so the key disappears within lockDuration of the worker dying (kill -9,
   * a lost machine). Independent of NATS, unlike heartbeat events.
   */
  isLocked: boolean;
  /** When the job completed or failed (ms since epoch), if it did. */
  finishedOn: number | null;
  /** What the worker's processor returned for a completed job (the phase's final event). */
  returnValue: unknown;
}

/** What Redis says about a run's phase job: whether a worker still holds it. */
export async function getPhaseJobLiveness(
  queues: Pick<PhaseQueues, "plan" | "apply">,
  phase: Phase,
  runId: string,
): Promise<PhaseJobLiveness> {
  const queue = queueFor(queues, phase);
  const jobId = jobIdFor(phase, runId);
  // The state first, then the job's fields: a job read before it completed and a state read after
  // would say "completed" without the finish time and return value the reconcile loop relies on
  // (it would take a just-finished apply for one whose events are lost). Once completed or
  // failed, a job's fields no longer change.
  const state = await queue.getJobState(jobId);
  if (state === "unknown") return { state: null, isLocked: false, finishedOn: null, returnValue: undefined };
  const job = await queue.getJob(jobId);
  if (!job) return { state: null, isLocked: false, finishedOn: null, returnValue: undefined };
  const client = await queue.getBackend().client;
  const isLocked = state === "active" && (await client.get(`${queue.toKey(jobId)}:lock`)) !== null;
  return { state, isLocked, finishedOn: job.finishedOn ?? null, returnValue: state === "completed" ? job.returnvalue : undefined };
}
