import { CAPABILITY_TTL_MS, capabilityPaths, jobCapabilityId, mintCapability, type Phase } from "@tarmac/contracts";
import { agentsRepo, inSqlTransaction, lockWorkspaceForScheduling, schedulerRepo, type Tx } from "@tarmac/db";
import { publishSignal } from "@tarmac/events";
import { addPhaseJobIfAbsent, enqueuePhaseJob, removePhaseJob, requestPhaseStop } from "@tarmac/queues";
import { dispatchToAgentPool } from "./agent-dispatch";
import { Effects, type Effect, type SchedulerContext } from "./context";
import { traceHeaders } from "./transitions";
import { promoteQueuing } from "./workspace-queue";
import { knownWorkspaceOf, rememberWorkspaceOf } from "./run-workspaces";
import { dispatchTaskResult } from "./task-dispatch";

/**
 * The job URL a worker uses for everything about one phase of one run; its secret lives in the
 * path. It grants that phase only (the gateway refuses it once the run has left the phase) and
 * expires after the phase's timeout plus the time a job may wait in its queue.
 */
export function jobUrlFor(ctx: SchedulerContext, runId: string, phase: Phase): string {
  const phaseTimeoutMs = phase === "plan" ? ctx.settings.planTimeoutMs : ctx.settings.applyTimeoutMs;
  const ttlMs = phaseTimeoutMs + CAPABILITY_TTL_MS.jobQueueAllowance;
  const secret = mintCapability(ctx.settings.capabilityKeys, "job", jobCapabilityId(runId, phase), ttlMs, ctx.now());
  return ctx.settings.gatewayUrl + capabilityPaths.job(runId, phase, secret);
}

function effectKey(effect: Effect): string {
  switch (effect.kind) {
    case "enqueue":
    case "remove-job":
      return `${effect.kind}:${effect.phase}:${effect.runId}`;
    case "signal":
      return `signal:${effect.phase}:${effect.runId}:${effect.signal}`;
    case "promote":
      return `promote:${effect.organizationId}`;
    case "dispatch-task":
      return `dispatch-task:${effect.taskResultId}`;
  }
}

/**
 * Performs what a committed transaction decided outside Postgres. A failure here throws,
 * so the event is redelivered; if the process dies first, the reconcile loop re-derives
 * the missing job from Postgres (DESIGN invariant 3).
 */
export async function performEffects(ctx: SchedulerContext, effects: Effects): Promise<void> {
  // Jobs first: the next run's worker should not wait for the cleanup of the run that ended
  // (its jobs removed, several round trips). Promotions append theirs at the end.
  effects.list.sort((a, b) => Number(b.kind === "enqueue") - Number(a.kind === "enqueue"));
  const seen = new Set<string>();
  // Promotions add more effects; process the growing list in order.
  for (let i = 0; i < effects.list.length; i++) {
    const effect = effects.list[i]!;
    const key = effectKey(effect);
    if (seen.has(key)) continue;
    seen.add(key);
    switch (effect.kind) {
      case "enqueue": {
        // An agent-mode workspace's phases go to its pool's agents only.
        if (!effect.toWorkers && (await dispatchToAgentPool(ctx, effect, () => jobUrlFor(ctx, effect.runId, effect.phase)))) break;
        const traceparent = traceHeaders().traceparent;
        const job = {
          runId: effect.runId,
          phase: effect.phase,
          jobUrl: jobUrlFor(ctx, effect.runId, effect.phase),
          ...(traceparent ? { traceparent } : {}),
        };
        // Never re-run a phase behind the reconcile loop's back: a status event processed after
        // a fast worker already finished the job must not start it again (an apply twice). BullMQ
        // ignores the add while a job with the id exists, finished or not; only the reconcile
        // loop replaces a finished one.
        if (effect.replaceFinished) await enqueuePhaseJob(ctx.queues, job);
        else await addPhaseJobIfAbsent(ctx.queues, job);
        break;
      }
      case "remove-job":
        await removePhaseJob(ctx.queues, effect.phase, effect.runId);
        await agentsRepo.removePendingAgentJob(ctx.db, effect.runId, effect.phase);
        break;
      case "signal":
        publishSignal(ctx.nc, ctx.subjects, { runId: effect.runId, phase: effect.phase, signal: effect.signal });
        // A kill must reach the worker even while NATS is away (it polls Redis as well).
        if (effect.signal === "SIGKILL") await requestPhaseStop(ctx.queues, effect.phase, effect.runId);
        // An agent learns it in the answer to its next ping.
        await agentsRepo.signalAgentJob(ctx.db, effect.runId, effect.phase, effect.signal);
        break;
      case "promote":
        // Adds enqueue effects to the list this loop is walking.
        await promoteQueuing(ctx, effect.organizationId, effects);
        break;
      case "dispatch-task":
        // Never throws: a task URL that fails is retried by the reconcile loop, not by redelivering the event.
        await dispatchTaskResult(ctx, effect.taskResultId);
        break;
    }
  }
}

/** Decides in a transaction holding the workspace's row lock; effects are returned, not performed. */
async function decideLocked<T>(
  ctx: SchedulerContext,
  workspaceId: string,
  fn: (tx: Tx, effects: Effects) => Promise<T>,
): Promise<{ found: false } | { found: true; value: T; effects: Effects }> {
  return inSqlTransaction(
    ctx.db,
    async (tx) => {
      // Made in the transaction: a callback that reaches for Prisma runs again from the start.
      const effects = new Effects();
      const workspace = await lockWorkspaceForScheduling(tx, workspaceId);
      if (!workspace) return { found: false as const };
      const value = await fn(tx, effects);
      // Every job decided here is for a run of this workspace, whose mode the lock read.
      if (!workspace.agentMode) for (const effect of effects.list) if (effect.kind === "enqueue") effect.toWorkers = true;
      return { found: true as const, value, effects };
    },
    (property) => ctx.logger.debug({ workspaceId, property }, "scheduling transaction ran again through Prisma"),
  );
}

/**
 * Runs `fn` in a transaction holding the workspace's row lock, then performs the effects it
 * decided. Every status decision of the scheduler goes through here. Returns undefined when
 * the workspace does not exist. The transaction is a pool client's (inSqlTransaction): `fn` may
 * run twice, so it decides through `tx` and `effects` and keeps no tally of its own (return it).
 */
export async function withWorkspace<T>(
  ctx: SchedulerContext,
  workspaceId: string,
  fn: (tx: Tx, effects: Effects) => Promise<T>,
): Promise<T | undefined> {
  const outcome = await decideLocked(ctx, workspaceId, fn);
  if (!outcome.found) return undefined;
  await performEffects(ctx, outcome.effects);
  return outcome.value;
}

/** withWorkspace for the workspace of a run (a run never changes workspace). */
export async function withRunWorkspace<T>(
  ctx: SchedulerContext,
  runId: string,
  fn: (tx: Tx, run: schedulerRepo.SchedulingRun, effects: Effects) => Promise<T>,
  /** The run as read without a lock just before, to find its workspace without reading it again. */
  unlocked?: schedulerRepo.SchedulingRun,
): Promise<T | undefined> {
  const workspaceId = unlocked?.workspaceId ?? knownWorkspaceOf(ctx, runId) ?? (await schedulerRepo.findSchedulingRun(ctx.db, runId))?.workspaceId;
  if (!workspaceId) return undefined;
  return withWorkspace(ctx, workspaceId, async (tx, effects) => {
    const run = await schedulerRepo.findSchedulingRun(tx, runId);
    if (!run) return undefined;
    rememberWorkspaceOf(ctx, run);
    return fn(tx, run, effects);
  });
}
