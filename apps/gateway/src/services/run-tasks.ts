import { subjectsFor, runOfRunTaskToken } from "@tarmac/contracts";
import { configurationVersionsRepo, encryptValue, enqueueOutbox, inTransaction, organizationsRepo, runsRead, runTasksRepo } from "@tarmac/db";
import {
  canOverrideTaskStages,
  conflict,
  forbidden,
  organizationPermissions,
  isId,
  isTaskResultFinal,
  notFound,
  planIdFor,
  TarmacError,
  type TaskStageName,
} from "@tarmac/domain";
import { addIncluded, flattenQuery, paginate, parseInclude, parsePage, type Resource } from "@tarmac/jsonapi";
import { injectTraceContext } from "@tarmac/telemetry";
import type { GatewayDeps } from "../deps";
import type { Principal } from "../http/auth";
import { invalidAttribute, isUniqueViolation } from "../http/request-body";
import { loadOrganizationForPrincipal, loadWorkspaceForPrincipal, organizationContext, type OrganizationContext } from "../http/workspace-access";
import { loadRunForPrincipal } from "../http/run-access";
import { serializeOutcome, serializeRunTask, serializeTaskResult, serializeTaskStage, serializeWorkspaceTask } from "../serializers/run-tasks";

/**
 * Run tasks (HCP's run tasks API): organization owners and teams with manage-run-tasks manage the
 * organization's tasks, members read them; workspace admins attach tasks to their workspace,
 * readers see the attachments; a
 * run's stages and results are visible to whoever sees the run. Integrations report on a result
 * with the run-scoped access token they were sent. The gateway records these intents with an
 * outbox event; the scheduler moves the run.
 */

type Query = Record<string, unknown>;
export interface ListDocument { data: Resource[]; links: Record<string, string | null>; meta: Record<string, unknown> }

export interface TaskAttributes {
  name?: string | undefined;
  url?: string | undefined;
  description?: string | null | undefined;
  category?: string | undefined;
  enabled?: boolean | undefined;
  "hmac-key"?: string | null | undefined;
}

async function organizationNameOf(deps: GatewayDeps, organizationId: string): Promise<string> {
  return (await organizationsRepo.findOrganizationById(deps.db, organizationId))?.name ?? "";
}

/** Whether the principal's standing holds the organization's `can-manage-run-tasks` (owners, manage-run-tasks teams). */
function managesRunTasks(ctx: OrganizationContext, principal: Principal): boolean {
  return organizationPermissions(ctx, principal.kind)["can-manage-run-tasks"];
}

/** The task with the principal's standing in its organization; 404 when invisible, or without `can-manage-run-tasks` for `manage`. */
async function loadTask(deps: GatewayDeps, principal: Principal, id: string, manage: boolean) {
  if (!isId("task", id)) throw notFound("task not found");
  const task = await runTasksRepo.findRunTask(deps.db, id);
  if (!task) throw notFound("task not found");
  const org = await organizationsRepo.findOrganizationById(deps.db, task.organizationId);
  const ctx = org ? await organizationContext(deps.db, principal, org) : null;
  if (!ctx || (manage && !managesRunTasks(ctx, principal))) throw notFound("task not found");
  return { task, organizationName: ctx.organization.name };
}

async function taskDocument(deps: GatewayDeps, task: runTasksRepo.RunTaskRow, organizationName: string, include: Set<string>): Promise<{ data: Resource; included?: Resource[] }> {
  const wtIds = (await runTasksRepo.workspaceTaskIdsOf(deps.db, [task.id])).get(task.id) ?? [];
  const data = serializeRunTask(task, organizationName, wtIds);
  if (!include.has("workspace_tasks")) return { data };
  const included: Resource[] = [];
  for (const id of wtIds) {
    const wt = await runTasksRepo.findWorkspaceTask(deps.db, id);
    if (wt) addIncluded(included, [serializeWorkspaceTask(wt)]);
  }
  return { data, included };
}

const duplicateName = () => invalidAttribute("Name has already been taken", "/data/attributes/name");

export async function listTasks(deps: GatewayDeps, principal: Principal, orgName: string, query: Query): Promise<ListDocument> {
  const ctx = await loadOrganizationForPrincipal(deps, principal, orgName);
  const page = parsePage(query);
  const { items, total } = await runTasksRepo.listRunTasks(deps.db, ctx.organization.id, { offset: page.offset, limit: page.size });
  const wtIds = await runTasksRepo.workspaceTaskIdsOf(deps.db, items.map((t) => t.id));
  const base = `${deps.publicUrl}/api/v2/organizations/${encodeURIComponent(ctx.organization.name)}/tasks`;
  return { data: items.map((t) => serializeRunTask(t, ctx.organization.name, wtIds.get(t.id) ?? [])), ...paginate(page, total, base, flattenQuery(query)) };
}

export async function createTask(deps: GatewayDeps, principal: Principal, orgName: string, attrs: Required<Pick<TaskAttributes, "name" | "url">> & TaskAttributes) {
  const ctx = await loadOrganizationForPrincipal(deps, principal, orgName);
  if (!managesRunTasks(ctx, principal)) throw notFound();
  const key = attrs["hmac-key"];
  try {
    const task = await runTasksRepo.createRunTask(deps.db, {
      organizationId: ctx.organization.id,
      name: attrs.name,
      url: attrs.url,
      description: attrs.description ?? null,
      category: attrs.category ?? "task",
      enabled: attrs.enabled ?? true,
      hmacKeyEncrypted: key ? encryptValue(key, deps.keys.current) : null,
    });
    return { data: serializeRunTask(task, ctx.organization.name, []) };
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicateName();
    throw err;
  }
}

export async function readTask(deps: GatewayDeps, principal: Principal, id: string, query: Query) {
  const { task, organizationName } = await loadTask(deps, principal, id, false);
  return taskDocument(deps, task, organizationName, parseInclude(query));
}

export async function updateTask(deps: GatewayDeps, principal: Principal, id: string, attrs: TaskAttributes) {
  const { task, organizationName } = await loadTask(deps, principal, id, true);
  const key = attrs["hmac-key"];
  try {
    const updated = await runTasksRepo.updateRunTask(deps.db, task.id, {
      ...(attrs.name !== undefined ? { name: attrs.name } : {}),
      ...(attrs.url !== undefined ? { url: attrs.url } : {}),
      ...(attrs.description !== undefined ? { description: attrs.description } : {}),
      ...(attrs.category !== undefined ? { category: attrs.category } : {}),
      ...(attrs.enabled !== undefined ? { enabled: attrs.enabled } : {}),
      // An empty or null key removes signing; an absent one keeps the key.
      ...(key !== undefined ? { hmacKeyEncrypted: key ? encryptValue(key, deps.keys.current) : null } : {}),
    });
    return taskDocument(deps, updated, organizationName, new Set());
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicateName();
    throw err;
  }
}

export async function deleteTask(deps: GatewayDeps, principal: Principal, id: string): Promise<void> {
  const { task } = await loadTask(deps, principal, id, true);
  await runTasksRepo.deleteRunTask(deps.db, task.id);
}

// ------------------------------------------------------------------ workspace tasks

export interface WorkspaceTaskInput {
  enforcementLevel?: string | undefined;
  stages?: TaskStageName[] | undefined;
  taskId?: string | undefined;
}

async function loadWorkspaceTask(deps: GatewayDeps, principal: Principal, workspaceId: string, id: string, manage: boolean) {
  const { workspace } = await loadWorkspaceForPrincipal(deps, principal, workspaceId, manage ? "admin" : "read");
  if (!isId("wstask", id)) throw notFound("workspace task not found");
  const wt = await runTasksRepo.findWorkspaceTask(deps.db, id);
  if (!wt || wt.workspaceId !== workspace.id) throw notFound("workspace task not found");
  return wt;
}

export async function listWorkspaceTasks(deps: GatewayDeps, principal: Principal, workspaceId: string, query: Query): Promise<ListDocument> {
  const { workspace } = await loadWorkspaceForPrincipal(deps, principal, workspaceId, "read");
  const page = parsePage(query);
  const { items, total } = await runTasksRepo.listWorkspaceTasks(deps.db, workspace.id, { offset: page.offset, limit: page.size });
  return { data: items.map(serializeWorkspaceTask), ...paginate(page, total, `${deps.publicUrl}/api/v2/workspaces/${workspace.id}/tasks`, flattenQuery(query)) };
}

export async function createWorkspaceTask(deps: GatewayDeps, principal: Principal, workspaceId: string, input: Required<Pick<WorkspaceTaskInput, "taskId">> & WorkspaceTaskInput) {
  const { workspace } = await loadWorkspaceForPrincipal(deps, principal, workspaceId, "admin");
  const task = isId("task", input.taskId) ? await runTasksRepo.findRunTask(deps.db, input.taskId) : null;
  if (!task || task.organizationId !== workspace.organizationId) throw notFound("task not found");
  try {
    const wt = await runTasksRepo.createWorkspaceTask(deps.db, {
      workspaceId: workspace.id,
      taskId: task.id,
      enforcementLevel: input.enforcementLevel ?? "advisory",
      stages: input.stages ?? ["post_plan"],
    });
    return { data: serializeWorkspaceTask(wt) };
  } catch (err) {
    if (isUniqueViolation(err)) throw invalidAttribute("Task has already been taken", "/data/relationships/task");
    throw err;
  }
}

export async function readWorkspaceTask(deps: GatewayDeps, principal: Principal, workspaceId: string, id: string) {
  return { data: serializeWorkspaceTask(await loadWorkspaceTask(deps, principal, workspaceId, id, false)) };
}

export async function updateWorkspaceTask(deps: GatewayDeps, principal: Principal, workspaceId: string, id: string, input: WorkspaceTaskInput) {
  const wt = await loadWorkspaceTask(deps, principal, workspaceId, id, true);
  const updated = await runTasksRepo.updateWorkspaceTask(deps.db, wt.id, {
    ...(input.enforcementLevel !== undefined ? { enforcementLevel: input.enforcementLevel } : {}),
    ...(input.stages !== undefined ? { stages: input.stages } : {}),
  });
  return { data: serializeWorkspaceTask(updated) };
}

export async function deleteWorkspaceTask(deps: GatewayDeps, principal: Principal, workspaceId: string, id: string): Promise<void> {
  const wt = await loadWorkspaceTask(deps, principal, workspaceId, id, true);
  await runTasksRepo.deleteWorkspaceTask(deps.db, wt.id);
}

// ------------------------------------------------------------------ task stages and results

/** Overriding a failed mandatory task needs HCP's manage-policy-overrides: owners and teams with it. */
async function canOverride(deps: GatewayDeps, principal: Principal, organizationId: string): Promise<boolean> {
  const org = await organizationsRepo.findOrganizationById(deps.db, organizationId);
  const ctx = org ? await organizationContext(deps.db, principal, org) : null;
  return canOverrideTaskStages(ctx, principal.kind);
}

async function stageDocuments(deps: GatewayDeps, principal: Principal, stages: runTasksRepo.TaskStage[], organizationId: string, planOnly: boolean, include: Set<string>) {
  const results = await runTasksRepo.listResultsOfStages(deps.db, stages.map((s) => s.id));
  const override = stages.length > 0 && (await canOverride(deps, principal, organizationId));
  const data = stages.map((s) => serializeTaskStage(s, results.filter((r) => r.taskStageId === s.id).map((r) => r.id), { canOverride: override }));
  const included: Resource[] = [];
  if (include.has("task_results")) addIncluded(included, results.map((r) => serializeTaskResult(r, planOnly)));
  return { data, included };
}

/** The run's stages for the run document (`task-stages` relationship, `?include=task_stages`), in one query per page. */
export async function taskStagesOfRuns(deps: GatewayDeps, principal: Principal, runs: readonly { id: string; organizationId: string; planOnly: boolean }[], include: boolean) {
  const stages = await runTasksRepo.listTaskStagesOfRuns(deps.db, runs.map((r) => r.id));
  const idsByRun = new Map<string, string[]>();
  for (const s of stages) idsByRun.set(s.runId, [...(idsByRun.get(s.runId) ?? []), s.id]);
  if (!include || stages.length === 0) return { idsByRun, included: [] as Resource[] };
  const included: Resource[] = [];
  for (const run of runs) {
    const own = stages.filter((s) => s.runId === run.id);
    if (own.length > 0) addIncluded(included, (await stageDocuments(deps, principal, own, run.organizationId, run.planOnly, new Set())).data);
  }
  return { idsByRun, included };
}

export async function listTaskStagesOfRun(deps: GatewayDeps, principal: Principal, runId: string, query: Query) {
  const { run } = await loadRunForPrincipal(deps, principal, runId);
  const page = parsePage(query);
  const { items, total } = await runTasksRepo.listTaskStagesOfRun(deps.db, run.id, { offset: page.offset, limit: page.size });
  const { data, included } = await stageDocuments(deps, principal, items, run.organizationId, run.planOnly, parseInclude(query));
  const { meta, links } = paginate(page, total, `${deps.publicUrl}/api/v2/runs/${run.id}/task-stages`, flattenQuery(query));
  return { data, ...(included.length > 0 ? { included } : {}), links, meta };
}

async function loadStage(deps: GatewayDeps, principal: Principal, id: string) {
  if (!isId("ts", id)) throw notFound("task stage not found");
  const stage = await runTasksRepo.findTaskStage(deps.db, id);
  if (!stage) throw notFound("task stage not found");
  try {
    const { run } = await loadRunForPrincipal(deps, principal, stage.runId);
    return { stage, run };
  } catch (err) {
    if (err instanceof TarmacError && err.code === "not_found") throw notFound("task stage not found");
    throw err;
  }
}

export async function readTaskStage(deps: GatewayDeps, principal: Principal, id: string, query: Query) {
  const { stage, run } = await loadStage(deps, principal, id);
  const { data, included } = await stageDocuments(deps, principal, [stage], run.organizationId, run.planOnly, parseInclude(query));
  return { data: data[0], ...(included.length > 0 ? { included } : {}) };
}

/**
 * Overrides a stage awaiting an override: the stage passes, on record as overridden by the
 * principal, and the scheduler carries the run on. 409 when the stage does not await one.
 */
export async function overrideTaskStage(deps: GatewayDeps, principal: Principal, id: string) {
  const { stage, run } = await loadStage(deps, principal, id);
  if (!(await canOverride(deps, principal, run.organizationId))) throw forbidden("not allowed to override this task stage");
  const at = deps.now();
  const subjects = subjectsFor(deps.env.TARMAC_NATS_PREFIX);
  const actorId = principal.kind === "user" ? principal.user.id : null;
  const moved = await inTransaction(deps.db, async (tx) => {
    if (!(await runTasksRepo.setTaskStageStatus(tx, stage.id, ["awaiting_override"], "passed", at, actorId))) return false;
    await enqueueOutbox(tx, {
      subject: subjects.taskStageChanged(run.id),
      payload: { type: "task_stage.changed", runId: run.id, workspaceId: run.workspaceId, taskStageId: stage.id, reason: "override", at: at.toISOString() },
      msgId: `task-stage-override:${stage.id}`,
      headers: injectTraceContext({}),
    });
    return true;
  });
  if (!moved) throw conflict("The task stage is not awaiting an override");
  return readTaskStage(deps, principal, id, { include: "task_results" });
}

async function loadResult(deps: GatewayDeps, principal: Principal, id: string) {
  if (!isId("taskrs", id)) throw notFound("task result not found");
  const result = await runTasksRepo.findTaskResult(deps.db, id);
  if (!result) throw notFound("task result not found");
  try {
    const { run } = await loadRunForPrincipal(deps, principal, result.runId);
    return { result, run };
  } catch (err) {
    if (err instanceof TarmacError && err.code === "not_found") throw notFound("task result not found");
    throw err;
  }
}

export async function readTaskResult(deps: GatewayDeps, principal: Principal, id: string) {
  const { result, run } = await loadResult(deps, principal, id);
  return { data: serializeTaskResult(result, run.planOnly) };
}

export async function listOutcomes(deps: GatewayDeps, principal: Principal, id: string, query: Query) {
  const { result } = await loadResult(deps, principal, id);
  const page = parsePage(query);
  const { items, total } = await runTasksRepo.listOutcomes(deps.db, result.id, { offset: page.offset, limit: page.size });
  return { data: items.map(serializeOutcome), ...paginate(page, total, `${deps.publicUrl}/api/v2/task-results/${result.id}/outcomes`, flattenQuery(query)) };
}

async function loadOutcome(deps: GatewayDeps, principal: Principal, id: string) {
  if (!isId("taskrsout", id)) throw notFound("task result outcome not found");
  const outcome = await runTasksRepo.findOutcome(deps.db, id);
  if (!outcome) throw notFound("task result outcome not found");
  await loadResult(deps, principal, outcome.taskResultId);
  return outcome;
}

export async function readOutcome(deps: GatewayDeps, principal: Principal, id: string) {
  return { data: serializeOutcome(await loadOutcome(deps, principal, id)) };
}

export async function outcomeBody(deps: GatewayDeps, principal: Principal, id: string): Promise<string> {
  const outcome = await loadOutcome(deps, principal, id);
  if (outcome.body === null) throw notFound("the outcome has no body");
  return outcome.body;
}

// ------------------------------------------------------------------ the integration's side

/** The run a request's run task access token grants; 401 without a genuine unexpired one. */
export function runOfTaskToken(deps: GatewayDeps, authorization: string | undefined): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  const runId = match?.[1] ? runOfRunTaskToken(deps.keys, match[1], deps.now()) : null;
  if (!runId) throw new TarmacError("unauthorized");
  return runId;
}

export function isTaskToken(authorization: string | undefined): boolean {
  return /^Bearer\s+tarmac-task\./i.test(authorization ?? "");
}

/**
 * Records an integration's report on a result of the token's run, with the event the scheduler
 * acts on, in one transaction. Reporting the same final status again answers as the first time
 * did (integrations retry); changing a final verdict is a 409.
 */
export async function recordTaskCallback(deps: GatewayDeps, tokenRunId: string, resultId: string, report: runTasksRepo.CallbackReport): Promise<void> {
  if (!isId("taskrs", resultId)) throw notFound("task result not found");
  const result = await runTasksRepo.findTaskResult(deps.db, resultId);
  if (!result || result.runId !== tokenRunId) throw notFound("task result not found");
  const run = await runsRead.findRun(deps.db, result.runId);
  if (!run) throw notFound("task result not found");
  const at = deps.now();
  const subjects = subjectsFor(deps.env.TARMAC_NATS_PREFIX);
  const changed = await inTransaction(deps.db, async (tx) => {
    if (!(await runTasksRepo.recordCallback(tx, result.id, report, at))) return false;
    if (isTaskResultFinal(report.status)) {
      await enqueueOutbox(tx, {
        subject: subjects.taskStageChanged(run.id),
        payload: { type: "task_stage.changed", runId: run.id, workspaceId: run.workspaceId, taskStageId: result.taskStageId, taskResultId: result.id, reason: "result", at: at.toISOString() },
        msgId: `task-result:${result.id}:${report.status}`,
        headers: injectTraceContext({}),
      });
    }
    return true;
  });
  if (changed) return;
  const current = await runTasksRepo.findTaskResult(deps.db, result.id);
  if (current && current.status === report.status) return;
  throw conflict(`The task result is already ${current?.status ?? "final"}`);
}

/** The run's JSON plan for its integrations (`plan_json_api_url`); 204 until the plan has one. */
export async function planJsonForTask(deps: GatewayDeps, tokenRunId: string, planId: string): Promise<Buffer | null> {
  if (planId !== planIdFor(tokenRunId)) throw notFound("plan not found");
  const plan = await runsRead.findPlan(deps.db, planId);
  if (!plan) throw notFound("plan not found");
  return plan.status === "finished" ? runsRead.planJsonBytes(deps.db, planId) : null;
}

/** The run's configuration archive for its integrations (`configuration_version_download_url`). */
export async function configurationForTask(deps: GatewayDeps, tokenRunId: string, cvId: string): Promise<Buffer> {
  const run = await runsRead.findRun(deps.db, tokenRunId);
  if (!run || run.configurationVersionId !== cvId) throw notFound("configuration version not found");
  const archive = await configurationVersionsRepo.readConfigurationArchive(deps.db, cvId);
  if (!archive) throw notFound("the configuration version has no uploaded archive");
  return archive;
}
