import { isFinalStatus, type RunStatus } from "./statuses";

export interface QueueFacts {
  status: RunStatus;
  planOnly: boolean;
  savePlan: boolean;
}

/** The part of a saved-plan run that needs the workspace: applying it (modes-and-options docs). */
const SAVED_PLAN_HOLDING_STATUSES: readonly RunStatus[] = ["confirmed", "apply_queued", "applying"];

/**
 * Whether the run holds its workspace, keeping every later run pending (DESIGN invariant 2). A
 * normal run holds it from leaving `pending` until a final status, waiting for confirmation
 * included. Plan-only runs never hold it; saved-plan runs only once confirmed.
 */
export function holdsWorkspace(run: QueueFacts): boolean {
  if (run.planOnly) return false;
  if (run.savePlan) return SAVED_PLAN_HOLDING_STATUSES.includes(run.status);
  return run.status !== "pending" && !isFinalStatus(run.status);
}

/** Runs that start planning without waiting for the workspace queue or its lock. */
export function bypassesWorkspaceQueue(run: Pick<QueueFacts, "planOnly" | "savePlan">): boolean {
  return run.planOnly || run.savePlan;
}
