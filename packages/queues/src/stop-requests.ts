import { jobIdFor, QUEUES, type Phase } from "@tarmac/contracts";
import { queueKeyPrefix } from "./connection";
import { queueFor, type PhaseQueues } from "./phase-queues";

/**
 * A stop order for the worker holding a run's phase, kept in Redis next to the job: the
 * scheduler's SIGKILL also goes over NATS, but a phase it settles because of an outage (a
 * timeout, a lost worker) must reach a worker that still runs even while NATS is away.
 * Killing twice is harmless, so the worker may learn it both ways.
 */
export function stopRequestKey(prefix: string, phase: Phase, runId: string): string {
  // Under the queue's hash tag, next to the job's own keys.
  return `${queueKeyPrefix(prefix)}:${QUEUES[phase]}:${jobIdFor(phase, runId)}:stop`;
}

const STOP_REQUEST_TTL_SECONDS = 24 * 3600;

export async function requestPhaseStop(queues: Pick<PhaseQueues, "plan" | "apply">, phase: Phase, runId: string): Promise<void> {
  const queue = queueFor(queues, phase);
  const client = await queue.getBackend().client;
  await client.set(stopRequestKey(queue.opts.prefix ?? "bull", phase, runId), "SIGKILL", { EX: STOP_REQUEST_TTL_SECONDS });
}

/** The worker's side: whether the scheduler ordered this phase stopped. */
export async function isPhaseStopRequested(
  redis: { exists(key: string): Promise<number> },
  prefix: string,
  phase: Phase,
  runId: string,
): Promise<boolean> {
  return (await redis.exists(stopRequestKey(prefix, phase, runId))) === 1;
}
