-- The workspace run counters (migration 20261201_0500_workspace_run_counts) split into shards.
-- With one row per workspace, every run created in a workspace updated that row and held its
-- lock until its commit, so creations in one workspace committed one after another, each
-- waiting out the previous one's WAL flush. Each connection now adds to the shard of its
-- backend (pg_backend_pid() modulo 16), deletes subtract there too, and a total is the sum of
-- the workspace's shards. Existing counts stay in shard 0.
ALTER TABLE "workspace_run_counts" ADD COLUMN "shard" SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE "workspace_run_counts" DROP CONSTRAINT "workspace_run_counts_pkey";
ALTER TABLE "workspace_run_counts" ADD CONSTRAINT "workspace_run_counts_pkey" PRIMARY KEY ("workspace_id", "shard");

CREATE OR REPLACE FUNCTION "workspace_run_counts_after_insert"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  INSERT INTO workspace_run_counts AS c (workspace_id, shard, visible_runs)
  SELECT workspace_id, (pg_backend_pid() % 16)::smallint, count(*) FROM inserted_runs WHERE plan_only = false GROUP BY workspace_id
  ON CONFLICT (workspace_id, shard) DO UPDATE SET visible_runs = c.visible_runs + EXCLUDED.visible_runs\073
  RETURN NULL\073
END';

CREATE OR REPLACE FUNCTION "workspace_run_counts_after_delete"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  INSERT INTO workspace_run_counts AS c (workspace_id, shard, visible_runs)
  SELECT d.workspace_id, (pg_backend_pid() % 16)::smallint, -count(*) FROM deleted_runs d
  WHERE d.plan_only = false AND EXISTS (SELECT 1 FROM workspaces w WHERE w.id = d.workspace_id)
  GROUP BY d.workspace_id
  ON CONFLICT (workspace_id, shard) DO UPDATE SET visible_runs = c.visible_runs + EXCLUDED.visible_runs\073
  RETURN NULL\073
END';
