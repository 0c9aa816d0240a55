import { phasesRepo, runsWrite, schedulerRepo, type Tx } from "@tarmac/db";
import { isFinalStatus, nextStatusAfterPlanStage, type PlanDecisionPoint, type PlanOutcomeFacts, type RunStatus } from "@tarmac/domain";
import type { Effects, SchedulerContext } from "./context";
import { estimateCost } from "./cost-estimate";
import { moveRun } from "./transitions";
import { driveTaskStage, enterApplyTaskStage, needsTaskStage, settleTaskStagesOfEndedRun } from "./task-stages";
import { advanceWorkspace, queuePlan } from "./workspace-queue";

type SchedulingRun = schedulerRepo.SchedulingRun;

/**
 * Whether a run may apply itself. A run queued by a configuration upload follows the
 * workspace's auto-apply (tfe-client-notes §7.2); otherwise its creator must be allowed to
 * apply. A run without a recorded creator user was queued by a team token the gateway
 * already checked.
 */
async function planOutcomeFacts(tx: Tx, run: SchedulingRun): Promise<PlanOutcomeFacts> {
  const org = await schedulerRepo.findOrganizationSettings(tx, run.organizationId);
  let autoApply = run.autoApply;
  let canAutoApply = true;
  if (run.source === "tfe-configuration-version") {
    const ws = await schedulerRepo.findSchedulingWorkspace(tx, run.workspaceId);
    autoApply = ws?.autoApply ?? false;
  } else if (run.createdById) {
    canAutoApply = await schedulerRepo.canUserApply(tx, run.createdById, run.workspaceId, run.organizationId);
  }
  return {
    hasChanges: run.hasChanges,
    planOnly: run.planOnly,
    savePlan: run.savePlan,
    allowEmptyApply: run.allowEmptyApply,
    autoApply,
    canAutoApply,
    costEstimationEnabled: org?.costEstimationEnabled === true,
    postPlanEnabled: await needsTaskStage(tx, run, "post_plan"),
  };
}

/**
 * Moves a run on from a point where its plan's outcome is decided (the plan or a later
 * stage completed), then carries on with whatever the new status requires.
 */
export async function decideAfterPlanStage(
  tx: Tx,
  ctx: SchedulerContext,
  run: SchedulingRun,
  point: PlanDecisionPoint,
  effects: Effects,
  patch?: Parameters<typeof moveRun>[4],
): Promise<void> {
  if (run.status !== point) return;
  const next = nextStatusAfterPlanStage(point, await planOutcomeFacts(tx, run));
  if (next === point) return; // waits here for confirmation
  if (!(await moveRun(tx, ctx, run, next, patch))) return;
  await driveRun(tx, ctx, run, effects);
}

/** Computes the cost estimate from the JSON plan, then decides from `cost_estimated`. */
async function runCostEstimation(tx: Tx, ctx: SchedulerContext, run: SchedulingRun, effects: Effects): Promise<void> {
  const result = estimateCost(await phasesRepo.readPlanJson(tx, run.id), ctx.priceTable);
  await phasesRepo.saveCostEstimate(tx, run.id, result, ctx.now());
  // An estimate that could not be computed does not stop the run (HCP shows it errored and goes on).
  if (!(await moveRun(tx, ctx, run, "cost_estimated"))) return;
  await decideAfterPlanStage(tx, ctx, run, "cost_estimated", effects);
}

/**
 * Statuses a run reaches only once a worker reported its last phase finished: its jobs are
 * completed (or completing) and nothing of them can still start. BullMQ drops completed jobs by
 * itself (PHASE_JOB_DEFAULTS.removeOnComplete).
 */
const ENDED_BY_ITS_PHASES = new Set<RunStatus>(["applied", "planned_and_finished"]);

/**
 * Drops the jobs an ended run may still have waiting (canceled, discarded or errored while
 * queued, or an agent's job not picked up yet). A run that ended by finishing its phases has
 * none: the removal (several Redis round trips and a statement per phase) is skipped.
 */
export function addJobRemovals(run: Pick<SchedulingRun, "id" | "status">, effects: Effects): void {
  if (ENDED_BY_ITS_PHASES.has(run.status)) return;
  effects.add({ kind: "remove-job", phase: "plan", runId: run.id });
  effects.add({ kind: "remove-job", phase: "apply", runId: run.id });
}

/**
 * Once a run no longer holds its workspace: settle its phases, drop its queued jobs, discard
 * saved plans an apply made stale, and let the next run start.
 */
async function releaseWorkspace(tx: Tx, ctx: SchedulerContext, run: SchedulingRun, effects: Effects): Promise<void> {
  if (isFinalStatus(run.status)) {
    await runsWrite.settlePhasesOfEndedRun(tx, run.id, ctx.now(), run.status === "force_canceled");
    // A run without task stages (most) has none to settle.
    if (run.taskStagesPossible !== false) await settleTaskStagesOfEndedRun(tx, ctx, run.id);
    addJobRemovals(run, effects);
  }
  if (run.status === "applied") {
    // A saved plan was computed against the state before this apply: applying it now would be wrong.
    for (const saved of await schedulerRepo.listSavedPlanRuns(tx, run.workspaceId)) {
      const stale = { id: saved.id, status: "planned_and_saved" as const };
      if (await moveRun(tx, ctx, stale, "discarded")) await runsWrite.settlePhasesOfEndedRun(tx, saved.id, ctx.now(), false);
    }
  }
  await advanceWorkspace(tx, ctx, run.workspaceId, effects);
  effects.add({ kind: "promote", organizationId: run.organizationId });
}

/**
 * A confirmed run (or a confirmed saved plan that took its workspace) goes to its pre-apply tasks
 * when the workspace has some, else straight to the apply queue.
 */
export async function startApply(tx: Tx, ctx: SchedulerContext, run: SchedulingRun, effects: Effects): Promise<void> {
  if (run.status === "confirmed" && (await enterApplyTaskStage(tx, ctx, run, "pre_apply", effects))) return;
  await queueApply(tx, ctx, run, effects);
}

/** `apply_queued` from `confirmed` or `pre_apply_completed`, and the apply job. */
async function queueApply(tx: Tx, ctx: SchedulerContext, run: SchedulingRun, effects: Effects): Promise<void> {
  if (await moveRun(tx, ctx, run, "apply_queued", undefined, undefined, { queuePhase: "apply" })) {
    effects.add({ kind: "enqueue", phase: "apply", runId: run.id });
  }
}

/**
 * The apply finished: the run's post-apply tasks run when the workspace has some (the run keeps
 * its workspace meanwhile), then, or at once, the run is applied.
 */
export async function finishApply(tx: Tx, ctx: SchedulerContext, run: SchedulingRun, effects: Effects): Promise<void> {
  if (run.status !== "applying") return;
  if (await enterApplyTaskStage(tx, ctx, run, "post_apply", effects)) return;
  if (await moveRun(tx, ctx, run, "applied")) await driveRun(tx, ctx, run, effects);
}

/**
 * Does whatever the run's current status requires of the scheduler. Idempotent: every
 * event about a run, and the reconcile loop, may call it again; a step already taken is
 * a no-op (compare-and-set transitions, idempotent job ids). Call with the workspace locked.
 */
export async function driveRun(tx: Tx, ctx: SchedulerContext, run: SchedulingRun, effects: Effects): Promise<void> {
  switch (run.status) {
    case "pending":
      await advanceWorkspace(tx, ctx, run.workspaceId, effects);
      return;
    case "queuing":
      effects.add({ kind: "promote", organizationId: run.organizationId });
      return;
    case "plan_queued":
      effects.add({ kind: "enqueue", phase: "plan", runId: run.id });
      return;
    case "apply_queued":
      effects.add({ kind: "enqueue", phase: "apply", runId: run.id });
      return;
    case "confirmed":
      if (run.savePlan) {
        // Confirmed saved plans wait for the workspace like a new run.
        await advanceWorkspace(tx, ctx, run.workspaceId, effects);
        return;
      }
      await startApply(tx, ctx, run, effects);
      return;
    case "pre_apply_completed":
      await queueApply(tx, ctx, run, effects);
      return;
    case "post_apply_completed":
      if (await moveRun(tx, ctx, run, "applied")) await driveRun(tx, ctx, run, effects);
      return;
    case "cost_estimating":
      await runCostEstimation(tx, ctx, run, effects);
      return;
    case "planned_and_saved":
    case "applied":
    case "planned_and_finished":
    case "policy_soft_failed":
    case "discarded":
    case "errored":
    case "canceled":
    case "force_canceled":
      await releaseWorkspace(tx, ctx, run, effects);
      return;
    case "pre_plan_running":
    case "post_plan_running":
    case "pre_apply_running":
    case "post_apply_running":
      await driveTaskStage(tx, ctx, run, effects);
      return;
    case "pre_plan_completed":
      await queuePlan(tx, ctx, run, effects);
      return;
    case "post_plan_completed":
      await decideAfterPlanStage(tx, ctx, run, "post_plan_completed", effects);
      if (run.status === "post_plan_completed") effects.add({ kind: "promote", organizationId: run.organizationId });
      return;
    case "planned":
    case "cost_estimated":
    case "policy_override":
    case "policy_checked":
      // Waiting for a person frees the organization slot the plan used (the workspace stays held).
      effects.add({ kind: "promote", organizationId: run.organizationId });
      return;
    case "fetching":
    case "fetching_completed":
    case "planning":
    case "policy_checking":
    case "applying":
      // A worker or a person moves the run on from here.
      return;
  }
}
