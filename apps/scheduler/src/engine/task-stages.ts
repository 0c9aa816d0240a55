import { runTasksRepo, schedulerRepo, type Tx } from "@tarmac/db";
import {
  canOverrideTaskStage,
  isRunnableTaskStage,
  taskStageFailureStopsRun,
  taskStageOfRunStatus,
  taskStageRunStatuses,
  taskStageStatusOf,
  type RunnableTaskStage,
  type RunStatus,
} from "@tarmac/domain";
import type { Effects, SchedulerContext } from "./context";
import { driveRun } from "./lifecycle";
import { moveRun } from "./transitions";

type SchedulingRun = schedulerRepo.SchedulingRun;

/**
 * Run task stages (HCP's run tasks): for each stage with enabled tasks the run waits in the stage's
 * running status while every task's URL is sent the run (by the dispatcher, after commit), then
 * goes on, stops or waits for an override according to the results. Every step is a
 * compare-and-set, so events and the reconcile loop may repeat them.
 */

/** The stage a run's status puts it in, if any. */
export function taskStageOfStatus(status: RunStatus): RunnableTaskStage | null {
  return taskStageOfRunStatus(status);
}

/**
 * Whether the run has a stage to go through here: the pending stage it was created with, or
 * (tasks attached since) enabled tasks and no stage of that kind yet.
 */
export async function needsTaskStage(tx: Tx, run: Pick<SchedulingRun, "id" | "workspaceId" | "taskStagesPossible">, stage: RunnableTaskStage): Promise<boolean> {
  // Most workspaces have no run tasks: the run's read said so, and the question costs no statement.
  if (run.taskStagesPossible === false) return false;
  return runTasksRepo.hasStageToRun(tx, run.id, run.workspaceId, stage);
}

/** A pending run about to plan enters `pre_plan_running` when the workspace has pre-plan tasks. */
export async function enterPrePlanStage(tx: Tx, ctx: SchedulerContext, run: SchedulingRun, effects: Effects): Promise<boolean> {
  if (run.status !== "pending" && run.status !== "fetching_completed") return false;
  if (!(await needsTaskStage(tx, run, "pre_plan"))) return false;
  if (!(await moveRun(tx, ctx, run, "pre_plan_running"))) return false;
  await driveTaskStage(tx, ctx, run, effects);
  return true;
}

/**
 * A confirmed run about to queue its apply, or a run whose apply just finished, enters the stage's
 * running status when the workspace has tasks on that stage (pre_apply, post_apply). False: no such
 * stage, the caller carries on as without tasks.
 */
export async function enterApplyTaskStage(
  tx: Tx,
  ctx: SchedulerContext,
  run: SchedulingRun,
  stage: "pre_apply" | "post_apply",
  effects: Effects,
): Promise<boolean> {
  if (!(await needsTaskStage(tx, run, stage))) return false;
  if (!(await moveRun(tx, ctx, run, taskStageRunStatuses(stage).running))) return false;
  await driveTaskStage(tx, ctx, run, effects);
  return true;
}

/** The run event saying which mandatory tasks failed a stage. */
function failedTasksDescription(stage: RunnableTaskStage, results: readonly { taskName: string; enforcementLevel: string; status: string }[]): string {
  const failed = results.filter((r) => r.enforcementLevel === "mandatory" && r.status !== "passed").map((r) => `"${r.taskName}" (${r.status})`);
  const label = stage.replace("_", "-");
  return `Mandatory ${label} run task${failed.length === 1 ? "" : "s"} ${failed.join(", ")} did not pass`;
}

/**
 * The run is in a stage's running status: make sure its stage and results exist, owe each task
 * URL its request, and settle the stage if every result is in.
 */
export async function driveTaskStage(
  tx: Tx,
  ctx: SchedulerContext,
  run: SchedulingRun,
  effects: Effects,
): Promise<void> {
  const stageName = taskStageOfStatus(run.status);
  if (!stageName) return;
  const tasks = await runTasksRepo.listStageTasks(tx, run.workspaceId, stageName);
  const stage = await runTasksRepo.ensureStageWithResults(tx, { runId: run.id, stage: stageName, tasks, at: ctx.now() });
  for (const result of stage.results) {
    if (result.status === "pending" && result.deliveredAt === null) effects.add({ kind: "dispatch-task", taskResultId: result.id });
  }
  await settleTaskStage(tx, ctx, run, effects);
}

/**
 * Decides a running stage from its results: still running; passed (the run moves to the stage's
 * completed status and carries on from there); failed (the run errors, with a run event naming
 * the tasks; after the apply the stage fails on record and the run still goes on to `applied`);
 * or awaiting an override (the run waits in the running status until someone overrides it, or
 * discards or cancels the run).
 */
export async function settleTaskStage(
  tx: Tx,
  ctx: SchedulerContext,
  run: SchedulingRun,
  effects: Effects,
): Promise<void> {
  const stageName = taskStageOfStatus(run.status);
  if (!stageName) return;
  const stage = await runTasksRepo.findStageOfRun(tx, run.id, stageName);
  if (!stage) return;
  const at = ctx.now();
  let status = stage.status;
  if (status === "running") {
    status = taskStageStatusOf(stage.results, canOverrideTaskStage(stageName, run.planOnly));
    if (status === "running") return;
    if (!(await runTasksRepo.setTaskStageStatus(tx, stage.id, ["running"], status, at))) return;
  }
  const statuses = taskStageRunStatuses(stageName);
  switch (status) {
    case "passed":
      // An overridden stage passes too: it records its override and goes on like one that passed.
      if (await moveRun(tx, ctx, run, statuses.completed)) await driveRun(tx, ctx, run, effects);
      return;
    case "failed": {
      const description = failedTasksDescription(stageName, stage.results);
      if (!taskStageFailureStopsRun(stageName)) {
        const recorded = { action: "task_stage_failed", description: `${description}; the apply stands`, actorId: null };
        if (await moveRun(tx, ctx, run, statuses.completed, undefined, recorded)) await driveRun(tx, ctx, run, effects);
        return;
      }
      if (await moveRun(tx, ctx, run, "errored", undefined, { action: "errored", description, actorId: null })) await driveRun(tx, ctx, run, effects);
      return;
    }
    default:
      // awaiting_override: a person decides (override, or discard the run).
      return;
  }
}

/** The integration reported, or someone overrode: re-decide the stage of a run in its running status. */
export async function onTaskStageChanged(
  tx: Tx,
  ctx: SchedulerContext,
  run: SchedulingRun,
  taskStageId: string,
  effects: Effects,
): Promise<void> {
  const stage = await runTasksRepo.findTaskStage(tx, taskStageId);
  if (!stage || stage.runId !== run.id || !isRunnableTaskStage(stage.stage)) return;
  if (taskStageOfStatus(run.status) !== stage.stage) return;
  await settleTaskStage(tx, ctx, run, effects);
}

/** A run that ended: stages still running or waiting for an override end with it. */
export async function settleTaskStagesOfEndedRun(tx: Tx, ctx: SchedulerContext, runId: string): Promise<void> {
  await runTasksRepo.settleStagesOfEndedRun(tx, runId, ctx.now());
}
