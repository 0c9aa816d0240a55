import { enqueuePhaseJob } from "@tarmac/queues";
import { liveLogKey } from "@tarmac/contracts";
import { waitFor } from "@tarmac/testing";
import { blobText, createRunFixture, startWorkerTestEnv, type WorkerTestEnv } from "./helpers";

let env: WorkerTestEnv;

beforeAll(async () => {
  env = await startWorkerTestEnv();
  env.startWorkers();
}, 60_000);

afterAll(async () => {
  await env?.close();
}, 60_000);

describe("plan jobs", () => {
  it("plans a configuration, stores the plan file, JSON plan and log, and reports the counts", async () => {
    const f = await createRunFixture(env);
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });

    const final = await env.waitForFinal(f.runId, "plan");
    expect(final).toMatchObject({
      kind: "finished",
      hasChanges: true,
      resourceAdditions: 1,
      resourceChanges: 0,
      resourceDestructions: 0,
      resourceImports: 0,
    });
    const kinds = env.eventsOf(f.runId, "plan").map((e) => e.kind);
    expect(kinds[0]).toBe("started");
    expect(kinds.at(-1)).toBe("finished");

    const plan = await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } });
    const planFile = await blobText(env.db, plan.planFileBlobId);
    expect(planFile?.length).toBeGreaterThan(0);
    const json = JSON.parse((await blobText(env.db, plan.jsonBlobId))!.toString("utf8")) as { resource_changes: Array<{ address: string; change: { actions: string[] } }> };
    expect(json.resource_changes.map((c) => [c.address, c.change.actions])).toEqual([["null_resource.a", ["create"]]]);

    const log = (await blobText(env.db, plan.logBlobId))!;
    expect(log[0]).toBe(0x02);
    expect(log[log.length - 1]).toBe(0x03);
    const text = log.toString("utf8");
    expect(text).toContain("Terraform v");
    expect(text).toContain("Plan: 1 to add, 0 to change, 0 to destroy.");

    // The schemas the redacted plan is rendered with, pruned to the plan's resource types.
    const schemas = JSON.parse((await blobText(env.db, plan.providerSchemasBlobId))!.toString("utf8")) as {
      format_version: string;
      provider_schemas: Record<string, { resource_schemas: Record<string, unknown> }>;
    };
    expect(schemas.format_version).toBe("1.0");
    expect(Object.keys(schemas.provider_schemas)).toEqual(["registry.terraform.io/hashicorp/null"]);
    expect(Object.keys(schemas.provider_schemas["registry.terraform.io/hashicorp/null"]!.resource_schemas)).toEqual(["null_resource"]);
  });

  it("events carry deterministic, distinct message ids and the same attempt", async () => {
    const f = await createRunFixture(env);
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });
    await env.waitForFinal(f.runId, "plan");
    const events = env.eventsOf(f.runId, "plan");
    expect(new Set(events.map((e) => e.attempt)).size).toBe(1);
    expect(events.map((e) => e.sequence)).toEqual(events.map((_e, i) => i));
  });

  it("makes the log readable from Redis while a slow plan runs, and sends heartbeats", async () => {
    const f = await createRunFixture(env, {
      files: { "main.tf": `resource "null_resource" "a" {}\n`, "terraform-double.json": JSON.stringify({ plan: { seconds: 3 } }) },
    });
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });

    const live = await waitFor(
      async () => {
        const data = await env.redis.getBuffer(liveLogKey(f.planId));
        return data && data.toString("utf8").includes("Still planning") ? data : undefined;
      },
      { timeoutMs: 15_000, what: "a live log with progress lines" },
    );
    expect(live[0]).toBe(0x02);
    expect(live.includes(0x03)).toBe(false);
    // Still running: no final event yet when the live log already shows progress.
    expect(env.eventsOf(f.runId, "plan").some((e) => e.kind === "finished")).toBe(false);

    const final = await env.waitForFinal(f.runId, "plan");
    expect(final.kind).toBe("finished");
    expect(env.eventsOf(f.runId, "plan").filter((e) => e.kind === "heartbeat").length).toBeGreaterThanOrEqual(2);
  }, 30_000);

  it("passes the run's flags and variables to terraform", async () => {
    const config = [
      `variable "name" { type = string }`,
      `variable "size" { type = number }`,
      `variable "secret" {`,
      `  type      = string`,
      `  sensitive = true`,
      `}`,
      `resource "null_resource" "a" {`,
      `  triggers = { name = var.name, size = var.size, secret = var.secret }`,
      `}`,
      `resource "null_resource" "b" {}`,
    ].join("\n");
    const { mkdtemp } = await import("node:fs/promises");
    const path = await import("node:path");
    const recordDir = await mkdtemp(path.join(env.workDir, "tf-record-"));
    const record = path.join(recordDir, "record.jsonl");
    const f = await createRunFixture(env, {
      files: { "main.tf": config },
      variables: [
        { key: "name", value: "from-workspace", category: "terraform" },
        { key: "size", value: "1", category: "terraform", hcl: true },
        { key: "secret", value: "s3cr3t-value", category: "terraform", sensitive: true },
        { key: "TF_DOUBLE_RECORD", value: record, category: "env" },
        { key: "TF_VAR_extra", value: "from-env", category: "env" },
      ],
      run: {
        targetAddrs: ["null_resource.a"],
        replaceAddrs: ["null_resource.a"],
        debuggingMode: true,
        variables: [{ key: "size", value: "7" }],
      },
    });
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });
    const final = await env.waitForFinal(f.runId, "plan");
    expect(final).toMatchObject({ kind: "finished", resourceAdditions: 1 });

    const { readDoubleRecord } = await import("@tarmac/terraform/test");
    const invocations = await readDoubleRecord(record);
    const plan = invocations.find((i) => i.argv.includes("plan"));
    expect(plan?.argv).toEqual(expect.arrayContaining(["-target=null_resource.a", "-replace=null_resource.a", "-detailed-exitcode"]));
    expect(plan?.argv.some((a) => a.startsWith("-out="))).toBe(true);
    expect(plan?.env.TF_LOG).toBe("TRACE");
    expect(plan?.env.TF_VAR_extra).toBe("from-env");

    const row = await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } });
    const json = JSON.parse((await blobText(env.db, row.jsonBlobId))!.toString("utf8")) as {
      resource_changes: Array<{ address: string; change: { after: { triggers?: Record<string, unknown> } } }>;
    };
    // -target left null_resource.b out; the run's variable overrode the workspace's.
    expect(json.resource_changes.map((c) => c.address)).toEqual(["null_resource.a"]);
    // The sensitive workspace variable reached terraform decrypted.
    expect(json.resource_changes[0]?.change.after.triggers).toEqual({ name: "from-workspace", size: 7, secret: "s3cr3t-value" });
    // Every file and value here is new to the double's HCL cache: each of its first parses starts
    // HashiCorp's WebAssembly parser (about 0.7 CPU-s), several times over with other suites
    // beside it (30 s passed once in a full CI run; alone, 2.2 s with a cold cache).
  }, 120_000);

  it("plans a destroy with -destroy and without refresh when the run asks", async () => {
    const { mkdtemp } = await import("node:fs/promises");
    const path = await import("node:path");
    const record = path.join(await mkdtemp(path.join(env.workDir, "tf-record-")), "record.jsonl");
    const f = await createRunFixture(env, {
      variables: [{ key: "TF_DOUBLE_RECORD", value: record, category: "env" }],
      run: { isDestroy: true, refresh: false },
    });
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });
    const final = await env.waitForFinal(f.runId, "plan");
    expect(final).toMatchObject({ kind: "finished", hasChanges: false, resourceAdditions: 0 });
    const { readDoubleRecord } = await import("@tarmac/terraform/test");
    const plan = (await readDoubleRecord(record)).find((i) => i.argv.includes("plan"));
    expect(plan?.argv).toEqual(expect.arrayContaining(["-destroy", "-refresh=false"]));
    expect(plan?.env.TF_LOG).toBeUndefined();
  });

  it("asks a terraform binary its version once, and every plan's log still begins with it", async () => {
    const { mkdtemp } = await import("node:fs/promises");
    const path = await import("node:path");
    const { readDoubleRecord } = await import("@tarmac/terraform/test");
    const dir = await mkdtemp(path.join(env.workDir, "tf-record-"));
    const records = [path.join(dir, "first.jsonl"), path.join(dir, "second.jsonl")];
    const logs: string[] = [];
    for (const record of records) {
      const f = await createRunFixture(env, { variables: [{ key: "TF_DOUBLE_RECORD", value: record, category: "env" }] });
      await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });
      expect(await env.waitForFinal(f.runId, "plan")).toMatchObject({ kind: "finished" });
      const plan = await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } });
      logs.push((await blobText(env.db, plan.logBlobId))!.toString("utf8"));
    }
    // The first plan of this file may have asked already; the second never does.
    const second = (await readDoubleRecord(records[1]!)).map((i) => i.argv[0]);
    expect(second).toEqual(expect.arrayContaining(["init", "plan", "show"]));
    expect(second).not.toContain("version");
    for (const log of logs) expect(log.split("\n").slice(0, 3)).toEqual(["\x02Terraform v1.9.8", "", "Initializing plugins and modules..."]);
    // Two plans one after the other: twice a plan test's time on a loaded machine.
  }, 120_000);

  it("runs terraform in the workspace's working directory", async () => {
    const f = await createRunFixture(env, {
      workingDirectory: "infra/prod",
      files: { "infra/prod/main.tf": `resource "null_resource" "x" {}\nresource "null_resource" "y" {}\n`, "main.tf": `resource "null_resource" "root" {}\n` },
    });
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });
    expect(await env.waitForFinal(f.runId, "plan")).toMatchObject({ kind: "finished", resourceAdditions: 2 });
  });

  it("reports a failing plan as errored with its output in the log", async () => {
    const f = await createRunFixture(env, {
      files: { "main.tf": `resource "null_resource" "a" {}\n`, "terraform-double.json": JSON.stringify({ plan: { fail: true } }) },
    });
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });
    const final = await env.waitForFinal(f.runId, "plan");
    expect(final.kind).toBe("errored");
    expect(final.message).toMatch(/terraform plan failed/);
    const plan = await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } });
    const log = (await blobText(env.db, plan.logBlobId))!.toString("utf8");
    expect(log).toContain("Error:");
    expect(log.endsWith("\x03")).toBe(true);
    expect(plan.planFileBlobId).toBeNull();
  });
});
