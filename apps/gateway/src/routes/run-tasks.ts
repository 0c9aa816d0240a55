import { Router } from "express";
import { z } from "zod";
import { ENFORCEMENT_LEVELS, TASK_STAGES } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { principalOf } from "../http/auth";
import { jsonApiDocument, parseBody, pathParam, resourceName } from "../http/request-body";
import { sendDocument, sendEmpty } from "../http/respond";
import * as service from "../services/run-tasks";

const taskUrl = z
  .string()
  .url("URL is invalid")
  .max(2048)
  .refine((u) => /^https?:\/\//i.test(u), "URL must use http or https");
const taskAttributes = {
  description: z.string().max(4096).nullable().optional(),
  // HCP has one category.
  category: z.literal("task").optional(),
  enabled: z.boolean().optional(),
  "hmac-key": z.string().max(4096).nullable().optional(),
};
const createTaskBody = jsonApiDocument("tasks", z.object({ name: resourceName(255), url: taskUrl, ...taskAttributes }));
const updateTaskBody = jsonApiDocument("tasks", z.object({ name: resourceName(255).optional(), url: taskUrl.optional(), ...taskAttributes }));

// HCP's four stages: before and after the plan, before and after the apply.
const stageSchema = z.enum(TASK_STAGES, { message: "must be one of pre_plan, post_plan, pre_apply, post_apply" });
const workspaceTaskAttributes = z.object({
  "enforcement-level": z.enum(ENFORCEMENT_LEVELS).optional(),
  // `stage` is HCP's deprecated single stage; `stages` wins when both are sent.
  stage: stageSchema.optional(),
  stages: z.array(stageSchema).min(1, "Stages can't be blank").optional(),
});
const taskRelationship = z.object({ task: z.object({ data: z.object({ type: z.literal("tasks"), id: z.string().min(1) }) }) });
const createWorkspaceTaskBody = jsonApiDocument("workspace-tasks", workspaceTaskAttributes, taskRelationship);
const updateWorkspaceTaskBody = jsonApiDocument("workspace-tasks", workspaceTaskAttributes);

function stagesOf(attrs: z.infer<typeof workspaceTaskAttributes>) {
  if (attrs.stages) return [...new Set(attrs.stages)];
  return attrs.stage ? [attrs.stage] : undefined;
}

/** Organization run tasks (`/organizations/:org/tasks`, `/tasks/:id`) and workspace run tasks (`/workspaces/:id/tasks`). */
export function runTasksRouter(deps: GatewayDeps): Router {
  const r = Router();
  const query = (req: { query: unknown }) => req.query as Record<string, unknown>;

  r.get("/organizations/:org/tasks", async (req, res) => {
    sendDocument(res, 200, await service.listTasks(deps, principalOf(req), pathParam(req, "org"), query(req)));
  });
  r.post("/organizations/:org/tasks", async (req, res) => {
    const attrs = parseBody(createTaskBody, req.body).data.attributes;
    sendDocument(res, 201, await service.createTask(deps, principalOf(req), pathParam(req, "org"), attrs));
  });
  r.get("/tasks/:id", async (req, res) => {
    sendDocument(res, 200, await service.readTask(deps, principalOf(req), pathParam(req, "id"), query(req)));
  });
  r.patch("/tasks/:id", async (req, res) => {
    const attrs = parseBody(updateTaskBody, req.body).data.attributes;
    sendDocument(res, 200, await service.updateTask(deps, principalOf(req), pathParam(req, "id"), attrs));
  });
  r.delete("/tasks/:id", async (req, res) => {
    await service.deleteTask(deps, principalOf(req), pathParam(req, "id"));
    sendEmpty(res, 204);
  });

  r.get("/workspaces/:id/tasks", async (req, res) => {
    sendDocument(res, 200, await service.listWorkspaceTasks(deps, principalOf(req), pathParam(req, "id"), query(req)));
  });
  r.post("/workspaces/:id/tasks", async (req, res) => {
    const { attributes, relationships } = parseBody(createWorkspaceTaskBody, req.body).data;
    sendDocument(
      res,
      201,
      await service.createWorkspaceTask(deps, principalOf(req), pathParam(req, "id"), {
        taskId: relationships.task.data.id,
        enforcementLevel: attributes["enforcement-level"],
        stages: stagesOf(attributes),
      }),
    );
  });
  r.get("/workspaces/:id/tasks/:taskId", async (req, res) => {
    sendDocument(res, 200, await service.readWorkspaceTask(deps, principalOf(req), pathParam(req, "id"), pathParam(req, "taskId")));
  });
  r.patch("/workspaces/:id/tasks/:taskId", async (req, res) => {
    const attributes = parseBody(updateWorkspaceTaskBody, req.body).data.attributes;
    sendDocument(
      res,
      200,
      await service.updateWorkspaceTask(deps, principalOf(req), pathParam(req, "id"), pathParam(req, "taskId"), {
        enforcementLevel: attributes["enforcement-level"],
        stages: stagesOf(attributes),
      }),
    );
  });
  r.delete("/workspaces/:id/tasks/:taskId", async (req, res) => {
    await service.deleteWorkspaceTask(deps, principalOf(req), pathParam(req, "id"), pathParam(req, "taskId"));
    sendEmpty(res, 204);
  });

  return r;
}
