-- The runs a new run waits behind in its workspace, counted in the workspace run counters'
-- shards (migration 20261202_0300_workspace_run_count_shards) next to the visible runs, so a
-- creation reads at most 16 rows for its position in the queue. The count it replaces fetched
-- the table row of every unfinished run of the workspace (a filter on save_plan and status, and
-- rows too new for the visibility map): 734 buffers and 3.6 ms per creation with 777 runs waiting.
--
-- A run waits ahead while it is unfinished, not plan-only, and a saved plan only once confirmed:
-- the condition of queue-position.ts (runsAheadCondition), whose final statuses the schema test
-- checks against this function. plan_only and save_plan are fixed when a run is created, so
-- inserts, deletes and status changes are all that move a run in or out.
CREATE FUNCTION "run_waits_in_queue"(plan_only BOOLEAN, save_plan BOOLEAN, status "RunStatus") RETURNS BOOLEAN
LANGUAGE sql STABLE AS E'
  SELECT plan_only = false
    AND status <> ALL (\'{applied,planned_and_finished,policy_soft_failed,discarded,errored,canceled,force_canceled}\'::"RunStatus"[])
    AND (save_plan = false OR status IN (\'confirmed\', \'apply_queued\', \'applying\'))
';

ALTER TABLE "workspace_run_counts" ADD COLUMN "runs_ahead" BIGINT NOT NULL DEFAULT 0;

-- Existing counts go to shard 0, like the visible runs in the migration that made the shards.
INSERT INTO "workspace_run_counts" AS c ("workspace_id", "shard", "runs_ahead")
SELECT "workspace_id", 0, count(*) FROM "runs"
WHERE run_waits_in_queue("plan_only", "save_plan", "status")
GROUP BY "workspace_id"
ON CONFLICT ("workspace_id", "shard") DO UPDATE SET "runs_ahead" = EXCLUDED."runs_ahead";

CREATE OR REPLACE FUNCTION "workspace_run_counts_after_insert"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  INSERT INTO workspace_run_counts AS c (workspace_id, shard, visible_runs, runs_ahead)
  SELECT workspace_id, (pg_backend_pid() % 16)::smallint,
    count(*), count(*) FILTER (WHERE run_waits_in_queue(plan_only, save_plan, status))
  FROM inserted_runs WHERE plan_only = false GROUP BY workspace_id
  ON CONFLICT (workspace_id, shard) DO UPDATE
    SET visible_runs = c.visible_runs + EXCLUDED.visible_runs, runs_ahead = c.runs_ahead + EXCLUDED.runs_ahead\073
  RETURN NULL\073
END';

CREATE OR REPLACE FUNCTION "workspace_run_counts_after_delete"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  INSERT INTO workspace_run_counts AS c (workspace_id, shard, visible_runs, runs_ahead)
  SELECT d.workspace_id, (pg_backend_pid() % 16)::smallint,
    -count(*), -count(*) FILTER (WHERE run_waits_in_queue(d.plan_only, d.save_plan, d.status))
  FROM deleted_runs d
  WHERE d.plan_only = false AND EXISTS (SELECT 1 FROM workspaces w WHERE w.id = d.workspace_id)
  GROUP BY d.workspace_id
  ON CONFLICT (workspace_id, shard) DO UPDATE
    SET visible_runs = c.visible_runs + EXCLUDED.visible_runs, runs_ahead = c.runs_ahead + EXCLUDED.runs_ahead\073
  RETURN NULL\073
END';

-- A run enters the queue (a saved plan confirmed) or leaves it (finished): one row-level firing
-- in most runs, none for the status changes in between (the WHEN clause, which every status
-- change evaluates: written out, where a call of the SQL function would run a query each time;
-- plan_only and save_plan are the same in OLD and NEW).
CREATE FUNCTION "workspace_run_counts_after_status"() RETURNS trigger LANGUAGE plpgsql AS E'
BEGIN
  INSERT INTO workspace_run_counts AS c (workspace_id, shard, runs_ahead)
  VALUES (NEW.workspace_id, (pg_backend_pid() % 16)::smallint,
    CASE WHEN run_waits_in_queue(NEW.plan_only, NEW.save_plan, NEW.status) THEN 1 ELSE -1 END)
  ON CONFLICT (workspace_id, shard) DO UPDATE SET runs_ahead = c.runs_ahead + EXCLUDED.runs_ahead\073
  RETURN NULL\073
END';

CREATE TRIGGER "runs_count_status" AFTER UPDATE OF "status" ON "runs"
FOR EACH ROW
WHEN (NOT NEW.plan_only AND OLD.status IS DISTINCT FROM NEW.status AND
  (OLD.status <> ALL ('{applied,planned_and_finished,policy_soft_failed,discarded,errored,canceled,force_canceled}'::"RunStatus"[])
   AND (NOT OLD.save_plan OR OLD.status IN ('confirmed', 'apply_queued', 'applying')))
  IS DISTINCT FROM
  (NEW.status <> ALL ('{applied,planned_and_finished,policy_soft_failed,discarded,errored,canceled,force_canceled}'::"RunStatus"[])
   AND (NOT NEW.save_plan OR NEW.status IN ('confirmed', 'apply_queued', 'applying'))))
EXECUTE FUNCTION "workspace_run_counts_after_status"();
