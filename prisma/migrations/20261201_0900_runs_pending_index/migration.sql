-- A workspace's waiting runs, oldest first: the scheduler reads the head of the queue (and the
-- runs that bypass it) on every event about the workspace, and the count of runs ahead of a new
-- run reads the same. Small (pending runs only), and the one index the planner can pick for
-- them without statistics that know how many runs wait: after a burst of creations, estimates
-- from the last ANALYZE put them at none and sent the query through every pending run of every
-- workspace (runs_status_status_changed_at_idx). Prisma's schema cannot describe a partial index.
CREATE INDEX "runs_workspace_id_seq_pending_idx" ON "runs"("workspace_id", "seq") WHERE "status" = 'pending';
-- The waiting runs that bypass the queue (plan-only runs, saved plans), read on the same events:
-- few and short-lived, so this index stays tiny, and the read skips the queue behind them.
CREATE INDEX "runs_workspace_id_seq_pending_bypass_idx" ON "runs"("workspace_id", "seq") WHERE "status" = 'pending' AND ("plan_only" OR "save_plan");
