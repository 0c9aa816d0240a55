import type { SchedulerContext } from "./context";

/** Runs' workspaces this process saw lately, per context; a run never changes workspace. */
const workspacesOfRuns = new WeakMap<SchedulerContext, Map<string, string>>();
const REMEMBERED_RUNS = 10_000;

export function knownWorkspaceOf(ctx: SchedulerContext, runId: string): string | undefined {
  return workspacesOfRuns.get(ctx)?.get(runId);
}

/**
 * Remembers a run's workspace, so the next event about it (a worker's progress, a person's
 * action) locks the workspace without reading the run first. Oldest first out.
 */
export function rememberWorkspaceOf(ctx: SchedulerContext, run: { id: string; workspaceId: string }): void {
  let known = workspacesOfRuns.get(ctx);
  if (!known) workspacesOfRuns.set(ctx, (known = new Map()));
  if (known.has(run.id)) return;
  if (known.size >= REMEMBERED_RUNS) known.delete(known.keys().next().value as string);
  known.set(run.id, run.workspaceId);
}
