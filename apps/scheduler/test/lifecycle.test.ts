import { subscribeSignals } from "@tarmac/events";
import { inTransaction, phasesRepo } from "@tarmac/db";
import type { PhaseSignal } from "@tarmac/contracts";
import { statusTimestampKey } from "@tarmac/domain";
import { createPhaseWorker, getPhaseJobState } from "@tarmac/queues";
import { waitFor } from "@tarmac/testing";
import { DEFAULT_PRICE_TABLE, estimateCost, handleEvent, handleWorkspaceChanged } from "../src/engine";
import {
  completePlan,
  createOrganization,
  createRun,
  createWorkspace,
  requestAction,
  progress,
  REDIS_URL,
  startHarness,
  statusesOf,
  statusOf,
  storePlanJson,
  type Harness,
} from "./fixtures";

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

const PLAN_JSON = {
  format_version: "1.2",
  resource_changes: [
    { address: "aws_instance.a", mode: "managed", type: "aws_instance", change: { actions: ["create"] } },
    { address: "aws_instance.b", mode: "managed", type: "aws_instance", change: { actions: ["create"] } },
    { address: "aws_instance.c", mode: "managed", type: "aws_instance", change: { actions: ["update"] } },
    { address: "aws_db_instance.old", mode: "managed", type: "aws_db_instance", change: { actions: ["delete"] } },
    { address: "null_resource.x", mode: "managed", type: "null_resource", change: { actions: ["create"] } },
    { address: "data.aws_ami.ubuntu", mode: "data", type: "aws_ami", change: { actions: ["read"] } },
  ],
};

describe("cost estimation", () => {
  it("prices a plan's resource changes, counting unpriced resources as unmatched", () => {
    const result = estimateCost(Buffer.from(JSON.stringify(PLAN_JSON)), DEFAULT_PRICE_TABLE);
    expect(result).toMatchObject({
      status: "finished",
      matchedResourcesCount: 4,
      unmatchedResourcesCount: 1,
      resourcesCount: 5,
      priorMonthlyCost: "20.88", // aws_instance.c + aws_db_instance.old
      proposedMonthlyCost: "25.41", // three aws_instance
      deltaMonthlyCost: "4.53",
    });
  });

  it("reports an error, not a crash, for a missing or broken JSON plan", () => {
    expect(estimateCost(null, DEFAULT_PRICE_TABLE).status).toBe("errored");
    expect(estimateCost(Buffer.from("{nope"), DEFAULT_PRICE_TABLE).status).toBe("errored");
  });

  it("runs between the plan and confirmation when the organization enables it", async () => {
    const org = await createOrganization(h.db, { costEstimationEnabled: true });
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws);
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    await progress(h, run, "plan", "started");
    await storePlanJson(h.db, run, PLAN_JSON);
    await progress(h, run, "plan", "finished", { hasChanges: true, resourceAdditions: 3 });

    expect(await statusOf(h.db, run)).toBe("cost_estimated");
    const row = await h.db.run.findUniqueOrThrow({ where: { id: run }, select: { statusTimestamps: true, hasChanges: true } });
    expect(Object.keys(row.statusTimestamps as object)).toEqual(
      expect.arrayContaining([statusTimestampKey("planning"), statusTimestampKey("cost_estimating"), statusTimestampKey("cost_estimated")]),
    );
    expect(row.hasChanges).toBe(true);
    const estimate = await h.db.costEstimate.findUniqueOrThrow({ where: { runId: run } });
    expect(estimate).toMatchObject({ status: "finished", matchedResourcesCount: 4, unmatchedResourcesCount: 1, deltaMonthlyCost: "4.53" });

    // Confirming from cost_estimated applies as usual.
    await requestAction(h, run, "apply");
    expect(await statusOf(h.db, run)).toBe("apply_queued");

    // A run has one estimate: saving another replaces it under the same id.
    const errored = { status: "errored", matchedResourcesCount: 0, unmatchedResourcesCount: 0, resourcesCount: 0, priorMonthlyCost: "0.00", proposedMonthlyCost: "0.00", deltaMonthlyCost: "0.00", errorMessage: "no plan" } as const;
    expect(await inTransaction(h.db, (tx) => phasesRepo.saveCostEstimate(tx, run, errored, new Date()))).toBe(estimate.id);
    expect(await h.db.costEstimate.findUniqueOrThrow({ where: { runId: run } })).toMatchObject({ id: estimate.id, status: "errored", errorMessage: "no plan", deltaMonthlyCost: "0.00", createdAt: estimate.createdAt });
  });
});

describe("worker progress", () => {
  it("a phase whose started event was lost records its worker and start with its end", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws);
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    expect(await statusOf(h.db, run)).toBe("plan_queued");
    const at = new Date(Date.now() - 1_000);
    await progress(h, run, "plan", "finished", { hasChanges: true, resourceAdditions: 1, workerId: "worker-lost-start", at: at.toISOString() });

    expect(await statusOf(h.db, run)).toBe("planned");
    const { statusTimestamps } = await h.db.run.findUniqueOrThrow({ where: { id: run }, select: { statusTimestamps: true } });
    expect(Object.keys(statusTimestamps as object)).toEqual(expect.arrayContaining([statusTimestampKey("planning"), statusTimestampKey("planned")]));
    const plan = await h.db.plan.findUniqueOrThrow({ where: { runId: run } });
    expect(plan).toMatchObject({ status: "finished", workerId: "worker-lost-start", startedAt: at, heartbeatAt: at, finishedAt: at, hasChanges: true, resourceAdditions: 1 });
    expect(Object.keys(plan.statusTimestamps as object).sort()).toEqual(["finished-at", "pending-at", "queued-at", "started-at"]);
  });
});

describe("dispatch", () => {
  it("never enqueues a phase again because a late status event arrives after its job finished", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws, { autoApply: true });
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    await completePlan(h, run, true);
    expect(await statusOf(h.db, run)).toBe("apply_queued");
    const worker = createPhaseWorker({ connection: REDIS_URL, prefix: h.queuePrefix, phase: "apply", concurrency: 1, processor: async () => {} });
    try {
      await waitFor(async () => ((await getPhaseJobState(h.queues, "apply", run)) === "completed" ? true : undefined), { what: "apply job done" });
    } finally {
      await worker.close(5_000);
    }
    // The relay delivers the plan's outcome (→ apply_queued) only now, before the worker's progress.
    await handleEvent(h.ctx, { type: "run.status_changed", runId: run, workspaceId: ws.workspaceId, from: "confirmed", to: "apply_queued", at: new Date().toISOString() });
    expect(await getPhaseJobState(h.queues, "apply", run)).toBe("completed");
  });

  it("leaves the completed jobs of a run that finished its phases to BullMQ's retention", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws);
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    const worker = createPhaseWorker({ connection: REDIS_URL, prefix: h.queuePrefix, phase: "plan", concurrency: 1, processor: async () => {} });
    try {
      await waitFor(async () => ((await getPhaseJobState(h.queues, "plan", run)) === "completed" ? true : undefined), { what: "plan job done" });
    } finally {
      await worker.close(5_000);
    }
    await completePlan(h, run, false);
    expect(await statusOf(h.db, run)).toBe("planned_and_finished");
    await handleEvent(h.ctx, { type: "run.status_changed", runId: run, workspaceId: ws.workspaceId, from: "planning", to: "planned_and_finished", at: new Date().toISOString() });
    // No removal was attempted: nothing of the run can still start.
    expect(await getPhaseJobState(h.queues, "plan", run)).toBe("completed");
  });
});

describe("actions", () => {
  async function collectSignals(runId: string): Promise<{ signals: PhaseSignal[]; stop(): void }> {
    const signals: PhaseSignal[] = [];
    const sub = subscribeSignals(h.nc, `${h.subjects.prefix}.signals.${runId}.>`, (s) => signals.push(s), h.ctx.logger);
    await h.nc.flush();
    return { signals, stop: () => sub.unsubscribe() };
  }

  it("interrupts a planning run's terraform on cancel, and ends the run when the worker reports it", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws);
    const next = await createRun(h, ws);
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    await progress(h, run, "plan", "started");
    const listener = await collectSignals(run);
    try {
      await requestAction(h, run, "cancel");
      await waitFor(() => (listener.signals.length > 0 ? true : undefined), { what: "SIGINT" });
      expect(listener.signals).toEqual([{ runId: run, phase: "plan", signal: "SIGINT" }]);
      expect(await statusOf(h.db, run)).toBe("planning");
      await progress(h, run, "plan", "canceled");
      expect(await statusesOf(h.db, [run, next])).toEqual(["canceled", "plan_queued"]);
    } finally {
      listener.stop();
    }
  });

  it("cancels a run that has not started and drops its queued job", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws);
    const next = await createRun(h, ws);
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    expect(await getPhaseJobState(h.queues, "plan", run)).toBe("waiting");
    await requestAction(h, run, "cancel");
    expect(await statusesOf(h.db, [run, next])).toEqual(["canceled", "plan_queued"]);
    expect(await getPhaseJobState(h.queues, "plan", run)).toBeNull();
    const plan = await h.db.plan.findUniqueOrThrow({ where: { runId: run } });
    expect(plan.status).toBe("unreachable");
  });

  it("kills terraform on force-cancel and releases the workspace at once", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws, { autoApply: true });
    const next = await createRun(h, ws);
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    await completePlan(h, run, true);
    await progress(h, run, "apply", "started");
    const listener = await collectSignals(run);
    try {
      // A cancel first, then force-cancel once the cool-off has passed.
      await requestAction(h, run, "cancel", { forceCancelAvailableAt: new Date(Date.now() - 1) });
      await requestAction(h, run, "force-cancel");
      await waitFor(() => (listener.signals.some((s) => s.phase === "apply" && s.signal === "SIGKILL") ? true : undefined), { what: "SIGKILL" });
      expect(await statusesOf(h.db, [run, next])).toEqual(["force_canceled", "plan_queued"]);
      const apply = await h.db.apply.findUniqueOrThrow({ where: { runId: run } });
      expect(apply.status).toBe("canceled");
    } finally {
      listener.stop();
    }
  });

  it("releases the workspace when a waiting run is discarded", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws);
    const next = await createRun(h, ws);
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    await completePlan(h, run, true);
    await requestAction(h, run, "discard");
    expect(await statusesOf(h.db, [run, next])).toEqual(["discarded", "plan_queued"]);
    const apply = await h.db.apply.findUniqueOrThrow({ where: { runId: run } });
    expect(apply.status).toBe("unreachable");
  });
});
