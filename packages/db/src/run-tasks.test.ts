import { newId } from "@tarmac/domain";
import { createOrganizationRow, createTestDatabase, createWorkspaceRow, type TestDatabase } from "@tarmac/testing";
import { createDb, inTransaction, type Db } from "./client";
import * as runTasksRepo from "./repositories/run-tasks";
import { decryptValue, encryptValue } from "./secrets";
import { reencryptUnderCurrentKey } from "./secrets-rotation";

describe("run task stages and results", () => {
  let database: TestDatabase;
  let db: Db;
  let organizationId: string;
  let workspaceId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, poolSize: 2 });
    organizationId = (await createOrganizationRow(db)).id;
    workspaceId = (await createWorkspaceRow(db, organizationId)).id;
  }, 60_000);
  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  async function newRun(): Promise<string> {
    const cv = newId("cv");
    await db.configurationVersion.create({ data: { id: cv, workspaceId, status: "uploaded" } });
    const id = newId("run");
    await db.run.create({ data: { id, organizationId, workspaceId, configurationVersionId: cv, operation: "plan_and_apply", terraformVersion: "1.9.4" } });
    return id;
  }

  async function attach(stages: ("pre_plan" | "post_plan")[], enabled = true) {
    const task = await runTasksRepo.createRunTask(db, { organizationId, name: newId("task").toLowerCase(), url: "https://example.com", description: null, category: "task", enabled, hmacKeyEncrypted: null });
    return runTasksRepo.createWorkspaceTask(db, { workspaceId, taskId: task.id, enforcementLevel: "mandatory", stages });
  }

  it("creates a run's pending stages for enabled tasks only, and starts each once", async () => {
    await attach(["pre_plan"]);
    await attach(["pre_plan"], false);
    const at = new Date();
    const runId = await newRun();
    await inTransaction(db, (tx) => runTasksRepo.createPendingStages(tx, { runId, workspaceId, at }));
    const pending = await runTasksRepo.findStageOfRun(db, runId, "pre_plan");
    expect(pending).toMatchObject({ status: "pending" });
    expect(pending!.results).toHaveLength(1);
    expect(await runTasksRepo.findStageOfRun(db, runId, "post_plan")).toBeNull();

    const tasks = await runTasksRepo.listStageTasks(db, workspaceId, "pre_plan");
    const first = await inTransaction(db, (tx) => runTasksRepo.ensureStageWithResults(tx, { runId, stage: "pre_plan", tasks, at }));
    const again = await inTransaction(db, (tx) => runTasksRepo.ensureStageWithResults(tx, { runId, stage: "pre_plan", tasks, at }));
    expect(first.id).toBe(pending!.id);
    expect(again).toMatchObject({ id: first.id, status: "running" });
    expect(again.results.map((r) => r.id)).toEqual(pending!.results.map((r) => r.id));
  });

  it("keeps a result's first final verdict and ends open stages with their run", async () => {
    const runId = await newRun();
    const wt = await attach(["post_plan"]);
    const tasks = (await runTasksRepo.listStageTasks(db, workspaceId, "post_plan")).filter((t) => t.workspaceTaskId === wt.id);
    const stage = await inTransaction(db, (tx) => runTasksRepo.ensureStageWithResults(tx, { runId, stage: "post_plan", tasks, at: new Date() }));
    const resultId = stage.results[0]!.id;
    const report = (status: "running" | "passed" | "failed") => ({ status, message: status, url: null, outcomes: [] });
    expect(await inTransaction(db, (tx) => runTasksRepo.recordCallback(tx, resultId, report("running"), new Date()))).toBe(true);
    expect(await inTransaction(db, (tx) => runTasksRepo.recordCallback(tx, resultId, report("failed"), new Date()))).toBe(true);
    expect(await inTransaction(db, (tx) => runTasksRepo.recordCallback(tx, resultId, report("passed"), new Date()))).toBe(false);
    expect((await runTasksRepo.findTaskResult(db, resultId))!.status).toBe("failed");

    const other = await newRun();
    await inTransaction(db, (tx) => runTasksRepo.createPendingStages(tx, { runId: other, workspaceId, at: new Date() }));
    await inTransaction(db, (tx) => runTasksRepo.settleStagesOfEndedRun(tx, other, new Date()));
    const stages = await db.taskStage.findMany({ where: { runId: other }, include: { results: true } });
    expect(stages.length).toBeGreaterThan(0);
    for (const s of stages) {
      expect(s.status).toBe("unreachable");
      expect(s.results.every((r) => r.status === "unreachable")).toBe(true);
    }
  });

  it("re-encrypts HMAC keys under the current key after a rotation", async () => {
    const oldKey = "old-key-old-key-old-key-old-key-old-key-old-key";
    const newKey = "new-key-new-key-new-key-new-key-new-key-new-key";
    const task = await runTasksRepo.createRunTask(db, { organizationId, name: "signed", url: "https://example.com", description: null, category: "task", enabled: true, hmacKeyEncrypted: encryptValue("k", oldKey) });
    const counts = await reencryptUnderCurrentKey(db, { current: newKey, previous: [oldKey] });
    expect(counts.reencrypted).toBeGreaterThanOrEqual(1);
    const row = await db.runTask.findUniqueOrThrow({ where: { id: task.id } });
    expect(decryptValue(row.hmacKeyEncrypted!, { current: newKey, previous: [] })).toBe("k");
  });
});
