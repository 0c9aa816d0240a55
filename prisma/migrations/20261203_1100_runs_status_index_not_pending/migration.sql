-- Runs by status and how long they have rested in it, for the reconcile loop and the organization
-- queue: every reader asks for a status other than pending. Pending runs are read per workspace
-- (runs_workspace_id_seq_pending_idx and the other workspace-leading indexes). Left whole, this
-- index was the planner's pick for those reads whenever its statistics predated a burst of new
-- runs (they put pending runs at none, so both plans looked alike): a read of one workspace's
-- queue then went through every pending run of every workspace, 10 to 60 ms each after a few
-- thousand creations. Without the pending runs it cannot serve such a read. Prisma cannot describe
-- a partial index in its schema.
DROP INDEX "runs_status_status_changed_at_idx";
CREATE INDEX "runs_status_status_changed_at_idx" ON "runs"("status", "status_changed_at") WHERE "status" <> 'pending';
