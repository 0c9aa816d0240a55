import { liveLogKey } from "@tarmac/contracts";
import { enqueuePhaseJob, requestPhaseStop } from "@tarmac/queues";
import { waitFor } from "@tarmac/testing";
import { createRunFixture, startWorkerTestEnv, type WorkerTestEnv } from "./helpers";

let env: WorkerTestEnv;

beforeAll(async () => {
  env = await startWorkerTestEnv();
  env.startWorkers({ queuePrefix: env.queuePrefix });
}, 60_000);

afterAll(async () => {
  await env?.close();
}, 60_000);

describe("stop requests in Redis", () => {
  it("kills terraform when the scheduler orders the phase stopped, without any NATS signal", async () => {
    const f = await createRunFixture(env, {
      files: {
        "main.tf": `resource "null_resource" "a" {}\n`,
        // Ignores interrupts: only a kill ends it early.
        "terraform-double.json": JSON.stringify({ plan: { seconds: 30, ignore_interrupt_seconds: 30 } }),
      },
    });
    await enqueuePhaseJob(env.queues, { runId: f.runId, phase: "plan", jobUrl: env.jobUrl(f.runId) });
    await waitFor(
      async () => ((await env.redis.getBuffer(liveLogKey(f.planId)))?.toString("utf8").includes("Still planning") ? true : undefined),
      { timeoutMs: 15_000, what: "the plan to be running" },
    );
    const t0 = Date.now();
    await requestPhaseStop(env.queues, "plan", f.runId);
    const final = await env.waitForFinal(f.runId, "plan", 15_000);
    expect(final.kind).toBe("canceled");
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(env.eventsOf(f.runId, "plan").some((e) => e.kind === "finished")).toBe(false);
  }, 40_000);
});
