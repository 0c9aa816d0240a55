import { phaseJob } from "@tarmac/contracts";
import type { PhaseJobProcessor } from "@tarmac/queues";
import { runPhaseJob, type PhaseServiceDeps } from "./phase-service";

/**
 * Thin: parse the payload, call the service. The attempt is the job's enqueue time: the
 * scheduler re-enqueues a run's phase under the same job id (BullMQ's attempt count restarts
 * at zero then), and each enqueue's events must be distinct messages for JetStream's
 * de-duplication; it also grows with each re-enqueue, so stale events can be told apart.
 */
export function createPhaseProcessor(deps: PhaseServiceDeps): PhaseJobProcessor {
  return async (job, signal) => {
    const payload = phaseJob.parse(job.data);
    await runPhaseJob(
      deps,
      { runId: payload.runId, phase: payload.phase, jobUrl: payload.jobUrl, attempt: job.timestamp + job.attemptsMade },
      signal,
    );
  };
}
