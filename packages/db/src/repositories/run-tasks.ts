import { newId, TASK_STAGES, type TaskStageName } from "@tarmac/domain";
import { executeRows, queryRows, type Db, type Tx } from "../client";
import { Prisma, type RunTask, TaskResult, TaskResultOutcome, TaskStage, WorkspaceRunTask } from "../generated/prisma/client";
import { statusTimestampValue } from "../runs";
import { statusLiterals } from "./status-literals";

/**
 * Run tasks: the organization's tasks and their workspace bindings (gateway CRUD), and each run's
 * task stages and results. Stage and result statuses change by compare-and-set, so a repeated
 * callback, dispatch or event is a no-op.
 */

export type { RunTask, WorkspaceRunTask, TaskStage, TaskResult, TaskResultOutcome };

/** A task without its (encrypted) HMAC key, which never leaves the scheduler's signing code. */
export type RunTaskRow = Omit<RunTask, "hmacKeyEncrypted">;

const taskFields = {
  id: true, organizationId: true, name: true, url: true, description: true, category: true, enabled: true, createdAt: true, updatedAt: true,
} as const;

type Page = { offset: number; limit: number };

// ------------------------------------------------------------------ organization tasks

export async function createRunTask(
  db: Db | Tx,
  data: { organizationId: string; name: string; url: string; description: string | null; category: string; enabled: boolean; hmacKeyEncrypted: string | null },
): Promise<RunTaskRow> {
  return db.runTask.create({ data: { id: newId("task"), ...data }, select: taskFields });
}

export async function findRunTask(db: Db | Tx, id: string): Promise<RunTaskRow | null> {
  return db.runTask.findUnique({ where: { id }, select: taskFields });
}

export async function findRunTasks(db: Db | Tx, ids: string[]): Promise<RunTaskRow[]> {
  if (ids.length === 0) return [];
  return db.runTask.findMany({ where: { id: { in: ids } }, select: taskFields });
}

export async function listRunTasks(db: Db | Tx, organizationId: string, page: Page): Promise<{ items: RunTaskRow[]; total: number }> {
  const [items, total] = await Promise.all([
    db.runTask.findMany({ where: { organizationId }, select: taskFields, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip: page.offset, take: page.limit }),
    db.runTask.count({ where: { organizationId } }),
  ]);
  return { items, total };
}

export async function updateRunTask(
  db: Db | Tx,
  id: string,
  change: Partial<{ name: string; url: string; description: string | null; category: string; enabled: boolean; hmacKeyEncrypted: string | null }>,
): Promise<RunTaskRow> {
  return db.runTask.update({ where: { id }, data: change, select: taskFields });
}

/** Its workspace bindings go with it; results of past runs keep their copies of its name and URL. */
export async function deleteRunTask(db: Db | Tx, id: string): Promise<void> {
  await db.runTask.deleteMany({ where: { id } });
}

export async function workspaceTaskIdsOf(db: Db | Tx, taskIds: string[]): Promise<Map<string, string[]>> {
  const rows = taskIds.length === 0 ? [] : await db.workspaceRunTask.findMany({ where: { taskId: { in: taskIds } }, select: { id: true, taskId: true }, orderBy: { createdAt: "asc" } });
  const out = new Map<string, string[]>(taskIds.map((id) => [id, []]));
  for (const r of rows) out.get(r.taskId)?.push(r.id);
  return out;
}

// ------------------------------------------------------------------ workspace tasks

export async function createWorkspaceTask(
  db: Db | Tx,
  data: { workspaceId: string; taskId: string; enforcementLevel: string; stages: TaskStageName[] },
): Promise<WorkspaceRunTask> {
  return db.workspaceRunTask.create({ data: { id: newId("wstask"), ...data } });
}

export async function findWorkspaceTask(db: Db | Tx, id: string): Promise<WorkspaceRunTask | null> {
  return db.workspaceRunTask.findUnique({ where: { id } });
}

export async function listWorkspaceTasks(db: Db | Tx, workspaceId: string, page: Page): Promise<{ items: WorkspaceRunTask[]; total: number }> {
  const [items, total] = await Promise.all([
    db.workspaceRunTask.findMany({ where: { workspaceId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip: page.offset, take: page.limit }),
    db.workspaceRunTask.count({ where: { workspaceId } }),
  ]);
  return { items, total };
}

export async function updateWorkspaceTask(
  db: Db | Tx,
  id: string,
  change: Partial<{ enforcementLevel: string; stages: TaskStageName[] }>,
): Promise<WorkspaceRunTask> {
  return db.workspaceRunTask.update({ where: { id }, data: change });
}

export async function deleteWorkspaceTask(db: Db | Tx, id: string): Promise<void> {
  await db.workspaceRunTask.deleteMany({ where: { id } });
}

// ------------------------------------------------------------------ stages and results (reads)

/**
 * The stage and result rows as the Prisma models have them, for the statements the scheduler
 * sends inside its decisions: those are transactions on a pool client (inSqlTransaction), where
 * a Prisma model call would make the decision run again through Prisma's interactive transaction.
 */
const TASK_STAGE_COLUMNS = Prisma.raw(
  `s.id, s.run_id AS "runId", s.stage, s.status, s.status_timestamps AS "statusTimestamps", s.overridden_by_id AS "overriddenById",
   s.created_at AS "createdAt", s.updated_at AS "updatedAt"`,
);
const TASK_RESULT_COLUMNS = Prisma.raw(
  `r.id, r.task_stage_id AS "taskStageId", r.run_id AS "runId", r.task_id AS "taskId", r.task_name AS "taskName", r.task_url AS "taskUrl",
   r.workspace_task_id AS "workspaceTaskId", r.enforcement_level AS "enforcementLevel", r.stage, r.status,
   r.status_timestamps AS "statusTimestamps", r.message, r.url, r.delivered_at AS "deliveredAt", r.delivery_attempts AS "deliveryAttempts",
   r.created_at AS "createdAt", r.updated_at AS "updatedAt"`,
);

export async function findTaskStage(db: Db | Tx, id: string): Promise<TaskStage | null> {
  const [stage] = await queryRows<TaskStage>(db, Prisma.sql`SELECT ${TASK_STAGE_COLUMNS} FROM task_stages s WHERE s.id = ${id}`);
  return stage ?? null;
}

export async function listTaskStagesOfRun(db: Db | Tx, runId: string, page: Page): Promise<{ items: TaskStage[]; total: number }> {
  const [items, total] = await Promise.all([
    db.taskStage.findMany({ where: { runId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip: page.offset, take: page.limit }),
    db.taskStage.count({ where: { runId } }),
  ]);
  return { items, total };
}

/** Every stage of these runs, oldest first (the run document's `task-stages`). */
export async function listTaskStagesOfRuns(db: Db | Tx, runIds: string[]): Promise<TaskStage[]> {
  if (runIds.length === 0) return [];
  return db.taskStage.findMany({ where: { runId: { in: runIds } }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] });
}

export type TaskResultRow = TaskResult & { outcomesCount: number };

function withCount(r: TaskResult & { _count: { outcomes: number } }): TaskResultRow {
  const { _count, ...rest } = r;
  return { ...rest, outcomesCount: _count.outcomes };
}

export async function findTaskResult(db: Db | Tx, id: string): Promise<TaskResultRow | null> {
  const r = await db.taskResult.findUnique({ where: { id }, include: { _count: { select: { outcomes: true } } } });
  return r ? withCount(r) : null;
}

export async function listResultsOfStages(db: Db | Tx, stageIds: string[]): Promise<TaskResultRow[]> {
  if (stageIds.length === 0) return [];
  const rows = await db.taskResult.findMany({
    where: { taskStageId: { in: stageIds } },
    include: { _count: { select: { outcomes: true } } },
    orderBy: [{ createdAt: "asc" }, { id: "asc" }],
  });
  return rows.map(withCount);
}

export async function listOutcomes(db: Db | Tx, taskResultId: string, page: Page): Promise<{ items: TaskResultOutcome[]; total: number }> {
  const [items, total] = await Promise.all([
    db.taskResultOutcome.findMany({ where: { taskResultId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip: page.offset, take: page.limit }),
    db.taskResultOutcome.count({ where: { taskResultId } }),
  ]);
  return { items, total };
}

export async function findOutcome(db: Db | Tx, id: string): Promise<TaskResultOutcome | null> {
  return db.taskResultOutcome.findUnique({ where: { id } });
}

// ------------------------------------------------------------------ writes by the callback and override

function stamp(status: string, at: Date): string {
  return JSON.stringify({ [`${status}-at`]: statusTimestampValue(at) });
}

export interface CallbackReport {
  status: "running" | "passed" | "failed";
  message: string | null;
  url: string | null;
  outcomes: { outcomeId: string; description: string; url: string | null; body: string | null; tags: Prisma.InputJsonValue | null }[];
}

/**
 * Records what an integration reported. Only a result still pending or running changes (a final
 * result keeps its first verdict, as a timed-out one does); outcomes come with a final report and
 * replace any sent before. True when the result changed.
 */
export async function recordCallback(tx: Tx, resultId: string, report: CallbackReport, at: Date): Promise<boolean> {
  const changed = await tx.$executeRawUnsafe(
    `UPDATE task_results SET status = $1, message = COALESCE($2, message), url = COALESCE($3, url),
       status_timestamps = status_timestamps || $4::jsonb, updated_at = $5
     WHERE id = $6 AND status IN ('pending', 'running')`,
    report.status,
    report.message,
    report.url,
    stamp(report.status, at),
    at,
    resultId,
  );
  if (changed !== 1) return false;
  if (report.outcomes.length > 0) {
    await tx.taskResultOutcome.deleteMany({ where: { taskResultId: resultId } });
    await tx.taskResultOutcome.createMany({
      data: report.outcomes.map((o) => ({
        id: newId("taskrsout"),
        taskResultId: resultId,
        outcomeId: o.outcomeId,
        description: o.description,
        url: o.url,
        body: o.body,
        tags: o.tags ?? undefined,
        createdAt: at,
      })),
    });
  }
  return true;
}

/** Moves a stage from one of `from` to `to` with its timestamp; true when it moved. */
export async function setTaskStageStatus(tx: Tx, stageId: string, from: readonly string[], to: string, at: Date, overriddenById?: string | null): Promise<boolean> {
  const changed = await executeRows(
    tx,
    Prisma.sql`UPDATE task_stages SET status = ${to}, status_timestamps = status_timestamps || ${stamp(to, at)}::jsonb, updated_at = ${at},
       overridden_by_id = COALESCE(${overriddenById ?? null}, overridden_by_id)
     WHERE id = ${stageId} AND status = ANY(${[...from]}::text[])`,
  );
  return changed === 1;
}

// ------------------------------------------------------------------ the scheduler's side

export interface StageTask {
  workspaceTaskId: string;
  enforcementLevel: string;
  taskId: string;
  name: string;
  url: string;
}

/** Enabled tasks of a workspace attached to a stage, in the order they were attached. */
export async function listStageTasks(db: Db | Tx, workspaceId: string, stage: TaskStageName): Promise<StageTask[]> {
  return queryRows<StageTask>(
    db,
    Prisma.sql`SELECT w.id AS "workspaceTaskId", w.enforcement_level AS "enforcementLevel", t.id AS "taskId", t.name, t.url
    FROM workspace_run_tasks w JOIN run_tasks t ON t.id = w.task_id
    WHERE w.workspace_id = ${workspaceId} AND ${stage} = ANY(w.stages) AND t.enabled
    ORDER BY w.created_at, w.id`,
  );
}

/**
 * Whether a run has a task stage to go through: its stage, when created already, is pending with
 * results; otherwise the workspace has enabled tasks on that stage. One statement past Prisma
 * (queryRows): the scheduler asks at every plan and apply, mostly of workspaces without tasks.
 */
export async function hasStageToRun(db: Db | Tx, runId: string, workspaceId: string, stage: TaskStageName): Promise<boolean> {
  const [row] = await queryRows<{ needed: boolean }>(
    db,
    Prisma.sql`SELECT CASE WHEN s.id IS NOT NULL
        THEN s.status = 'pending' AND EXISTS (SELECT 1 FROM task_results tr WHERE tr.task_stage_id = s.id)
        ELSE EXISTS (SELECT 1 FROM workspace_run_tasks w JOIN run_tasks t ON t.id = w.task_id
                     WHERE w.workspace_id = ${workspaceId} AND ${stage} = ANY(w.stages) AND t.enabled) END AS needed
    FROM (SELECT 1) AS one LEFT JOIN task_stages s ON s.run_id = ${runId} AND s.stage = ${stage}`,
  );
  return row?.needed === true;
}

export async function findStageOfRun(db: Db | Tx, runId: string, stage: TaskStageName): Promise<(TaskStage & { results: TaskResult[] }) | null> {
  const [found] = await queryRows<TaskStage>(db, Prisma.sql`SELECT ${TASK_STAGE_COLUMNS} FROM task_stages s WHERE s.run_id = ${runId} AND s.stage = ${stage}`);
  if (!found) return null;
  const results = await queryRows<TaskResult>(
    db,
    Prisma.sql`SELECT ${TASK_RESULT_COLUMNS} FROM task_results r WHERE r.task_stage_id = ${found.id} ORDER BY r.created_at, r.id`,
  );
  return { ...found, results };
}

async function createStage(tx: Tx, input: { runId: string; stage: TaskStageName; tasks: StageTask[]; at: Date; status: "pending" | "running" }): Promise<void> {
  const stageId = newId("ts");
  const stageStamps = JSON.stringify({ [`${input.status}-at`]: statusTimestampValue(input.at) });
  const resultStamps = JSON.stringify({ "pending-at": statusTimestampValue(input.at) });
  // The stage and its pending results in one statement.
  const results =
    input.tasks.length === 0
      ? Prisma.empty
      : Prisma.sql`, results AS (
        INSERT INTO task_results (id, task_stage_id, run_id, task_id, task_name, task_url, workspace_task_id, enforcement_level, stage,
          status, status_timestamps, created_at, updated_at)
        VALUES ${Prisma.join(
          input.tasks.map((t, i) => {
            // Distinct creation times keep the tasks' order in listings.
            const createdAt = new Date(input.at.getTime() + i);
            return Prisma.sql`(${newId("taskrs")}, ${stageId}, ${input.runId}, ${t.taskId}, ${t.name}, ${t.url}, ${t.workspaceTaskId},
              ${t.enforcementLevel}, ${input.stage}, 'pending', ${resultStamps}::jsonb, ${createdAt}, ${createdAt})`;
          }),
        )}
      )`;
  await executeRows(
    tx,
    Prisma.sql`WITH stage AS (
      INSERT INTO task_stages (id, run_id, stage, status, status_timestamps, created_at, updated_at)
      VALUES (${stageId}, ${input.runId}, ${input.stage}, ${input.status}, ${stageStamps}::jsonb, ${input.at}, ${input.at})
    )${results}
    SELECT 1`,
  );
}

/**
 * A new run's stages, pending, one per stage with enabled tasks, so clients that read the run's
 * task stages right after creating it (the terraform CLI does) find them. Written with the run.
 */
export async function createPendingStages(tx: Tx, input: { runId: string; workspaceId: string; at: Date }): Promise<void> {
  for (const [i, stage] of TASK_STAGES.entries()) {
    const tasks = await listStageTasks(tx, input.workspaceId, stage);
    // Stages list in run order: each a millisecond after the one before.
    if (tasks.length > 0) await createStage(tx, { runId: input.runId, stage, tasks, at: new Date(input.at.getTime() + i), status: "pending" });
  }
}

/**
 * Starts the run's stage: a pending one (created with the run) turns running; without one, it is
 * created running with one pending result per task. A second call (a repeated event) changes nothing.
 */
export async function ensureStageWithResults(
  tx: Tx,
  input: { runId: string; stage: TaskStageName; tasks: StageTask[]; at: Date },
): Promise<TaskStage & { results: TaskResult[] }> {
  const existing = await findStageOfRun(tx, input.runId, input.stage);
  if (existing?.status === "pending") await setTaskStageStatus(tx, existing.id, ["pending"], "running", input.at);
  if (!existing) await createStage(tx, { ...input, status: "running" });
  return (await findStageOfRun(tx, input.runId, input.stage))!;
}

/** Sets a result's status when it is still one of `from` (the timeout, a run that ended). */
export async function setTaskResultStatus(tx: Tx, resultId: string, from: readonly string[], to: string, message: string | null, at: Date): Promise<boolean> {
  const changed = await executeRows(
    tx,
    Prisma.sql`UPDATE task_results SET status = ${to}, message = COALESCE(${message}, message), status_timestamps = status_timestamps || ${stamp(to, at)}::jsonb,
      updated_at = ${at}
     WHERE id = ${resultId} AND status = ANY(${[...from]}::text[])`,
  );
  return changed === 1;
}

/** The task URL accepted the request: the result is running (unless its callback came first). */
export async function markResultDelivered(db: Db | Tx, resultId: string, at: Date): Promise<void> {
  await db.$executeRawUnsafe(
    `UPDATE task_results SET delivered_at = COALESCE(delivered_at, $1), updated_at = $1,
       status = CASE WHEN status = 'pending' THEN 'running' ELSE status END,
       status_timestamps = CASE WHEN status = 'pending' THEN status_timestamps || $2::jsonb ELSE status_timestamps END
     WHERE id = $3`,
    at,
    stamp("running", at),
    resultId,
  );
}

export async function countDeliveryAttempt(db: Db | Tx, resultId: string): Promise<number> {
  const row = await db.taskResult.update({ where: { id: resultId }, data: { deliveryAttempts: { increment: 1 } }, select: { deliveryAttempts: true } });
  return row.deliveryAttempts;
}

/** Results whose request is still owed to their task URL, in stages still running. */
export async function listUndeliveredResults(db: Db | Tx, limit: number): Promise<{ id: string; runId: string; taskStageId: string }[]> {
  return db.taskResult.findMany({
    where: { status: "pending", deliveredAt: null, taskStage: { status: "running" } },
    select: { id: true, runId: true, taskStageId: true },
    orderBy: { createdAt: "asc" },
    take: limit,
  });
}

/**
 * Results still waiting for their integration in stages running since before the cutoff (a stage
 * row changes only with its status, so its updated-at is when it started running).
 */
export async function listOverdueResults(db: Db | Tx, startedBefore: Date, limit: number): Promise<{ id: string; runId: string; taskStageId: string }[]> {
  return db.taskResult.findMany({
    where: { status: { in: ["pending", "running"] }, taskStage: { status: "running", updatedAt: { lt: startedBefore } } },
    select: { id: true, runId: true, taskStageId: true },
    orderBy: { createdAt: "asc" },
    take: limit,
  });
}

/**
 * Stages a run that ended leaves behind end with it: one it never reached is `unreachable`, one
 * running or awaiting an override `canceled`; their open results likewise.
 */
export async function settleStagesOfEndedRun(tx: Tx, runId: string, at: Date): Promise<void> {
  const open = await queryRows<{ id: string; status: string }>(
    tx,
    Prisma.sql`SELECT id, status FROM task_stages WHERE run_id = ${runId} AND status IN ('pending', 'running', 'awaiting_override') ORDER BY id`,
  );
  for (const stage of open) {
    const to = stage.status === "pending" ? "unreachable" : "canceled";
    await setTaskStageStatus(tx, stage.id, [stage.status], to, at);
    const openResults = await queryRows<{ id: string }>(
      tx,
      Prisma.sql`SELECT id FROM task_results WHERE task_stage_id = ${stage.id} AND status IN ('pending', 'running')`,
    );
    for (const r of openResults) {
      await setTaskResultStatus(tx, r.id, ["pending", "running"], to, null, at);
    }
  }
}

export interface DispatchFacts {
  result: TaskResult;
  hmacKeyEncrypted: string | null;
  run: {
    id: string;
    message: string;
    createdAt: Date;
    planOnly: boolean;
    configurationVersionId: string;
    status: string;
    createdByUsername: string | null;
  };
  workspace: { id: string; name: string; workingDirectory: string | null };
  organizationName: string;
  hasPlanJson: boolean;
}

/** What a task URL's request is built from. */
export async function findDispatchFacts(db: Db | Tx, resultId: string): Promise<DispatchFacts | null> {
  const result = await db.taskResult.findUnique({ where: { id: resultId } });
  if (!result) return null;
  const [task, run] = await Promise.all([
    db.runTask.findUnique({ where: { id: result.taskId }, select: { hmacKeyEncrypted: true } }),
    db.run.findUnique({
      where: { id: result.runId },
      select: {
        id: true, message: true, createdAt: true, planOnly: true, configurationVersionId: true, status: true,
        createdBy: { select: { username: true } },
        workspace: { select: { id: true, name: true, workingDirectory: true } },
        organization: { select: { name: true } },
        plan: { select: { jsonBlobId: true } },
      },
    }),
  ]);
  if (!run) return null;
  return {
    result,
    hmacKeyEncrypted: task?.hmacKeyEncrypted ?? null,
    run: {
      id: run.id,
      message: run.message,
      createdAt: run.createdAt,
      planOnly: run.planOnly,
      configurationVersionId: run.configurationVersionId,
      status: run.status,
      createdByUsername: run.createdBy?.username ?? null,
    },
    workspace: run.workspace,
    organizationName: run.organization.name,
    hasPlanJson: run.plan?.jsonBlobId != null,
  };
}

/** Runs resting in a task stage's statuses since before the cutoff: the reconcile loop drives them again. */
export async function listRunsInTaskStages(db: Db | Tx, before: Date, limit: number): Promise<{ id: string; workspaceId: string }[]> {
  const statuses = ["pre_plan_running", "pre_plan_completed", "post_plan_running", "pre_apply_running", "pre_apply_completed", "post_apply_running", "post_apply_completed"];
  return queryRows(
    db,
    Prisma.sql`SELECT id, workspace_id AS "workspaceId" FROM runs
    WHERE status IN (${statusLiterals(statuses)}) AND status_changed_at < ${before}
    ORDER BY status_changed_at LIMIT ${limit}`,
  );
}
