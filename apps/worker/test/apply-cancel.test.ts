import { publishSignal } from "@tarmac/events";
import { enqueuePhaseJob } from "@tarmac/queues";
import { waitFor } from "@tarmac/testing";
import { liveLogKey } from "@tarmac/contracts";
import { blobText, createRunFixture, makeArchive, startWorkerTestEnv, type WorkerTestEnv } from "./helpers";

let env: WorkerTestEnv;

beforeAll(async () => {
  env = await startWorkerTestEnv();
  env.startWorkers();
}, 60_000);

afterAll(async () => {
  await env?.close();
}, 60_000);

async function planRun(opts: Parameters<typeof createRunFixture>[1] = {}) {
  const f = await createRunFixture(env, opts);
  await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });
  const final = await env.waitForFinal(f.runId, "plan");
  expect(final.kind).toBe("finished");
  return f;
}

describe("apply jobs", () => {
  it("applies the saved plan, records a state version, and reports the applied counts", async () => {
    const f = await planRun();
    // The scheduler would move the run on after the plan; here the test plays its part.
    await env.db.run.update({ where: { id: f.runId }, data: { status: "applying" } });
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "apply", jobUrl: env.jobUrl(f.runId, "apply") });

    const final = await env.waitForFinal(f.runId, "apply");
    expect(final).toMatchObject({ kind: "finished", resourceAdditions: 1, resourceChanges: 0, resourceDestructions: 0 });

    const ws = await env.db.workspace.findUniqueOrThrow({ where: { id: f.workspaceId }, include: { currentStateVersion: true } });
    expect(ws.currentStateVersion?.runId).toBe(f.runId);
    const state = JSON.parse((await blobText(env.db, ws.currentStateVersion?.stateBlobId))!.toString("utf8")) as {
      resources: Array<{ type: string; name: string }>;
    };
    expect(state.resources.map((r) => `${r.type}.${r.name}`)).toEqual(["null_resource.a"]);
    expect(ws.resourceCount).toBe(1);

    const apply = await env.db.apply.findUniqueOrThrow({ where: { runId: f.runId } });
    const log = (await blobText(env.db, apply.logBlobId))!.toString("utf8");
    // The CLI drops the first three lines of an apply log (notes §0.11).
    expect(log.split("\n").slice(0, 3)).toEqual(["\x02Terraform v1.9.8", "", "Initializing plugins and modules..."]);
    expect(log).toContain("Apply complete! Resources: 1 added, 0 changed, 0 destroyed.");
    expect(log.endsWith("\x03")).toBe(true);

    // The next run of the workspace starts from that state: nothing left to add.
    const next = await planRun({ workspaceId: f.workspaceId });
    expect(env.eventsOf(next.runId, "plan").at(-1)).toMatchObject({ kind: "finished", hasChanges: false, resourceAdditions: 0 });
  });
});

describe("apply cancel", () => {
  it("interrupts a slow apply on SIGINT, reports canceled, and keeps what terraform saved", async () => {
    const f = await planRun({
      files: {
        "main.tf": `resource "null_resource" "a" {}\nresource "null_resource" "b" {}\n`,
        "terraform-double.json": JSON.stringify({ apply: { seconds: 8 } }),
      },
    });
    await env.db.run.update({ where: { id: f.runId }, data: { status: "applying" } });
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "apply", jobUrl: env.jobUrl(f.runId, "apply") });
    await waitFor(
      async () => ((await env.redis.getBuffer(liveLogKey(f.applyId)))?.toString("utf8").includes("Creation complete") ? true : undefined),
      { timeoutMs: 15_000, what: "the first resource to be created" },
    );
    publishSignal(env.nc, env.subjects, { runId: f.runId, phase: "apply", signal: "SIGINT" });
    const final = await env.waitForFinal(f.runId, "apply", 20_000);
    expect(final.kind).toBe("canceled");
    const apply = await env.db.apply.findUniqueOrThrow({ where: { runId: f.runId } });
    expect((await blobText(env.db, apply.logBlobId))!.toString("utf8").endsWith("\x03")).toBe(true);
    // The resource created before the interrupt is recorded as state; the other one is not.
    const ws = await env.db.workspace.findUniqueOrThrow({ where: { id: f.workspaceId }, include: { currentStateVersion: true } });
    const state = JSON.parse((await blobText(env.db, ws.currentStateVersion?.stateBlobId))!.toString("utf8")) as {
      resources: Array<{ type: string; name: string }>;
    };
    expect(state.resources.map((r) => `${r.type}.${r.name}`)).toEqual(["null_resource.a"]);
  }, 60_000);
});

describe("signals and failures", () => {
  it("ends a slow plan with canceled when a SIGINT arrives on NATS", async () => {
    const f = await createRunFixture(env, {
      files: { "main.tf": `resource "null_resource" "a" {}\n`, "terraform-double.json": JSON.stringify({ plan: { seconds: 20 } }) },
    });
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });
    await waitFor(
      async () => ((await env.redis.getBuffer(liveLogKey(f.planId)))?.toString("utf8").includes("Still planning") ? true : undefined),
      { timeoutMs: 15_000, what: "the plan to be running" },
    );
    const t0 = Date.now();
    publishSignal(env.nc, env.subjects, { runId: f.runId, phase: "plan", signal: "SIGINT" });
    const final = await env.waitForFinal(f.runId, "plan", 15_000);
    expect(final.kind).toBe("canceled");
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(env.eventsOf(f.runId, "plan").some((e) => e.kind === "errored")).toBe(false);
    const plan = await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } });
    expect(plan.planFileBlobId).toBeNull();
    expect((await blobText(env.db, plan.logBlobId))!.toString("utf8")).toContain("canceled");
  }, 40_000);

  it("kills terraform that ignores the interrupt when a SIGKILL arrives", async () => {
    const f = await createRunFixture(env, {
      files: {
        "main.tf": `resource "null_resource" "a" {}\n`,
        "terraform-double.json": JSON.stringify({ plan: { seconds: 30, ignore_interrupt_seconds: 30 } }),
      },
    });
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });
    await waitFor(
      async () => ((await env.redis.getBuffer(liveLogKey(f.planId)))?.toString("utf8").includes("Still planning") ? true : undefined),
      { timeoutMs: 15_000, what: "the plan to be running" },
    );
    publishSignal(env.nc, env.subjects, { runId: f.runId, phase: "plan", signal: "SIGINT" });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(env.eventsOf(f.runId, "plan").some((e) => e.kind === "canceled")).toBe(false);
    publishSignal(env.nc, env.subjects, { runId: f.runId, phase: "plan", signal: "SIGKILL" });
    const final = await env.waitForFinal(f.runId, "plan", 10_000);
    expect(final.kind).toBe("canceled");
  }, 40_000);

  it("errors the phase with a message when no terraform binary can be found", async () => {
    const f = await createRunFixture(env);
    const deps = env.serviceDeps({ terraformBin: "/nonexistent/terraform" });
    const { runPhaseJob } = await import("@tarmac/runner");
    const outcome = await runPhaseJob(deps, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId), attempt: 1 }, new AbortController().signal);
    expect(outcome.kind).toBe("errored");
    const final = await env.waitForFinal(f.runId, "plan");
    expect(final.kind).toBe("errored");
    expect(final.message).toContain("/nonexistent/terraform");
    const plan = await env.db.plan.findUniqueOrThrow({ where: { runId: f.runId } });
    expect((await blobText(env.db, plan.logBlobId))!.toString("utf8")).toContain("/nonexistent/terraform");
  });

  it("refuses a configuration archive that escapes its directory", async () => {
    const { create } = await import("tar");
    const { mkdtemp, writeFile, readFile, mkdir } = await import("node:fs/promises");
    const path = await import("node:path");
    const dir = await mkdtemp(path.join(env.workDir, "evil-"));
    await mkdir(path.join(dir, "inner"));
    await writeFile(path.join(dir, "inner", "main.tf"), `resource "null_resource" "a" {}\n`);
    await writeFile(path.join(dir, "escape.tf"), "# outside\n");
    const out = path.join(dir, "evil.tar.gz");
    await create(
      { gzip: true, file: out, cwd: path.join(dir, "inner"), preservePaths: true },
      ["main.tf", "../escape.tf"],
    );
    const f = await createRunFixture(env, { archive: await readFile(out) });
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });
    const final = await env.waitForFinal(f.runId, "plan");
    expect(final.kind).toBe("errored");
    expect(final.message).toMatch(/archive was refused/);
  });

  it("errors when the working directory does not exist in the configuration", async () => {
    const f = await createRunFixture(env, { workingDirectory: "missing/dir", archive: await makeArchive({ "main.tf": "" }) });
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });
    const final = await env.waitForFinal(f.runId, "plan");
    expect(final.kind).toBe("errored");
    expect(final.message).toContain("missing/dir");
  });
});
