-- The runs a workspace's pending run waits behind: unfinished and not plan-only. Every creation
-- counts them (the new run's position in the queue), and so does every pending run's document.
-- Through runs_workspace_id_seq_visible_idx that count read the workspace's whole history and
-- filtered out the finished runs (3.5 ms per creation at 800 runs, growing with each run). This
-- index holds only the unfinished runs, so the count reads the queue and no more. Its predicate
-- is, to the character, the condition the counts use (packages/db/src/repositories/
-- queue-position.ts), so the planner can prove they imply it. The test keeps the final
-- statuses here equal to the domain's. Prisma's schema cannot describe a partial index.
CREATE INDEX "runs_workspace_id_seq_unfinished_idx" ON "runs"("workspace_id", "seq")
  WHERE plan_only = false AND status <> ALL ('{applied,planned_and_finished,policy_soft_failed,discarded,errored,canceled,force_canceled}'::"RunStatus"[]);
