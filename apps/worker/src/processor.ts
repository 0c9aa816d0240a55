import { phaseJob, type PhaseProgressEvent } from "@tarmac/contracts";
import type { PhaseJobProcessor } from "@tarmac/queues";
import { extractTraceContext, withSpan } from "@tarmac/telemetry";
import { runPhaseJob, type PhaseServiceDeps } from "@tarmac/runner";

/**
 * Thin: parse the payload, call the service. The attempt is the job's enqueue time: the
 * scheduler re-enqueues a run's phase under the same job id (BullMQ's attempt count restarts
 * at zero then), and each enqueue's events must be distinct messages for JetStream's
 * de-duplication; it also grows with each re-enqueue, so stale events can be told apart.
 * The job's return value is the phase's final event: the reconcile loop replays it if NATS
 * lost the event (a broker restarted with an empty store).
 */
export function createPhaseProcessor(deps: PhaseServiceDeps): PhaseJobProcessor {
  return async (job, signal) => {
    const payload = phaseJob.parse(job.data);
    // The job continues the trace of the scheduler decision that enqueued it.
    const parent = extractTraceContext(payload.traceparent ? { traceparent: payload.traceparent } : {});
    let finalEvent: PhaseProgressEvent | undefined;
    await withSpan(
      `${payload.phase} job`,
      { "tarmac.run_id": payload.runId, "tarmac.phase": payload.phase },
      async () => {
        const outcome = await runPhaseJob(
          deps,
          {
            runId: payload.runId,
            phase: payload.phase,
            jobUrl: payload.jobUrl,
            attempt: job.timestamp + job.attemptsMade,
            onFinalEvent: (event) => (finalEvent = event),
          },
          signal,
        );
        return outcome.kind;
      },
      parent,
    );
    return finalEvent ?? null;
  };
}
