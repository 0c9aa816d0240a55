import { createPublisher } from "@tarmac/events";
import { startOutboxRelay, type OutboxRelay } from "@tarmac/events/relay";
import type { Phase, PhaseProgressEvent } from "@tarmac/contracts";
import { createPhaseWorker, getPhaseJobState } from "@tarmac/queues";
import { freePort, startApp, waitFor, type StartedProcess } from "@tarmac/testing";
import {
  createOrganization,
  createRun,
  createWorkspace,
  NATS_URL,
  REDIS_URL,
  startHarness,
  statusesOf,
  statusOf,
  type Harness,
} from "./fixtures";

/**
 * The real scheduler processes, driven only by events: the outbox relay (as in the gateway)
 * publishes run.created, and a stand-in worker publishes phase progress to JetStream.
 */
let h: Harness;
let relay: OutboxRelay;
const schedulers: StartedProcess[] = [];

async function startScheduler(): Promise<StartedProcess> {
  const port = await freePort();
  const proc = await startApp(
    "scheduler",
    {
      DATABASE_URL: h.database.url,
      REDIS_URL,
      NATS_URL,
      TARMAC_NATS_PREFIX: h.subjects.prefix,
      TARMAC_QUEUE_PREFIX: h.queuePrefix,
      HEALTH_PORT: String(port),
      TARMAC_RECONCILE_INTERVAL_MS: "300",
      // Events the crashed replica had taken come back this soon.
      TARMAC_EVENT_ACK_WAIT_MS: "3000",
      TARMAC_GATEWAY_URL: "http://127.0.0.1:9",
    },
    { readyUrl: `http://127.0.0.1:${port}/readyz`, timeoutMs: 60_000 },
  );
  schedulers.push(proc);
  return proc;
}

/** A crash: SIGKILL to the scheduler's whole process group (tsx and the app's node process). */
const crash = (proc: StartedProcess): Promise<void> => proc.kill();

let sequence = 0;
async function report(runId: string, phase: Phase, kind: PhaseProgressEvent["kind"], extra: Partial<PhaseProgressEvent> = {}) {
  const event: PhaseProgressEvent = { type: "phase.progress", runId, phase, kind, attempt: 0, sequence: sequence++, workerId: "w1", at: new Date().toISOString(), ...extra };
  await createPublisher(h.nc).publish(h.subjects.phaseProgress(runId, phase), event, { msgId: `${runId}:${phase}:${kind}:${event.sequence}` });
}

const until = (probe: () => Promise<boolean>, what: string) =>
  waitFor(async () => ((await probe()) ? true : undefined), { timeoutMs: 20_000, what });

beforeAll(async () => {
  h = await startHarness();
  relay = startOutboxRelay({ db: h.db, nc: h.nc, subjects: h.subjects, logger: h.ctx.logger, intervalMs: 50 });
  await Promise.all([startScheduler(), startScheduler()]);
}, 120_000);

afterAll(async () => {
  await Promise.all(schedulers.map((s) => s.stop(10_000)));
  await relay.stop();
  await h.close();
}, 60_000);

it("two scheduler processes run one workspace's runs one at a time, in order, from events alone", async () => {
  const org = await createOrganization(h.db);
  const ws = await createWorkspace(h.db, org);
  const runs = [await createRun(h, ws), await createRun(h, ws), await createRun(h, ws)];
  const speculative = await createRun(h, ws, { planOnly: true });

  await until(async () => (await statusOf(h.db, runs[0]!)) === "plan_queued", "first run queued");
  await until(async () => (await statusOf(h.db, speculative)) === "plan_queued", "speculative run queued");
  // Jobs are enqueued after the transition commits.
  await until(async () => (await getPhaseJobState(h.queues, "plan", runs[0]!)) === "waiting", "first plan job enqueued");
  // Several reconcile rounds on both processes later, the others still wait.
  await new Promise((r) => setTimeout(r, 1_000));
  expect(await statusesOf(h.db, runs)).toEqual(["plan_queued", "pending", "pending"]);

  await report(runs[0]!, "plan", "started");
  await report(runs[0]!, "plan", "finished", { hasChanges: false });
  await until(async () => (await statusOf(h.db, runs[1]!)) === "plan_queued", "second run queued");
  expect(await statusesOf(h.db, runs)).toEqual(["planned_and_finished", "plan_queued", "pending"]);

  // One replica dies; the other carries on.
  await crash(schedulers[0]!);
  await report(runs[1]!, "plan", "started");
  await report(runs[1]!, "plan", "errored", { message: "terraform failed" });
  await until(async () => (await statusOf(h.db, runs[2]!)) === "plan_queued", "third run queued");
  expect(await statusesOf(h.db, runs)).toEqual(["planned_and_finished", "errored", "plan_queued"]);
}, 90_000);

it("starts a run whose run.created event was lost, through the surviving replica's reconcile loop", async () => {
  await relay.stop();
  const org = await createOrganization(h.db);
  const ws = await createWorkspace(h.db, org);
  const run = await createRun(h, ws);
  // The event never reaches NATS.
  await h.db.outboxEvent.updateMany({ where: { publishedAt: null }, data: { publishedAt: new Date() } });
  relay = startOutboxRelay({ db: h.db, nc: h.nc, subjects: h.subjects, logger: h.ctx.logger, intervalMs: 50 });
  await until(async () => (await statusOf(h.db, run)) === "plan_queued", "run started by reconcile");
  // The job is enqueued after the transition commits.
  await until(async () => (await getPhaseJobState(h.queues, "plan", run)) === "waiting", "plan job enqueued");
}, 30_000);

it("keeps at most one active run per workspace while a stand-in worker runs jobs as fast as it can", async () => {
  const org = await createOrganization(h.db);
  const workspaces = [await createWorkspace(h.db, org), await createWorkspace(h.db, org)];
  // The worker's side, reduced to its events: every job starts and finishes at once.
  const workers = (["plan", "apply"] as const).map((phase) =>
    createPhaseWorker({
      connection: REDIS_URL,
      prefix: h.queuePrefix,
      phase,
      concurrency: 4,
      processor: async (job) => {
        await report(job.data.runId, phase, "started");
        await report(job.data.runId, phase, "finished", phase === "plan" ? { hasChanges: true, resourceAdditions: 1 } : { resourceAdditions: 1 });
      },
    }),
  );
  const violations: string[] = [];
  let isWatching = true;
  const watcher = (async () => {
    while (isWatching) {
      const rows = await h.db.$queryRaw<{ workspace_id: string; n: bigint }[]>`
        SELECT workspace_id, count(*) AS n FROM runs
        WHERE NOT plan_only AND status NOT IN ('pending', 'applied', 'planned_and_finished', 'discarded', 'errored', 'canceled', 'force_canceled', 'policy_soft_failed')
        GROUP BY workspace_id HAVING count(*) > 1`;
      for (const r of rows) violations.push(`${r.workspace_id}: ${r.n} active runs`);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    const runs: string[][] = [[], []];
    for (let i = 0; i < 4; i++) {
      for (const [w, ws] of workspaces.entries()) runs[w]!.push(await createRun(h, ws, { autoApply: true }));
    }
    await until(async () => (await statusesOf(h.db, runs.flat())).every((s) => s === "applied"), "every run applied");
    for (const list of runs) {
      const rows = await h.db.run.findMany({ where: { id: { in: list } }, orderBy: { seq: "asc" }, select: { statusTimestamps: true } });
      const planQueued = rows.map((r) => (r.statusTimestamps as Record<string, string>)["plan-queued-at"] ?? "");
      const appliedAt = rows.map((r) => (r.statusTimestamps as Record<string, string>)["applied-at"] ?? "");
      // Each run was queued no earlier than its predecessor was applied.
      for (let i = 1; i < rows.length; i++) expect(planQueued[i]! >= appliedAt[i - 1]!).toBe(true);
    }
  } finally {
    isWatching = false;
    await watcher;
    await Promise.all(workers.map((w) => w.close(5_000)));
  }
  expect(violations).toEqual([]);
}, 60_000);
