import { subscribeSignals } from "@tarmac/events";
import type { PhaseSignal } from "@tarmac/contracts";
import { getPhaseJobState } from "@tarmac/queues";
import { waitFor } from "@tarmac/testing";
import { handleEvent, handleWorkspaceChanged, reconcileOnce } from "../src/engine";
import {
  completePlan,
  createOrganization,
  createRun,
  createWorkspace,
  currentRunOf,
  deliverAction,
  progress,
  requestAction,
  startHarness,
  statusesOf,
  statusOf,
  type Harness,
} from "./fixtures";

/*
 * Users' actions reach the scheduler as recorded requests (the gateway's part is in
 * apps/gateway/test/run-actions.test.ts); the scheduler alone carries them out.
 */

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

const runEvents = async (runId: string) =>
  (await h.db.runEvent.findMany({ where: { runId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }] })).map((e) => [e.action, e.description]);
const request = (id: string) => h.db.runActionRequest.findUniqueOrThrow({ where: { id } });

async function collectSignals(runId: string): Promise<{ signals: PhaseSignal[]; stop(): void }> {
  const signals: PhaseSignal[] = [];
  const sub = subscribeSignals(h.nc, `${h.subjects.prefix}.signals.${runId}.>`, (s) => signals.push(s), h.ctx.logger);
  await h.nc.flush();
  return { signals, stop: () => sub.unsubscribe() };
}

/** A workspace whose first run is planned (waiting for confirmation) and holds it. */
async function plannedRun(): Promise<{ ws: Awaited<ReturnType<typeof createWorkspace>>; run: string }> {
  const org = await createOrganization(h.db);
  const ws = await createWorkspace(h.db, org);
  const run = await createRun(h, ws);
  await handleWorkspaceChanged(h.ctx, ws.workspaceId);
  await completePlan(h, run, true);
  expect(await statusOf(h.db, run)).toBe("planned");
  return { ws, run };
}

describe("carrying out each action", () => {
  it("apply: confirms with the user as confirmed-by and the comment as the event, then queues the apply", async () => {
    const { run } = await plannedRun();
    const id = await requestAction(h, run, "apply", { comment: "ship it" });
    const row = await h.db.run.findUniqueOrThrow({ where: { id: run } });
    expect(row.status).toBe("apply_queued");
    expect(row.confirmedById).toBe(row.createdById);
    expect(Object.keys(row.statusTimestamps as object)).toContain("confirmed-at");
    expect(await getPhaseJobState(h.queues, "apply", run)).toBe("waiting");
    const events = await h.db.runEvent.findMany({ where: { runId: run, action: "confirmed" } });
    expect(events.map((e) => [e.description, e.actorId, e.commentId !== null])).toEqual([["ship it", row.createdById, true]]);
    expect(await request(id)).toMatchObject({ status: "applied", refusal: null, decidedAt: expect.any(Date) });
  });

  it("discard: ends a waiting run, marks its phases unreachable, and lets the next run start", async () => {
    const { ws, run } = await plannedRun();
    const next = await createRun(h, ws);
    await requestAction(h, next, "discard");
    expect(await statusOf(h.db, next)).toBe("discarded");
    const apply = await h.db.apply.findUniqueOrThrow({ where: { runId: next } });
    const plan = await h.db.plan.findUniqueOrThrow({ where: { runId: next } });
    expect([plan.status, apply.status]).toEqual(["unreachable", "unreachable"]);
    await requestAction(h, run, "discard", { comment: "not now" });
    expect(await statusOf(h.db, run)).toBe("discarded");
    expect((await h.db.plan.findUniqueOrThrow({ where: { runId: run } })).status).toBe("finished");
    expect(await runEvents(run)).toContainEqual(["discarded", "not now"]);
  });

  it("cancel of a run not executing: canceled at once with the request's cancel timestamps", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws);
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    expect(await statusOf(h.db, run)).toBe("plan_queued");
    const availableAt = new Date(Date.now() + 60_000);
    await requestAction(h, run, "cancel", { forceCancelAvailableAt: availableAt });
    const row = await h.db.run.findUniqueOrThrow({ where: { id: run } });
    expect(row).toMatchObject({ status: "canceled", forceCancelAvailableAt: availableAt, canceledById: row.createdById });
    expect(row.canceledAt).toEqual(expect.any(Date));
    expect(row.cancelRequestedAt).toEqual(expect.any(Date));
    expect(await getPhaseJobState(h.queues, "plan", run)).toBeNull();
    expect(await runEvents(run)).toContainEqual(["canceled", "Run canceled"]);
    expect(await currentRunOf(h.db, ws.workspaceId)).toBe(run);
  });

  it("cancel of an executing run: interrupts terraform, keeps the first force-cancel-available-at on a repeat", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws);
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    await progress(h, run, "plan", "started");
    const listener = await collectSignals(run);
    try {
      const first = new Date(Date.now() + 60_000);
      await requestAction(h, run, "cancel", { forceCancelAvailableAt: first });
      await requestAction(h, run, "cancel", { forceCancelAvailableAt: new Date(first.getTime() + 5_000) });
      await waitFor(() => (listener.signals.length >= 2 ? true : undefined), { what: "two SIGINTs" });
      expect(listener.signals).toEqual([
        { runId: run, phase: "plan", signal: "SIGINT" },
        { runId: run, phase: "plan", signal: "SIGINT" },
      ]);
      const row = await h.db.run.findUniqueOrThrow({ where: { id: run } });
      expect(row).toMatchObject({ status: "planning", forceCancelAvailableAt: first });
      expect((await runEvents(run)).filter(([a]) => a === "cancel_requested")).toHaveLength(2);
    } finally {
      listener.stop();
    }
  });

  it("force-execute: discards the runs ahead, the holder first, and starts the target", async () => {
    const { ws, run: holder } = await plannedRun();
    const middle = await createRun(h, ws);
    const target = await createRun(h, ws);
    await requestAction(h, target, "force-execute");
    expect(await statusesOf(h.db, [holder, middle, target])).toEqual(["discarded", "discarded", "plan_queued"]);
    expect(await runEvents(middle)).toContainEqual(["discarded", `Discarded to force-execute ${target}`]);
    expect(await runEvents(target)).toContainEqual(["force_executed", "Run force-executed"]);
    expect(await currentRunOf(h.db, ws.workspaceId)).toBe(target);
  });
});

describe("repeats, late events and runs that moved on", () => {
  it("carries out a request once however often its event arrives; an event with nothing pending is a no-op", async () => {
    const { ws, run } = await plannedRun();
    const id = await requestAction(h, run, "apply");
    const before = await runEvents(run);
    await deliverAction(h, id);
    await deliverAction(h, id);
    // An event from before requests were recorded (no request id) finds nothing to do either.
    await handleEvent(h.ctx, { type: "run.action_requested", runId: run, workspaceId: ws.workspaceId, action: "apply", at: new Date().toISOString() });
    expect(await runEvents(run)).toEqual(before);
    expect(await statusOf(h.db, run)).toBe("apply_queued");
  });

  it("carries pending requests out in the order they were accepted, whichever event comes first", async () => {
    const { run } = await plannedRun();
    const apply = await requestAction(h, run, "apply", { deliver: false });
    const discard = await requestAction(h, run, "discard", { deliver: false });
    await deliverAction(h, discard);
    expect(await statusOf(h.db, run)).toBe("apply_queued");
    expect(await request(apply)).toMatchObject({ status: "applied" });
    expect(await request(discard)).toMatchObject({
      status: "refused",
      refusal: { status: 409, title: "transition not allowed", detail: "Run was not paused for confirmation or priority; discard not allowed." },
    });
    expect(await runEvents(run)).toContainEqual(["discard_refused", "Run was not paused for confirmation or priority; discard not allowed."]);
    await deliverAction(h, apply);
    expect(await h.db.runEvent.count({ where: { runId: run, action: "confirmed" } })).toBe(1);
  });

  it("refuses a cancel whose run finished planning before the scheduler got to it, leaving a run event", async () => {
    const org = await createOrganization(h.db);
    const ws = await createWorkspace(h.db, org);
    const run = await createRun(h, ws);
    await handleWorkspaceChanged(h.ctx, ws.workspaceId);
    await progress(h, run, "plan", "started");
    const id = await requestAction(h, run, "cancel", { deliver: false, comment: "stop" });
    await progress(h, run, "plan", "finished", { hasChanges: true, resourceAdditions: 1 });
    await deliverAction(h, id);
    expect(await statusOf(h.db, run)).toBe("planned");
    const row = await h.db.run.findUniqueOrThrow({ where: { id: run } });
    expect([row.cancelRequestedAt, row.forceCancelAvailableAt]).toEqual([null, null]);
    expect(await request(id)).toMatchObject({ status: "refused", refusal: { status: 409, detail: "Run was not planning or applying; cancel not allowed." } });
    const refused = await h.db.runEvent.findFirstOrThrow({ where: { runId: run, action: "cancel_refused" } });
    expect(refused.commentId).not.toBeNull();
  });

  it("carries out a request recorded while no scheduler ran once reconcile finds it", async () => {
    const { run } = await plannedRun();
    const id = await requestAction(h, run, "apply", { deliver: false });
    const report = await reconcileOnce(h.ctx);
    expect(report.appliedActions).toBeGreaterThanOrEqual(1);
    expect(await request(id)).toMatchObject({ status: "applied" });
    expect(await statusOf(h.db, run)).toBe("apply_queued");
  });
});
