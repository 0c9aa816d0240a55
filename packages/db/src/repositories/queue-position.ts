import { FINAL_STATUSES } from "@tarmac/domain";
import { Prisma } from "../generated/prisma/client";

/**
 * The runs a workspace's pending run waits behind: unfinished, not plan-only (those plan without
 * the workspace), and a saved plan only once confirmed for apply. Counted for every pending run's
 * document; a creation reads its position from the workspace's counter: `runs_ahead` in the
 * shards of `workspace_run_counts`, kept by triggers on runs whose condition is the SQL function
 * `run_waits_in_queue` (migration 20261203_1200_workspace_runs_ahead_counter; the schema test
 * compares it with this one).
 *
 * Migration 20261202_0700_runs_unfinished_index indexes (workspace_id, seq) of exactly the runs
 * that satisfy UNFINISHED_VISIBLE (the same text as its predicate, so the planner can prove the
 * statement implies it): a count reads the workspace's unfinished runs only, where through the
 * visible runs' index it read its whole history (3.5 ms per creation at 800 runs, growing with
 * every run). The schema test checks the predicate against FINAL_STATUSES.
 */
export const UNFINISHED_RUNS_INDEX = "runs_workspace_id_seq_unfinished_idx";

/** The index's predicate over the runs table aliased `alias`. */
export function unfinishedVisibleRun(alias: string): string {
  return `${alias}.plan_only = false AND ${alias}.status <> ALL ('{${(FINAL_STATUSES as readonly string[]).join(",")}}'::"RunStatus"[])`;
}

/** Runs of `alias` that a pending run waits behind (besides being in its workspace, before it). */
export function runsAheadCondition(alias: string): Prisma.Sql {
  return Prisma.raw(
    `${unfinishedVisibleRun(alias)} AND (${alias}.save_plan = false OR ${alias}.status IN ('confirmed', 'apply_queued', 'applying'))`,
  );
}
