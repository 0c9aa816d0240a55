import { PHASE_QUEUED_STATUS, PHASE_RUNNING_STATUS, type Phase } from "./phases";
import type { RunStatus } from "./statuses";

/**
 * When a job capability (a worker's job URL for one phase of one run) is still alive. A phase
 * lives while the run is queued for it or running it, and, after the run ended under a
 * running terraform (canceled by force-execute, for instance), until the worker reports how
 * the phase ended: terraform still owes its log and, for an apply, the state it wrote. Once
 * the phase has ended nothing may be read or written through its URL.
 */
export type JobPhase = Phase;

/** The run statuses in which a phase's job URL lives, whatever the phase's row says (SQL checks use them too). */
export const JOB_LIVE_RUN_STATUSES: Record<JobPhase, readonly RunStatus[]> = {
  plan: [PHASE_QUEUED_STATUS.plan, PHASE_RUNNING_STATUS.plan],
  apply: [PHASE_QUEUED_STATUS.apply, PHASE_RUNNING_STATUS.apply],
};

export function isJobPhaseLive(phase: JobPhase, runStatus: RunStatus, phaseStatus: string | null | undefined): boolean {
  return JOB_LIVE_RUN_STATUSES[phase].includes(runStatus) || phaseStatus === "running";
}
