import express, { Router, type NextFunction, type Request, type Response } from "express";
import { z } from "zod";
import { TASK_CALLBACK_STATUSES } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { principalOf } from "../http/auth";
import { guardInput } from "../http/input-guard";
import { parseBody, pathParam } from "../http/request-body";
import { sendDocument, sendEmpty } from "../http/respond";
import * as service from "../services/run-tasks";

/** A run's task stages and results, and the override action (bearer tokens, behind /api/v2). */
export function taskStagesRouter(deps: GatewayDeps): Router {
  const r = Router();
  const query = (req: { query: unknown }) => req.query as Record<string, unknown>;

  r.get("/runs/:id/task-stages", async (req, res) => {
    sendDocument(res, 200, await service.listTaskStagesOfRun(deps, principalOf(req), pathParam(req, "id"), query(req)));
  });
  r.get("/task-stages/:id", async (req, res) => {
    sendDocument(res, 200, await service.readTaskStage(deps, principalOf(req), pathParam(req, "id"), query(req)));
  });
  r.post("/task-stages/:id/actions/override", async (req, res) => {
    sendDocument(res, 200, await service.overrideTaskStage(deps, principalOf(req), pathParam(req, "id")));
  });
  r.get("/task-results/:id", async (req, res) => {
    sendDocument(res, 200, await service.readTaskResult(deps, principalOf(req), pathParam(req, "id")));
  });
  r.get("/task-results/:id/outcomes", async (req, res) => {
    sendDocument(res, 200, await service.listOutcomes(deps, principalOf(req), pathParam(req, "id"), query(req)));
  });
  r.get("/task-result-outcomes/:id", async (req, res) => {
    sendDocument(res, 200, await service.readOutcome(deps, principalOf(req), pathParam(req, "id")));
  });
  r.get("/task-result-outcomes/:id/body", async (req, res) => {
    res.status(200).type("text/markdown; charset=utf-8").send(await service.outcomeBody(deps, principalOf(req), pathParam(req, "id")));
  });
  return r;
}

const tagEntry = z.object({ label: z.string().max(256), level: z.enum(["none", "info", "warning", "error"]).optional() });
const outcome = z.object({
  type: z.literal("task-result-outcomes").optional(),
  attributes: z.object({
    "outcome-id": z.string().min(1).max(256),
    description: z.string().max(4096),
    body: z.string().max(1024 * 1024).nullable().optional(),
    url: z.string().url().max(2048).nullable().optional(),
    tags: z.record(z.string().max(256), z.array(tagEntry).max(50)).nullable().optional(),
  }),
});
/** The integration's report (run tasks integration API, "Run Task Callback"). */
const callbackBody = z.object({
  data: z.object({
    type: z.literal("task-results"),
    attributes: z.object({
      status: z.enum(TASK_CALLBACK_STATUSES),
      message: z.string().max(4096).nullable().optional(),
      url: z.string().url().max(2048).nullable().optional(),
    }),
    relationships: z.object({ outcomes: z.object({ data: z.array(outcome).max(250) }) }).optional(),
  }),
});

/**
 * What an integration does with the access token it was sent, before bearer authentication (its
 * token is no API token): `PATCH /api/v2/task-results/:id/callback`, and reads of the run's JSON
 * plan and configuration archive. Any other bearer token on those reads goes on to the API.
 */
export function taskIntegrationRouter(deps: GatewayDeps): Router {
  const r = Router();
  const json = express.json({ type: () => true, limit: "5mb", strict: false });

  // Outside the /api/v2 mount, so its own body parser and input guard (NUL characters are a 422).
  r.patch("/api/v2/task-results/:id/callback", json, guardInput, async (req, res) => {
    const runId = service.runOfTaskToken(deps, req.get("authorization"));
    const { attributes, relationships } = parseBody(callbackBody, req.body).data;
    await service.recordTaskCallback(deps, runId, pathParam(req, "id"), {
      status: attributes.status,
      message: attributes.message ?? null,
      url: attributes.url ?? null,
      outcomes: (relationships?.outcomes.data ?? []).map((o) => ({
        outcomeId: o.attributes["outcome-id"],
        description: o.attributes.description,
        url: o.attributes.url ?? null,
        body: o.attributes.body ?? null,
        tags: o.attributes.tags ?? null,
      })),
    });
    sendEmpty(res, 200);
  });

  const onlyTaskTokens = (req: Request, _res: Response, next: NextFunction) => {
    if (service.isTaskToken(req.get("authorization"))) next();
    else next("router");
  };

  r.get("/api/v2/plans/:id/json-output", onlyTaskTokens, async (req, res) => {
    const runId = service.runOfTaskToken(deps, req.get("authorization"));
    const bytes = await service.planJsonForTask(deps, runId, pathParam(req, "id"));
    if (bytes === null) sendEmpty(res, 204);
    else res.status(200).type("application/json").send(bytes);
  });

  r.get("/api/v2/configuration-versions/:id/download", onlyTaskTokens, async (req, res) => {
    const runId = service.runOfTaskToken(deps, req.get("authorization"));
    res.status(200).type("application/x-gzip").send(await service.configurationForTask(deps, runId, pathParam(req, "id")));
  });

  return r;
}
