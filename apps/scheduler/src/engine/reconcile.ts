import { phasesRepo, pruneOutbox, runActionsRepo, schedulerRepo } from "@tarmac/db";
import { phaseProgressEvent, type Phase, type PhaseProgressEvent } from "@tarmac/contracts";
import { phaseJobLiveness, settleLostAgentJobs } from "./agent-dispatch";
import { errorMessage } from "./errors";
import { Effects, type SchedulerContext } from "./context";
import { performEffects, withRunWorkspace, withWorkspace } from "./effects";
import { driveRun } from "./lifecycle";
import { handlePhaseProgress } from "./progress";
import { applyPendingActions } from "./run-actions";
import { moveRun } from "./transitions";
import { reconcileTaskStages } from "./task-dispatch";
import { advanceWorkspace, promoteQueuing } from "./workspace-queue";

export interface ReconcileReport {
  prunedOutbox: number;
  reenqueued: number;
  erroredQueued: number;
  stalePhases: number;
  /** Running phases without recent heartbeat events whose worker still holds the job's lock. */
  alivePhases: number;
  /** Runs errored because the agent holding their phase stopped pinging. */
  lostAgentJobs: number;
  /** Final events NATS lost, replayed from the job's return value in Redis. */
  replayedOutcomes: number;
  driven: number;
  /** Runs with action requests whose event was lost, carried out now. */
  appliedActions: number;
  advancedWorkspaces: number;
  promoted: number;
  /** Run task results that errored for want of a report in time. */
  timedOutTasks: number;
  /** Runs resting in a run task stage driven again (owed requests re-sent, lost stage events replayed). */
  drivenInTaskStages: number;
}

const BATCH = 500;

/** The final progress event a completed job returned for this run's phase, if any. */
function finalEventOf(returnValue: unknown, runId: string, phase: Phase): PhaseProgressEvent | null {
  const parsed = phaseProgressEvent.safeParse(returnValue);
  if (!parsed.success) return null;
  const event = parsed.data;
  const isFinal = event.kind === "finished" || event.kind === "errored" || event.kind === "canceled";
  return isFinal && event.runId === runId && event.phase === phase ? event : null;
}
const OUTBOX_RETENTION_MS = 24 * 60 * 60 * 1000;

/**
 * Re-derives from Postgres everything an event or a job may have lost (DESIGN invariant 3).
 * Safe to run on several replicas at once: every decision takes the workspace's row lock
 * and is a compare-and-set; job ids make re-enqueueing idempotent.
 */
export async function reconcileOnce(ctx: SchedulerContext): Promise<ReconcileReport> {
  const report: ReconcileReport = { prunedOutbox: 0, reenqueued: 0, erroredQueued: 0, stalePhases: 0, lostAgentJobs: 0, alivePhases: 0, replayedOutcomes: 0, driven: 0, appliedActions: 0, advancedWorkspaces: 0, promoted: 0, timedOutTasks: 0, drivenInTaskStages: 0 };
  const now = ctx.now();
  const graceCutoff = new Date(now.getTime() - ctx.settings.reconcileGraceMs);

  // Queued runs whose job is gone (Redis lost it, or the enqueue after commit never ran).
  for (const queued of await schedulerRepo.listQueuedRuns(ctx.db, BATCH)) {
    const phase = queued.status === "plan_queued" ? "plan" : "apply";
    const job = await phaseJobLiveness(ctx, phase, queued.id);
    const { state } = job;
    if (state !== null && state !== "completed" && state !== "failed") continue;
    // Its events may still be in flight: the worker publishes its last event just before the
    // job ends, and a broker that was down or restarted delivers them late.
    if (state !== null && (queued.statusChangedAt > graceCutoff || (job.finishedOn !== null && job.finishedOn > graceCutoff.getTime()))) continue;
    // The worker finished but NATS lost its events (a broker restarted empty): the job kept the outcome.
    const outcome = state === "completed" ? finalEventOf(job.returnValue, queued.id, phase) : null;
    if (outcome) {
      await handlePhaseProgress(ctx, outcome);
      report.replayedOutcomes++;
      continue;
    }
    const settled = await withRunWorkspace(ctx, queued.id, async (tx, run, effects) => {
      if (run.status !== queued.status) return undefined;
      // A finished plan job whose run never started planning is safe to run again; an apply is not.
      if (state === null || (state === "completed" && phase === "plan")) {
        effects.add({ kind: "enqueue", phase, runId: run.id, replaceFinished: true });
        return "reenqueued" as const;
      }
      await phasesRepo.finishPhase(tx, phase, run.id, { status: "errored", at: ctx.now() });
      if (!(await moveRun(tx, ctx, run, "errored"))) return undefined;
      await driveRun(tx, ctx, run, effects);
      return "errored" as const;
    });
    if (settled === "reenqueued") report.reenqueued++;
    else if (settled === "errored") report.erroredQueued++;
  }

  // Phases held by agents that stopped pinging the gateway.
  report.lostAgentJobs = await settleLostAgentJobs(ctx, BATCH);

  // Running phases whose worker stopped heartbeating, or which ran past their timeout.
  const stale = await phasesRepo.listStalePhases(ctx.db, {
    heartbeatBefore: new Date(now.getTime() - ctx.settings.heartbeatTimeoutMs),
    planStartedBefore: new Date(now.getTime() - ctx.settings.planTimeoutMs),
    applyStartedBefore: new Date(now.getTime() - ctx.settings.applyTimeoutMs),
    limit: BATCH,
  });
  for (const phase of stale) {
    const job = await phaseJobLiveness(ctx, phase.phase, phase.runId);
    const outcome = job.state === "completed" ? finalEventOf(job.returnValue, phase.runId, phase.phase) : null;
    if (outcome) {
      await handlePhaseProgress(ctx, outcome);
      report.replayedOutcomes++;
      continue;
    }
    if (phase.reason === "heartbeat" && job.isLocked) {
      // Heartbeat events travel over NATS; while the broker is away the job's lock in Redis,
      // which only a live worker renews, says the phase is still being worked on.
      if (await phasesRepo.recordHeartbeat(ctx.db, phase.phase, phase.runId, now)) report.alivePhases++;
      continue;
    }
    const failed = await withRunWorkspace(ctx, phase.runId, async (tx, run, effects) => {
      const running = phase.phase === "plan" ? "planning" : "applying";
      if (run.status !== running) {
        // The run already ended some other way; only the phase row is left running.
        if (run.status !== "plan_queued" && run.status !== "apply_queued") {
          await phasesRepo.finishPhase(tx, phase.phase, run.id, { status: "errored", at: ctx.now() });
        }
        return false;
      }
      ctx.logger.warn({ runId: run.id, phase: phase.phase, reason: phase.reason }, "failing a phase whose worker is gone or too slow");
      await phasesRepo.finishPhase(tx, phase.phase, run.id, { status: "errored", at: ctx.now() });
      if (!(await moveRun(tx, ctx, run, "errored"))) return false;
      // If the worker still lives, make sure it stops touching this run.
      effects.add({ kind: "signal", phase: phase.phase, runId: run.id, signal: "SIGKILL" });
      await driveRun(tx, ctx, run, effects);
      return true;
    });
    if (failed) report.stalePhases++;
  }

  // Users' actions accepted while their event was lost (or the scheduler was down a long time).
  for (const runId of await runActionsRepo.listRunsWithPendingActionRequests(ctx.db, graceCutoff, BATCH)) {
    if (await withRunWorkspace(ctx, runId, (tx, run, effects) => applyPendingActions(tx, ctx, run, effects))) report.appliedActions++;
  }

  // Runs resting where the scheduler itself must move them on (their event was lost).
  for (const resting of await schedulerRepo.listRunsNeedingDrive(ctx.db, graceCutoff, BATCH)) {
    await withRunWorkspace(ctx, resting.id, (tx, run, effects) => driveRun(tx, ctx, run, effects));
    report.driven++;
  }

  // Run tasks: results past their timeout, requests still owed to task URLs, lost stage events.
  const tasks = await reconcileTaskStages(ctx, graceCutoff, BATCH);
  report.timedOutTasks = tasks.timedOut;
  report.drivenInTaskStages = tasks.drivenInStages;

  // Heads of idle workspaces (a run.created or a release was lost).
  for (const workspaceId of await schedulerRepo.listIdleWorkspacesWithWaitingRuns(ctx.db, BATCH, graceCutoff)) {
    await withWorkspace(ctx, workspaceId, (tx, effects) => advanceWorkspace(tx, ctx, workspaceId, effects));
    report.advancedWorkspaces++;
  }

  // Published outbox rows are only kept for inspection; JetStream holds the events now.
  report.prunedOutbox = await pruneOutbox(ctx.db, new Date(now.getTime() - OUTBOX_RETENTION_MS));

  // Queuing runs of organizations that have free slots again.
  for (const organizationId of await schedulerRepo.listOrganizationsWithQueuingRuns(ctx.db)) {
    const effects = new Effects();
    report.promoted += await promoteQueuing(ctx, organizationId, effects);
    await performEffects(ctx, effects);
  }
  return report;
}

export interface ReconcileLoop {
  stop(): Promise<void>;
}

/**
 * Decides whether this replica reconciles this round. Only an economy: reconcile is safe on
 * every replica at once (row locks, compare-and-set), so a lost lease costs duplicate reads.
 */
export type ReconcileLease = () => Promise<boolean>;

/** Runs reconcileOnce every `intervalMs`; a failed round is logged and the next one retries. */
export function startReconcileLoop(ctx: SchedulerContext, intervalMs: number, lease?: ReconcileLease): ReconcileLoop {
  let isStopped = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const loop = (async () => {
    while (!isStopped) {
      try {
        if (!lease || (await lease())) {
          const report = await reconcileOnce(ctx);
          if (Object.values(report).some((n) => n > 0)) ctx.logger.info(report, "reconciled");
        }
      } catch (error) {
        ctx.logger.error({ error: errorMessage(error) }, "reconcile round failed");
      }
      if (isStopped) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, intervalMs);
      });
    }
  })();
  return {
    async stop() {
      isStopped = true;
      if (timer) clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}
