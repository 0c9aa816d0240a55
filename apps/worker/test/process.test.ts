import { terraformDoublePath } from "@tarmac/terraform/test";
import { enqueuePhaseJob } from "@tarmac/queues";
import { liveLogKey } from "@tarmac/contracts";
import { freePort, startApp, waitFor, type StartedProcess } from "@tarmac/testing";
import { createRunFixture, NATS_URL, REDIS_URL, startWorkerTestEnv, type WorkerTestEnv } from "./helpers";

let env: WorkerTestEnv;
let worker: StartedProcess | undefined;

beforeAll(async () => {
  env = await startWorkerTestEnv();
  const port = await freePort();
  worker = await startApp(
    "worker",
    {
      REDIS_URL,
      NATS_URL,
      TARMAC_NATS_PREFIX: env.natsPrefix,
      TARMAC_QUEUE_PREFIX: env.queuePrefix,
      TARMAC_TERRAFORM_BIN: terraformDoublePath,
      TARMAC_WORK_DIR: env.workDir,
      TARMAC_HEARTBEAT_INTERVAL_MS: "500",
      HEALTH_PORT: String(port),
      SHUTDOWN_TIMEOUT_MS: "8000",
      LOG_LEVEL: "debug",
      DATABASE_URL: "",
    },
    { readyUrl: `http://127.0.0.1:${port}/readyz` },
  );
}, 90_000);

afterAll(async () => {
  await worker?.stop();
  await env?.close();
}, 60_000);

describe("the worker process", () => {
  it("runs a plan job from the queue and never logs a sensitive value", async () => {
    const f = await createRunFixture(env, { variables: [{ key: "SECRET_TOKEN", value: "hunter2-sensitive", category: "env", sensitive: true }] });
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });
    const final = await env.waitForFinal(f.runId, "plan", 30_000);
    expect(final).toMatchObject({ kind: "finished", resourceAdditions: 1 });
    expect(final.workerId).toMatch(/-\d+$/);
    expect(worker!.output()).not.toContain("hunter2-sensitive");
    expect(worker!.output()).not.toContain(env.jobUrl(f.runId).split("/").at(-1));
  }, 40_000);

  it("on SIGTERM interrupts a job that outlives the drain deadline, reports it errored, and exits 0", async () => {
    const f = await createRunFixture(env, {
      files: { "main.tf": `resource "null_resource" "a" {}\n`, "terraform-double.json": JSON.stringify({ plan: { seconds: 60 } }) },
    });
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });
    await waitFor(
      async () => ((await env.redis.getBuffer(liveLogKey(f.planId)))?.toString("utf8").includes("Still planning") ? true : undefined),
      { timeoutMs: 20_000, what: "the plan to be running" },
    );
    const code = await worker!.stop(15_000);
    expect(code).toBe(0);
    const final = await env.waitForFinal(f.runId, "plan", 5_000);
    expect(final).toMatchObject({ kind: "errored", message: "the worker shut down before the phase finished" });
  }, 60_000);
});
