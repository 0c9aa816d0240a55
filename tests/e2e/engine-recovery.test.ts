import { jobIdFor } from "@tarmac/contracts";
import { createPhaseQueues, type PhaseQueues } from "@tarmac/queues";
import { waitFor } from "@tarmac/testing";
import { NULL_RESOURCE, REDIS_URL, startStack, Tfe, type Stack } from "./stack";

/**
 * The engine recovers from lost work and survives replicas: two scheduler processes and a
 * worker, with short reconcile and heartbeat intervals. Only these tests reach past the API,
 * to delete a BullMQ job or to SIGKILL a worker.
 */
let stack: Stack;
let tfe: Tfe;
let queues: PhaseQueues;

beforeAll(async () => {
  stack = await startStack({ schedulers: 2, workers: 1 });
  tfe = new Tfe(stack.api);
  queues = createPhaseQueues({ connection: REDIS_URL, prefix: stack.queuePrefix });
}, 240_000);

afterAll(async () => {
  await queues?.close();
  await stack?.stop();
}, 60_000);

const resources = (...names: string[]) => names.map((n) => `resource "null_resource" "${n}" {}\n`).join("");
const slowPlan = (seconds: number) => JSON.stringify({ plan: { seconds } });
const ACTIVE = ["plan_queued", "planning", "planned", "cost_estimating", "cost_estimated", "policy_checking", "policy_checked", "confirmed", "apply_queued", "applying"];

describe("recovery", () => {
  it("enqueues a queued run's plan again when its BullMQ job was deleted", async () => {
    // Keep the worker's three slots busy so the run's job waits in the queue.
    const { wsId: busyWs } = await tfe.createWorkspace();
    const slow = await tfe.upload(busyWs, { "main.tf": NULL_RESOURCE, "terraform-double.json": slowPlan(60) });
    const blockers = await Promise.all([1, 2, 3].map(() => tfe.createRun(busyWs, slow, { "plan-only": true })));
    await Promise.all(blockers.map((id) => tfe.waitForStatus(id, "planning")));

    const { wsId } = await tfe.createWorkspace();
    const cvId = await tfe.upload(wsId, { "main.tf": NULL_RESOURCE });
    const runId = await tfe.createRun(wsId, cvId);
    await tfe.waitForStatus(runId, "plan_queued");
    const job = await waitFor(() => queues.plan.getJob(jobIdFor("plan", runId)), { timeoutMs: 10_000, what: "the plan job" });
    expect(await job.getState()).toBe("waiting");
    await job.remove();
    expect(await queues.plan.getJob(jobIdFor("plan", runId))).toBeUndefined();

    // The reconcile loop notices the queued run without a job and enqueues it again.
    await waitFor(() => queues.plan.getJob(jobIdFor("plan", runId)), { timeoutMs: 15_000, what: "the plan job enqueued again" });
    for (const id of blockers) expect((await tfe.action(id, "cancel")).status).toBe(202);
    await tfe.waitForStatus(runId, "planned", 30_000);
    await Promise.all(blockers.map((id) => tfe.waitForStatus(id, "canceled", 20_000)));
    expect((await tfe.action(runId, "discard")).status).toBe(202);
  }, 90_000);

  it("errors a run whose worker was killed mid-plan, and the workspace moves on to the next run", async () => {
    const { wsId } = await tfe.createWorkspace();
    const slow = await tfe.upload(wsId, { "main.tf": NULL_RESOURCE, "terraform-double.json": slowPlan(30) });
    const fine = await tfe.upload(wsId, { "main.tf": NULL_RESOURCE });
    const doomed = await tfe.createRun(wsId, slow);
    const next = await tfe.createRun(wsId, fine);
    const planning = await tfe.waitForStatus(doomed, "planning");
    const plan = await stack.api.get(`/plans/${planning.relationships.plan.data.id}`);
    await waitFor(async () => ((await tfe.readLog(plan.body.data.attributes["log-read-url"] as string)).includes("Still planning") ? true : undefined), {
      timeoutMs: 15_000,
      intervalMs: 200,
      what: "terraform plan to run",
    });

    const worker = stack.workers[0]!;
    await worker.kill();
    // Missing heartbeat events alone do not fail a phase (NATS may be the one that is down):
    // its BullMQ job lock must expire too, within the lock duration (30 s) of the kill.
    await tfe.waitForStatus(doomed, "errored", 60_000);
    expect((await stack.api.get(`/plans/${planning.relationships.plan.data.id}`)).body.data.attributes.status).toBe("errored");

    await stack.startWorker();
    await tfe.waitForStatus(next, "planned", 30_000);
    // The dead worker's job is not run again behind the scheduler's back.
    expect(await tfe.status(doomed)).toBe("errored");
    expect((await tfe.action(next, "discard")).status).toBe(202);
  }, 150_000);
});

describe("two schedulers", () => {
  it("never start two runs of one workspace, and apply its runs in creation order", async () => {
    const { wsId } = await tfe.createWorkspace({ "auto-apply": true });
    const names = ["a", "b", "c", "d"];
    const cvs: string[] = [];
    for (let i = 1; i <= names.length; i++) cvs.push(await tfe.upload(wsId, { "main.tf": resources(...names.slice(0, i)) }));
    const runIds: string[] = [];
    for (const cv of cvs) runIds.push(await tfe.createRun(wsId, cv, { "auto-apply": true }));

    const overlaps: string[][] = [];
    await waitFor(
      async () => {
        const list = await stack.api.get(`/workspaces/${wsId}/runs?page[size]=20`);
        const runs = list.body.data as Array<{ id: string; attributes: { status: string } }>;
        const active = runs.filter((r) => ACTIVE.includes(r.attributes.status));
        if (active.length > 1) overlaps.push(active.map((r) => `${r.id}:${r.attributes.status}`));
        return runs.filter((r) => runIds.includes(r.id)).every((r) => r.attributes.status === "applied") ? true : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 100, what: "all four runs applied" },
    );
    expect(overlaps).toEqual([]);

    const finished = await Promise.all(runIds.map((id) => tfe.run(id)));
    const stamp = (i: number, key: string) => Date.parse(finished[i]!.attributes["status-timestamps"][key] as string);
    for (let i = 1; i < finished.length; i++) {
      expect(stamp(i, "plan-queued-at")).toBeGreaterThanOrEqual(stamp(i - 1, "applied-at"));
    }
    // Each run applied what its configuration added to the previous run's.
    const additions = await Promise.all(runIds.map(async (id) => (await stack.api.get(`/runs/${id}/apply`)).body.data.attributes["resource-additions"]));
    expect(additions).toEqual([1, 1, 1, 1]);
  }, 120_000);
});

describe("a scheduler outage", () => {
  it("keeps an action accepted while no scheduler runs and carries it out once one is back", async () => {
    const { wsId } = await tfe.createWorkspace();
    const cvId = await tfe.upload(wsId, { "main.tf": NULL_RESOURCE });
    const runId = await tfe.createRun(wsId, cvId);
    await tfe.waitForStatus(runId, "planned", 30_000);
    await Promise.all(stack.schedulers.map((s) => s.stop(6_000)));
    // The gateway records the intent and answers 202 after its bounded wait for the scheduler.
    expect((await tfe.action(runId, "discard", "while the scheduler is away")).status).toBe(202);
    expect(await tfe.status(runId)).toBe("planned");
    // A second discard is judged against the pending one: refused, as once it is carried out.
    expect((await tfe.action(runId, "discard")).status).toBe(409);
    await stack.startScheduler();
    await tfe.waitForStatus(runId, "discarded", 30_000);
  }, 120_000);
});
