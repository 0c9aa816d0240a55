-- The workspace run list hides plan-only runs (unless filtered by operation): its count and its
-- page read this index instead of every run of the workspace. Prisma's schema cannot describe a
-- partial index, so only this migration holds it.
CREATE INDEX "runs_workspace_id_seq_visible_idx" ON "runs"("workspace_id", "seq" DESC) WHERE "plan_only" = false;
