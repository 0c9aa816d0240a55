import { createHmac } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { encryptValue, inTransaction, runTasksRepo } from "@tarmac/db";
import { newId } from "@tarmac/domain";
import { handleEvent, handleWorkspaceChanged, reconcileOnce } from "../src/engine";
import { createOrganization, createRun, createWorkspace, requestAction, startHarness, statusOf, type Harness, type Ws } from "./fixtures";

/**
 * The scheduler's side of run tasks against a real HTTP task URL: the request leaves only after
 * the stage is committed, is sent again while the URL refuses it, errors the result after too
 * many refusals, and a run canceled mid-stage ends its stage.
 */
let h: Harness;
let server: Server;
let url = "";
/** Status the task URL answers with, per path; requests recorded in order. */
const answers = new Map<string, number>();
const requests: { path: string; body: string; signature: string | undefined }[] = [];

beforeAll(async () => {
  h = await startHarness({ runTaskMaxDeliveryAttempts: 3, runTaskRequestTimeoutMs: 2_000, publicUrl: "https://tarmac.example.com" });
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests.push({ path: req.url ?? "", body: Buffer.concat(chunks).toString("utf8"), signature: req.headers["x-tfc-task-signature"] as string | undefined });
      res.writeHead(answers.get(req.url ?? "") ?? 200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await h.close();
});

async function workspaceWithPrePlanTask(path: string, key: string | null): Promise<Ws> {
  const ws = await createWorkspace(h.db, await createOrganization(h.db));
  const task = await runTasksRepo.createRunTask(h.db, {
    organizationId: ws.organizationId,
    name: newId("task").toLowerCase(),
    url: `${url}${path}`,
    description: null,
    category: "task",
    enabled: true,
    hmacKeyEncrypted: key ? encryptValue(key, h.ctx.settings.capabilityKeys.current) : null,
  });
  await runTasksRepo.createWorkspaceTask(h.db, { workspaceId: ws.workspaceId, taskId: task.id, enforcementLevel: "mandatory", stages: ["pre_plan"] });
  return ws;
}

const requestsFor = (runId: string) => requests.filter((r) => (JSON.parse(r.body) as { run_id: string }).run_id === runId);

it("sends the task URL its signed request once the run is in the stage, and marks the result running", async () => {
  const ws = await workspaceWithPrePlanTask("/ok", "k3y");
  const runId = await createRun(h, ws);
  await handleWorkspaceChanged(h.ctx, ws.workspaceId);
  expect(await statusOf(h.db, runId)).toBe("pre_plan_running");
  const [sent] = requestsFor(runId);
  expect(sent!.signature).toBe(createHmac("sha512", "k3y").update(sent!.body).digest("hex"));
  const payload = JSON.parse(sent!.body);
  expect(payload).toMatchObject({ payload_version: 1, stage: "pre_plan", run_id: runId, workspace_id: ws.workspaceId, task_result_enforcement_level: "mandatory" });
  expect(payload.task_result_callback_url).toBe(`https://tarmac.example.com/api/v2/task-results/${payload.task_result_id}/callback`);
  expect(payload.access_token).toMatch(new RegExp(`^tarmac-task\\.${runId}\\.`));
  expect((await runTasksRepo.findTaskResult(h.db, payload.task_result_id))!.status).toBe("running");

  // A repeated event does not send it again: the result is no longer owed.
  await handleWorkspaceChanged(h.ctx, ws.workspaceId);
  await reconcileOnce(h.ctx);
  expect(requestsFor(runId)).toHaveLength(1);
});

it("sends the request again while the URL refuses it, then errors the result and the run", async () => {
  answers.set("/down", 503);
  const ws = await workspaceWithPrePlanTask("/down", null);
  const runId = await createRun(h, ws);
  await handleWorkspaceChanged(h.ctx, ws.workspaceId);
  expect(requestsFor(runId)).toHaveLength(1);
  expect(await statusOf(h.db, runId)).toBe("pre_plan_running");
  await reconcileOnce(h.ctx);
  expect(requestsFor(runId)).toHaveLength(2);
  await reconcileOnce(h.ctx);
  expect(requestsFor(runId)).toHaveLength(3);
  expect(await statusOf(h.db, runId)).toBe("errored");
  const result = await h.db.taskResult.findFirstOrThrow({ where: { runId } });
  expect(result).toMatchObject({ status: "errored", deliveryAttempts: 3 });
  expect(result.message).toMatch(/could not reach the run task: the task URL answered 503/);
  expect((await h.db.taskStage.findFirstOrThrow({ where: { runId } })).status).toBe("failed");
});

it("recovers a task URL that comes back before the attempts run out", async () => {
  answers.set("/flaky", 500);
  const ws = await workspaceWithPrePlanTask("/flaky", null);
  const runId = await createRun(h, ws);
  await handleWorkspaceChanged(h.ctx, ws.workspaceId);
  answers.set("/flaky", 200);
  await reconcileOnce(h.ctx);
  expect(requestsFor(runId)).toHaveLength(2);
  expect((await h.db.taskResult.findFirstOrThrow({ where: { runId } })).status).toBe("running");
  expect(await statusOf(h.db, runId)).toBe("pre_plan_running");
});

it("moves on once the result passes, and ends the stage of a run canceled mid-stage", async () => {
  const ws = await workspaceWithPrePlanTask("/ok", null);
  const passing = await createRun(h, ws);
  await handleWorkspaceChanged(h.ctx, ws.workspaceId);
  const result = await h.db.taskResult.findFirstOrThrow({ where: { runId: passing } });
  await inTransaction(h.db, (tx) => runTasksRepo.recordCallback(tx, result.id, { status: "passed", message: null, url: null, outcomes: [] }, new Date()));
  await handleEvent(h.ctx, { type: "task_stage.changed", runId: passing, workspaceId: ws.workspaceId, taskStageId: result.taskStageId, reason: "result", at: new Date().toISOString() });
  expect(await statusOf(h.db, passing)).toBe("plan_queued");
  expect((await h.db.taskStage.findUniqueOrThrow({ where: { id: result.taskStageId } })).status).toBe("passed");

  const ws2 = await workspaceWithPrePlanTask("/ok", null);
  const canceled = await createRun(h, ws2);
  await handleWorkspaceChanged(h.ctx, ws2.workspaceId);
  await requestAction(h, canceled, "cancel");
  expect(await statusOf(h.db, canceled)).toBe("canceled");
  expect(await h.db.taskStage.findFirstOrThrow({ where: { runId: canceled } })).toMatchObject({ status: "canceled" });
  expect(await h.db.taskResult.findFirstOrThrow({ where: { runId: canceled } })).toMatchObject({ status: "canceled" });
});
