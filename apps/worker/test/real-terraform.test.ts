import { enqueuePhaseJob } from "@tarmac/queues";
import { parseApplyCounts } from "@tarmac/runner";
import { blobText, createRunFixture, startWorkerTestEnv, type WorkerTestEnv } from "./helpers";

/**
 * The worker with the real terraform (v1.11.4 on PATH on every machine of this project) and its
 * built-in provider, which needs no download: provider schemas for the redacted plan, and the
 * JSON-lines logs of structured run output.
 */
let env: WorkerTestEnv;

beforeAll(async () => {
  env = await startWorkerTestEnv();
  env.startWorkers({ terraformBin: "terraform" });
}, 60_000);

afterAll(async () => {
  await env?.close();
}, 60_000);

const CONFIG = `
resource "terraform_data" "a" {
  input = "hello"
}
`;

async function planAndApply(structured: boolean) {
  const f = await createRunFixture(env, { files: { "main.tf": CONFIG } });
  await env.db.workspace.update({ where: { id: f.workspaceId }, data: { structuredRunOutputEnabled: structured } });
  await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });
  expect(await env.waitForFinal(f.runId, "plan", 90_000)).toMatchObject({ kind: "finished", resourceAdditions: 1 });
  await env.db.run.update({ where: { id: f.runId }, data: { status: "applying" } });
  await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "apply", jobUrl: env.jobUrl(f.runId, "apply") });
  expect(await env.waitForFinal(f.runId, "apply", 90_000)).toMatchObject({ kind: "finished", resourceAdditions: 1 });
  const plan = await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } });
  const apply = await env.db.apply.findUniqueOrThrow({ where: { runId: f.runId } });
  return {
    planLog: (await blobText(env.db, plan.logBlobId))!.toString("utf8"),
    applyLog: (await blobText(env.db, apply.logBlobId))!.toString("utf8"),
    schemas: JSON.parse((await blobText(env.db, plan.providerSchemasBlobId))!.toString("utf8")) as Record<string, any>,
  };
}

/** The log's lines after the three header lines, without STX/ETX. */
const bodyLines = (log: string) => log.replace(/^\x02/, "").replace(/\x03$/, "").split("\n").slice(3).filter((l) => l.trim() !== "");

describe("the real terraform in the worker", () => {
  it("uploads the built-in provider's schema and writes plain-text logs without structured run output", async () => {
    const { planLog, applyLog, schemas } = await planAndApply(false);
    expect(Object.keys(schemas.provider_schemas)).toEqual(["terraform.io/builtin/terraform"]);
    expect(schemas.provider_schemas["terraform.io/builtin/terraform"].resource_schemas.terraform_data.block.attributes.input.type).toBe("dynamic");
    expect(planLog).toContain("Plan: 1 to add, 0 to change, 0 to destroy.");
    // The worker's own CLI configuration: no warning about the host's missing one.
    expect(planLog).not.toContain("CLI configuration");
    expect(applyLog).toContain("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
  }, 200_000);

  it("writes terraform's JSON lines, which the CLI renders, when the workspace has structured run output", async () => {
    const { planLog, applyLog } = await planAndApply(true);
    const plan = bodyLines(planLog).map((l) => JSON.parse(l) as { type: string; changes?: unknown });
    expect(plan.map((m) => m.type)).toEqual(expect.arrayContaining(["version", "planned_change", "change_summary"]));
    expect(plan.find((m) => m.type === "change_summary")?.changes).toMatchObject({ add: 1, change: 0, remove: 0, operation: "plan" });
    // The CLI drops an apply log's first three lines (notes §0.11), then renders each JSON line.
    const apply = bodyLines(applyLog).map((l) => JSON.parse(l) as { type: string; "@message": string });
    const summary = apply.find((m) => m.type === "change_summary");
    expect(summary?.["@message"]).toBe("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    expect(parseApplyCounts(applyLog)).toMatchObject({ resourceAdditions: 1 });
  }, 200_000);
});
