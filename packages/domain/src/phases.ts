import type { RunStatus } from "./statuses";

/** The two phases a worker runs terraform for; each has its queue, job capability and log. */
export const PHASES = ["plan", "apply"] as const;
export type Phase = (typeof PHASES)[number];

/** The run status in which a phase's job waits for a worker. */
export const PHASE_QUEUED_STATUS = { plan: "plan_queued", apply: "apply_queued" } as const satisfies Record<Phase, RunStatus>;

/** The run status while a worker runs the phase. */
export const PHASE_RUNNING_STATUS = { plan: "planning", apply: "applying" } as const satisfies Record<Phase, RunStatus>;

export function isPhase(value: string): value is Phase {
  return (PHASES as readonly string[]).includes(value);
}
