import type { runTasksRepo } from "@tarmac/db";

type TaskStage = runTasksRepo.TaskStage;
type WorkspaceRunTask = runTasksRepo.WorkspaceRunTask;
import { time, toMany, toOne, type Resource } from "@tarmac/jsonapi";

/** Run tasks as HCP writes them (`tasks`, `workspace-tasks`, `task-stages`, `task-results`, `task-result-outcomes`). */

/** The HMAC key is write-only: it is never sent back (HCP answers `null`). */
export function serializeRunTask(task: runTasksRepo.RunTaskRow, organizationName: string, workspaceTaskIds: readonly string[]): Resource {
  return {
    id: task.id,
    type: "tasks",
    attributes: {
      category: task.category,
      name: task.name,
      url: task.url,
      description: task.description,
      enabled: task.enabled,
      "hmac-key": null,
      "created-at": time(task.createdAt),
      "updated-at": time(task.updatedAt),
    },
    relationships: {
      organization: toOne("organizations", organizationName),
      "workspace-tasks": toMany("workspace-tasks", workspaceTaskIds),
    },
    links: { self: `/api/v2/tasks/${task.id}` },
  };
}

export function serializeWorkspaceTask(wt: WorkspaceRunTask): Resource {
  return {
    id: wt.id,
    type: "workspace-tasks",
    attributes: {
      "enforcement-level": wt.enforcementLevel,
      // Deprecated by HCP in favour of `stages`, still sent: older clients read it.
      stage: wt.stages[0] ?? "post_plan",
      stages: wt.stages,
      "created-at": time(wt.createdAt),
      "updated-at": time(wt.updatedAt),
    },
    relationships: {
      task: toOne("tasks", wt.taskId),
      workspace: toOne("workspaces", wt.workspaceId),
    },
    links: { self: `/api/v2/workspaces/${wt.workspaceId}/tasks/${wt.id}` },
  };
}

export interface TaskStagePermissions {
  canOverride: boolean;
}

export function serializeTaskStage(stage: TaskStage, resultIds: readonly string[], perms: TaskStagePermissions): Resource {
  const isOverridable = stage.status === "awaiting_override";
  return {
    id: stage.id,
    type: "task-stages",
    attributes: {
      status: stage.status,
      stage: stage.stage,
      "status-timestamps": (stage.statusTimestamps ?? {}) as Record<string, string>,
      "created-at": time(stage.createdAt),
      "updated-at": time(stage.updatedAt),
      permissions: { "can-override-policy": perms.canOverride, "can-override-tasks": perms.canOverride, "can-override": perms.canOverride },
      actions: { "is-overridable": isOverridable && perms.canOverride },
    },
    relationships: {
      run: toOne("runs", stage.runId),
      "task-results": toMany("task-results", resultIds),
      "policy-evaluations": toMany("policy-evaluations", []),
    },
    links: { self: `/api/v2/task-stages/${stage.id}` },
  };
}

export function serializeTaskResult(result: runTasksRepo.TaskResultRow, isSpeculative: boolean): Resource {
  return {
    id: result.id,
    type: "task-results",
    attributes: {
      message: result.message,
      status: result.status,
      "status-timestamps": (result.statusTimestamps ?? {}) as Record<string, string>,
      url: result.url,
      "created-at": time(result.createdAt),
      "updated-at": time(result.updatedAt),
      "task-id": result.taskId,
      "task-name": result.taskName,
      "task-url": result.taskUrl,
      stage: result.stage,
      "is-speculative": isSpeculative,
      "workspace-task-id": result.workspaceTaskId,
      "workspace-task-enforcement-level": result.enforcementLevel,
      "task-result-outcomes-count": result.outcomesCount,
      "agent-pool-id": null,
    },
    relationships: {
      "task-stage": toOne("task-stages", result.taskStageId),
      "task-result-outcomes": { links: { related: `/api/v2/task-results/${result.id}/outcomes` } },
    },
    links: { self: `/api/v2/task-results/${result.id}` },
  };
}

type OutcomeTags = Record<string, { label: string; level?: string }[]>;

/** Tags arrive keyed by category (`{"Severity": [{label, level}]}`) and are listed as HCP lists them. */
export function serializeOutcome(o: runTasksRepo.TaskResultOutcome): Resource {
  const tags = (o.tags ?? null) as OutcomeTags | null;
  return {
    id: o.id,
    type: "task-result-outcomes",
    attributes: {
      "outcome-id": o.outcomeId,
      description: o.description,
      tags: tags ? Object.entries(tags).map(([label, value]) => ({ label, value })) : null,
      url: o.url,
      "created-at": time(o.createdAt),
    },
    relationships: { "task-result": toOne("task-results", o.taskResultId) },
    links: { self: `/api/v2/task-result-outcomes/${o.id}`, ...(o.body !== null ? { body: `/api/v2/task-result-outcomes/${o.id}/body` } : {}) },
  };
}
