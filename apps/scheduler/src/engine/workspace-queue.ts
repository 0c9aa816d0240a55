import { inSqlTransaction, runsWrite, schedulerRepo, type Tx } from "@tarmac/db";
import { bypassesWorkspaceQueue, holdsWorkspace } from "@tarmac/domain";
import type { Effects, SchedulerContext } from "./context";
import { moveRun } from "./transitions";
import { enterPrePlanStage } from "./task-stages";
import { startApply } from "./lifecycle";

type SchedulingRun = schedulerRepo.SchedulingRun;

type StartOutcome = "plan_queued" | "queuing" | "pre_plan" | "awaiting_configuration" | "errored" | "stale";

const READY_CONFIGURATION = new Set(["uploaded", "archived"]);

/**
 * Starts a pending run's plan: `plan_queued` when its organization has a free slot, else
 * `queuing` (promoted by promoteQueuing once a slot frees). A run whose configuration is
 * not uploaded yet waits; one whose upload failed errors.
 */
async function startPlan(tx: Tx, ctx: SchedulerContext, run: SchedulingRun, effects: Effects, takeWorkspace = false): Promise<StartOutcome> {
  const cvStatus = run.configurationVersion.status;
  if (cvStatus === "errored") {
    if (!(await moveRun(tx, ctx, run, "errored"))) return "stale";
    await runsWrite.settlePhasesOfEndedRun(tx, run.id, ctx.now(), false);
    return "errored";
  }
  if (!READY_CONFIGURATION.has(cvStatus)) return "awaiting_configuration";
  // Pre-plan run tasks come first; the run queues its plan once they pass (queuePlan).
  if (await enterPrePlanStage(tx, ctx, run, effects)) return "pre_plan";
  return queuePlan(tx, ctx, run, effects, takeWorkspace);
}

/**
 * `plan_queued` when the organization has a free slot, else `queuing`. `takeWorkspace`: the run
 * also becomes its workspace's current run, in the same statement. The organization's capacity
 * lock is held from here to the commit, and every other start in the organization waits for it:
 * what follows the count is one statement (the status with its event, the plan's row, the
 * current run).
 */
export async function queuePlan(
  tx: Tx,
  ctx: SchedulerContext,
  run: SchedulingRun,
  effects: Effects,
  takeWorkspace = false,
): Promise<"plan_queued" | "queuing" | "stale"> {
  const org = await schedulerRepo.lockOrganizationCapacity(tx, run.organizationId);
  const used = await schedulerRepo.countRunsUsingCapacity(tx, run.organizationId);
  if (org && used >= org.runConcurrency) {
    if (!(await moveRun(tx, ctx, run, "queuing", undefined, undefined, { takeWorkspace }))) return "stale";
    // A slot freed by a transaction that committed after the count, and whose own promotion looked
    // for queuing runs before this one committed, is found by this promotion after the commit.
    effects.add({ kind: "promote", organizationId: run.organizationId });
    return "queuing";
  }
  if (!(await moveRun(tx, ctx, run, "plan_queued", undefined, undefined, { queuePhase: "plan", takeWorkspace }))) return "stale";
  effects.add({ kind: "enqueue", phase: "plan", runId: run.id });
  return "plan_queued";
}

/**
 * The heart of per-workspace ordering (DESIGN invariant 2). Call with the workspace row
 * locked (lockWorkspaceForUpdate): while no run holds the workspace and no user locked
 * it, the oldest waiting run takes it and becomes current-run. Plan-only runs and the plan
 * stage of saved-plan runs bypass the queue and the lock. A confirmed saved plan queues
 * for the workspace like any run, and applies once it takes it.
 */
export async function advanceWorkspace(tx: Tx, ctx: SchedulerContext, workspaceId: string, effects: Effects): Promise<void> {
  const ws = await schedulerRepo.findSchedulingWorkspace(tx, workspaceId);
  if (!ws) return;
  let isHeld = ws.currentRun !== null && holdsWorkspace(ws.currentRun);
  let isBlocked = isHeld || ws.locked;
  // Blocked, only the runs that bypass the queue and the head can change: a long queue is not read.
  const waiting = isBlocked ? await schedulerRepo.listWaitingRunsWhileBlocked(tx, workspaceId) : await schedulerRepo.listWaitingRuns(tx, workspaceId);
  if (waiting.length === 0) return;

  let hasShownHead = false;

  for (const run of waiting) {
    if (run.status === "pending" && bypassesWorkspaceQueue(run)) {
      await startPlan(tx, ctx, run, effects);
      continue;
    }
    if (isBlocked) {
      // HCP: behind a user's lock, the next run already shows as the workspace's current run.
      if (ws.locked && !isHeld && !hasShownHead && run.status === "pending") {
        if (ws.currentRunId !== run.id) await schedulerRepo.setCurrentRun(tx, workspaceId, run.id);
        hasShownHead = true;
      }
      continue;
    }
    if (run.status === "confirmed") {
      // A saved plan, confirmed earlier, now takes the workspace to apply.
      await schedulerRepo.setCurrentRun(tx, workspaceId, run.id);
      await startApply(tx, ctx, run, effects);
      isHeld = isBlocked = true;
      continue;
    }
    // A run queued for its plan (or for a slot) took the workspace with its status change.
    const outcome = await startPlan(tx, ctx, run, effects, true);
    if (outcome === "errored" || outcome === "stale") continue;
    if (outcome === "awaiting_configuration") {
      // Creation order holds: later runs wait behind the one whose upload is pending.
      isBlocked = true;
      continue;
    }
    if (outcome === "pre_plan") await schedulerRepo.setCurrentRun(tx, workspaceId, run.id);
    isHeld = isBlocked = true;
  }
}

/**
 * Moves `queuing` runs of an organization to `plan_queued` while it has free slots, oldest
 * first. Its own transaction, taking only the organization's capacity lock: a queuing run
 * already holds its workspace (or bypasses it), so no workspace lock is needed.
 */
export async function promoteQueuing(ctx: SchedulerContext, organizationId: string, effects: Effects): Promise<number> {
  // Most promotions (every run's end asks for one) find nobody queuing: one indexed read, no
  // transaction and no capacity lock, which every start in the organization waits for. A run
  // entering `queuing` meanwhile asks for its own promotion once committed (queuePlan).
  if (!(await schedulerRepo.hasQueuingRuns(ctx.db, organizationId))) return 0;
  const promoted = await inSqlTransaction(ctx.db, async (tx) => {
    const org = await schedulerRepo.lockOrganizationCapacity(tx, organizationId);
    if (!org) return [];
    const free = org.runConcurrency - (await schedulerRepo.countRunsUsingCapacity(tx, organizationId));
    const runs = await schedulerRepo.lockQueuingRuns(tx, organizationId, free);
    const moved: SchedulingRun[] = [];
    for (const run of runs) if (await moveRun(tx, ctx, run, "plan_queued", undefined, undefined, { queuePhase: "plan" })) moved.push(run);
    return moved;
  });
  for (const run of promoted) effects.add({ kind: "enqueue", phase: "plan", runId: run.id, ...(run.agentMode === false ? { toWorkers: true } : {}) });
  return promoted.length;
}
