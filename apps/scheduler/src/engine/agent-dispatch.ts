import type { Phase } from "@tarmac/contracts";
import { agentsRepo, phasesRepo, runEventsRepo } from "@tarmac/db";
import { newId, PHASE_QUEUED_STATUS, PHASE_RUNNING_STATUS } from "@tarmac/domain";
import { getPhaseJobLiveness, type PhaseJobLiveness } from "@tarmac/queues";
import type { SchedulerContext } from "./context";
import { withRunWorkspace } from "./effects";
import { driveRun } from "./lifecycle";
import { moveRun } from "./transitions";

/**
 * Plans and applies of agent-mode workspaces go to their pool only, never to the shared worker
 * queue: a row in `agent_jobs` that the gateway hands to the first polling agent of the pool
 * (SELECT … FOR UPDATE SKIP LOCKED). Liveness mirrors a BullMQ job's lock: an agent that holds
 * a job and pings is its lock holder; one that stops pinging is a lost worker, and its job
 * errors exactly as a lost worker's does (never re-run behind the user's back: an apply may
 * have half-happened).
 */

export const DEFAULT_AGENT_HEARTBEAT_TIMEOUT_MS = 30_000;

function liveSince(ctx: SchedulerContext): Date {
  return new Date(ctx.now().getTime() - (ctx.settings.agentHeartbeatTimeoutMs ?? DEFAULT_AGENT_HEARTBEAT_TIMEOUT_MS));
}

/**
 * Dispatches a phase to its agent pool when the run's workspace is in agent mode. Returns false
 * for a workspace whose phases go to the worker queue.
 */
export async function dispatchToAgentPool(
  ctx: SchedulerContext,
  effect: { runId: string; phase: Phase; replaceFinished?: boolean },
  jobUrl: () => string,
): Promise<boolean> {
  const target = await agentsRepo.findAgentTargetOfRun(ctx.db, effect.runId);
  if (!target) return false;
  if (target.agentPoolId === null) {
    // The pools API refuses agent mode without a pool; a pool deleted under a workspace leaves
    // its runs queued rather than running them anywhere else.
    ctx.logger.warn({ runId: effect.runId, phase: effect.phase }, "agent-mode workspace without an agent pool; the run waits");
    return true;
  }
  // As for a BullMQ job: never dispatch a phase again behind the reconcile loop's back.
  if (!effect.replaceFinished && (await agentsRepo.hasAgentJob(ctx.db, effect.runId, effect.phase))) return true;
  const created = await agentsRepo.dispatchAgentJob(ctx.db, {
    runId: effect.runId,
    phase: effect.phase,
    target,
    jobUrl: jobUrl(),
    at: ctx.now(),
    replaceFinished: effect.replaceFinished === true,
  });
  if (created && (await agentsRepo.countLiveAgents(ctx.db, target.agentPoolId, liveSince(ctx))) === 0) {
    await runEventsRepo.insertRunEvent(ctx.db, {
      id: newId("re"),
      runId: effect.runId,
      action: "waiting-for-agent",
      description: `Waiting for an agent in pool ${target.agentPoolName}`,
      actorId: null,
      at: ctx.now(),
    });
    ctx.logger.info({ runId: effect.runId, phase: effect.phase, agentPool: target.agentPoolName }, "waiting for an agent");
  }
  return true;
}

/**
 * What the reconcile loop asks of a phase's job, for either kind of run: BullMQ's answer for
 * a worker job, the agent job's row for an agent run (pending = waiting, active = held, with
 * its "lock" held while the agent pings; done = completed, its final event in the outbox).
 */
export async function phaseJobLiveness(ctx: SchedulerContext, phase: Phase, runId: string): Promise<PhaseJobLiveness> {
  const target = await agentsRepo.findAgentTargetOfRun(ctx.db, runId);
  if (!target) return getPhaseJobLiveness(ctx.queues, phase, runId);
  const job = await agentsRepo.findAgentJobState(ctx.db, runId, phase, liveSince(ctx));
  if (!job) return { state: target.agentPoolId === null ? "waiting" : null, isLocked: false, finishedOn: null, returnValue: undefined };
  switch (job.status) {
    case "pending":
      return { state: "waiting", isLocked: false, finishedOn: null, returnValue: undefined };
    case "active":
      return { state: "active", isLocked: job.isAgentLive, finishedOn: null, returnValue: undefined };
    case "done":
      return { state: "completed", isLocked: false, finishedOn: job.finishedAt?.getTime() ?? null, returnValue: undefined };
  }
}

/**
 * Jobs whose agent stopped pinging (killed, its network gone) or exited while holding them:
 * the hold ends and the run errors, as a lost worker's run does; its pool's other agents take
 * the next runs. Returns how many runs were settled.
 */
export async function settleLostAgentJobs(ctx: SchedulerContext, limit: number): Promise<number> {
  const since = liveSince(ctx);
  let settled = 0;
  for (const job of await agentsRepo.listLostAgentJobs(ctx.db, since, limit)) {
    await agentsRepo.releaseLostAgentJob(ctx.db, job, since, ctx.now());
    const errored = await withRunWorkspace(ctx, job.runId, async (tx, run, effects) => {
      if (run.status !== PHASE_RUNNING_STATUS[job.phase] && run.status !== PHASE_QUEUED_STATUS[job.phase]) return false;
      ctx.logger.warn({ runId: run.id, phase: job.phase, agentId: job.agentId }, "failing a phase whose agent is gone");
      await phasesRepo.finishPhase(tx, job.phase, run.id, { status: "errored", at: ctx.now() });
      if (!(await moveRun(tx, ctx, run, "errored"))) return false;
      await driveRun(tx, ctx, run, effects);
      return true;
    });
    if (errored) settled++;
  }
  return settled;
}
