import type { PhaseProgressEvent, Subjects } from "@tarmac/contracts";
import { newId, type Phase } from "@tarmac/domain";
import { executeRows, queryRows, type Db, type Tx } from "../client";
import { Prisma } from "../generated/prisma/client";
import { enqueueOutbox } from "../outbox";
import { phaseProgressMessage } from "../outbox-messages";
import { findAgentTokenByValue } from "./agent-pools";

/**
 * Agents and the jobs they run. The scheduler writes a job row when it dispatches a plan or
 * apply of an agent-mode workspace; the gateway hands pending rows to polling agents of the
 * pool (SELECT … FOR UPDATE SKIP LOCKED) and records what they report. An agent is live while
 * its last ping is recent; a pool's concurrency is the sum of its live agents' capacity,
 * because an agent claims a job only while it holds fewer than its capacity.
 */

export type AgentStatus = "idle" | "busy" | "unknown" | "errored" | "exited";

export interface AgentTokenGrant {
  tokenId: string;
  agentPoolId: string;
  agentPoolName: string;
  organizationId: string;
}

/** The pool an agent token grants, or null for an unknown (or revoked: deleted) token. */
export async function findAgentToken(db: Db, token: string): Promise<AgentTokenGrant | null> {
  const owner = await findAgentTokenByValue(db, token);
  if (!owner) return null;
  return { tokenId: owner.tokenId, agentPoolId: owner.agentPoolId, agentPoolName: owner.agentPoolName, organizationId: owner.organizationId };
}

export interface RegisteredAgent {
  id: string;
  name: string | null;
  agentPoolId: string;
  capacity: number;
}

export async function registerAgent(
  db: Db,
  input: { grant: AgentTokenGrant; name: string | null; ipAddress: string | null; capacity: number; at: Date },
): Promise<RegisteredAgent> {
  const id = newId("agent");
  await db.$transaction([
    db.agent.create({
      data: {
        id,
        agentPoolId: input.grant.agentPoolId,
        agentTokenId: input.grant.tokenId,
        name: input.name,
        ipAddress: input.ipAddress,
        capacity: input.capacity,
        status: "idle",
        lastPingAt: input.at,
      },
    }),
    db.agentToken.update({ where: { id: input.grant.tokenId }, data: { lastUsedAt: input.at } }),
  ]);
  return { id, name: input.name, agentPoolId: input.grant.agentPoolId, capacity: input.capacity };
}

export interface AgentRow {
  id: string;
  name: string | null;
  agentPoolId: string;
  agentTokenId: string | null;
  capacity: number;
  status: string;
}

export async function findAgent(db: Db, id: string): Promise<AgentRow | null> {
  return db.agent.findUnique({ where: { id }, select: { id: true, name: true, agentPoolId: true, agentTokenId: true, capacity: true, status: true } });
}

/** Records that the agent is alive (and, when given, its status). */
export async function pingAgent(db: Db, id: string, at: Date, status?: AgentStatus): Promise<void> {
  await db.agent.updateMany({ where: { id }, data: { lastPingAt: at, ...(status ? { status } : {}) } });
}

export interface AgentJobGrant {
  id: string;
  runId: string;
  phase: Phase;
  jobUrl: string;
  attempt: number;
}

interface ClaimRow {
  id: string;
  run_id: string;
  phase: string;
  job_url: string;
  attempt: bigint;
}

/**
 * Hands the oldest pending job of the agent's pool to the agent, unless it already holds as
 * many as its capacity. Concurrent polls never get the same row (SKIP LOCKED). The phase row
 * records where it runs (`execution-details`).
 */
export async function claimAgentJob(tx: Tx, agent: AgentRow & { poolName: string }, at: Date): Promise<AgentJobGrant | null> {
  // One claim at a time per agent, so two polls of one agent cannot both pass the capacity check.
  await tx.$queryRaw`SELECT pg_advisory_xact_lock(hashtextextended(${`tarmac-agent-claim:${agent.id}`}, 0))::text`;
  const held = await tx.agentJob.count({ where: { agentId: agent.id, status: "active" } });
  if (held >= agent.capacity) return null;
  const rows = await tx.$queryRaw<ClaimRow[]>`
    SELECT id, run_id, phase, job_url, attempt FROM agent_jobs
    WHERE agent_pool_id = ${agent.agentPoolId} AND status = 'pending'
    ORDER BY created_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED`;
  const row = rows[0];
  if (!row) return null;
  await tx.agentJob.update({ where: { id: row.id }, data: { status: "active", agentId: agent.id, claimedAt: at } });
  const details = {
    mode: "agent",
    "agent-id": agent.id,
    "agent-name": agent.name ?? agent.id,
    "agent-pool-id": agent.agentPoolId,
    "agent-pool-name": agent.poolName,
  };
  if (row.phase === "plan") await tx.plan.updateMany({ where: { runId: row.run_id }, data: { executionDetails: details } });
  else await tx.apply.updateMany({ where: { runId: row.run_id }, data: { executionDetails: details } });
  await tx.agent.update({ where: { id: agent.id }, data: { status: "busy", lastPingAt: at } });
  return { id: row.id, runId: row.run_id, phase: row.phase as Phase, jobUrl: row.job_url, attempt: Number(row.attempt) };
}

export async function findPoolName(db: Db, agentPoolId: string): Promise<string | null> {
  return (await db.agentPool.findUnique({ where: { id: agentPoolId }, select: { name: true } }))?.name ?? null;
}

export interface HeldJob {
  id: string;
  runId: string;
  phase: Phase;
  signal: "SIGINT" | "SIGKILL" | null;
}

/** The jobs an agent holds and the stop order on each, if any. */
export async function listHeldJobs(db: Db, agentId: string): Promise<HeldJob[]> {
  const rows = await db.agentJob.findMany({ where: { agentId, status: "active" }, select: { id: true, runId: true, phase: true, signal: true } });
  return rows.map((r) => ({ id: r.id, runId: r.runId, phase: r.phase as Phase, signal: r.signal === "SIGINT" || r.signal === "SIGKILL" ? r.signal : null }));
}

/**
 * Jobs the agent holds but says it does not run (claimed for a poll it had hung up on, or ended
 * without reporting an outcome), claimed before `claimedBefore` so a claim whose answer is still
 * on its way is spared: they lose their agent, and the scheduler settles them as lost.
 */
export async function dropJobsNotRunning(db: Db, agentId: string, running: readonly string[], claimedBefore: Date): Promise<number> {
  const dropped = await db.agentJob.updateMany({
    where: { agentId, status: "active", id: { notIn: [...running] }, claimedAt: { lt: claimedBefore } },
    data: { agentId: null },
  });
  return dropped.count;
}

export type ReportResult = "recorded" | "not_held";

/**
 * Records an agent's progress report in the outbox, as the worker would have published it;
 * a final report ends the agent's hold on the job. Refused when the agent no longer holds the
 * job (the scheduler settled it without the agent, or dispatched it again).
 */
export async function recordAgentReport(tx: Tx, subjects: Subjects, agentId: string, jobId: string, event: PhaseProgressEvent, at: Date): Promise<ReportResult> {
  const job = await tx.agentJob.findUnique({ where: { id: jobId }, select: { agentId: true, status: true, runId: true, phase: true } });
  if (!job || job.agentId !== agentId || job.status !== "active" || job.runId !== event.runId || job.phase !== event.phase) return "not_held";
  await enqueueOutbox(tx, phaseProgressMessage(subjects, event));
  const isFinal = event.kind === "finished" || event.kind === "errored" || event.kind === "canceled";
  if (isFinal) {
    await tx.agentJob.update({ where: { id: jobId }, data: { status: "done", finishedAt: at } });
    const still = await tx.agentJob.count({ where: { agentId, status: "active" } });
    await tx.agent.update({ where: { id: agentId }, data: { lastPingAt: at, ...(still === 0 ? { status: "idle" } : {}) } });
  } else {
    await tx.agent.update({ where: { id: agentId }, data: { lastPingAt: at } });
  }
  return "recorded";
}

/** An agent going away on purpose: it holds nothing any more (a job it held is settled by the scheduler). */
export async function markAgentExited(db: Db, agentId: string, at: Date): Promise<void> {
  await db.agent.updateMany({ where: { id: agentId }, data: { status: "exited", lastPingAt: at } });
}

// ---- the scheduler's side ----

export interface AgentTarget {
  agentPoolId: string;
  agentPoolName: string;
}

/** The pool a run's phases go to: its workspace is in agent execution mode with a pool. */
export async function findAgentTargetOfRun(db: Db | Tx, runId: string): Promise<AgentTarget | { agentPoolId: null } | null> {
  // Asked before every enqueue, mostly of workspaces in remote mode: past Prisma (queryRows).
  const [row] = await queryRows<{ executionMode: string; poolId: string | null; poolName: string | null }>(
    db,
    Prisma.sql`SELECT w.execution_mode AS "executionMode", p.id AS "poolId", p.name AS "poolName"
    FROM runs r JOIN workspaces w ON w.id = r.workspace_id LEFT JOIN agent_pools p ON p.id = w.agent_pool_id
    WHERE r.id = ${runId}`,
  );
  if (!row || row.executionMode !== "agent") return null;
  return row.poolId !== null ? { agentPoolId: row.poolId, agentPoolName: row.poolName ?? "" } : { agentPoolId: null };
}

export interface AgentJobState {
  status: "pending" | "active" | "done";
  agentId: string | null;
  /** The holding agent pinged within the liveness window. */
  isAgentLive: boolean;
  finishedAt: Date | null;
}

export async function findAgentJobState(db: Db, runId: string, phase: Phase, liveSince: Date): Promise<AgentJobState | null> {
  const row = await db.agentJob.findUnique({
    where: { runId_phase: { runId, phase } },
    select: { status: true, agentId: true, finishedAt: true, agent: { select: { lastPingAt: true, status: true } } },
  });
  if (!row) return null;
  const isAgentLive = row.agent !== null && row.agent.status !== "exited" && row.agent.lastPingAt >= liveSince;
  return { status: row.status as AgentJobState["status"], agentId: row.agentId, isAgentLive, finishedAt: row.finishedAt };
}

/**
 * Dispatches a phase to its pool. Idempotent like a BullMQ job id: an unfinished job stays as
 * it is; a done one is replaced only when `replaceFinished` (the reconcile loop decided the
 * phase must run again). Also records the pool's name on the run if it had none. True when a
 * job was (re)created.
 */
export async function dispatchAgentJob(
  db: Db,
  input: { runId: string; phase: Phase; target: AgentTarget; jobUrl: string; at: Date; replaceFinished: boolean },
): Promise<boolean> {
  return db.$transaction(async (tx) => {
    await tx.run.updateMany({ where: { id: input.runId, agentPoolName: null }, data: { agentPoolName: input.target.agentPoolName } });
    const existing = await tx.agentJob.findUnique({ where: { runId_phase: { runId: input.runId, phase: input.phase } }, select: { id: true, status: true } });
    const fresh = { agentPoolId: input.target.agentPoolId, jobUrl: input.jobUrl, status: "pending", agentId: null, attempt: BigInt(input.at.getTime()), signal: null, claimedAt: null, finishedAt: null };
    if (!existing) {
      const created = await tx.agentJob.createMany({ data: [{ id: newId("ajob"), runId: input.runId, phase: input.phase, ...fresh }], skipDuplicates: true });
      return created.count === 1;
    }
    if (existing.status !== "done" || !input.replaceFinished) return false;
    await tx.agentJob.update({ where: { id: existing.id }, data: fresh });
    return true;
  });
}

/** Whether a phase was ever dispatched to an agent (a job row exists, in any state). */
export async function hasAgentJob(db: Db, runId: string, phase: Phase): Promise<boolean> {
  return (await db.agentJob.count({ where: { runId, phase } })) > 0;
}

/**
 * Removes a job no agent holds yet (a run canceled while queued). Asked at every end of a phase
 * in any mode (the workspace may have left agent mode since): past Prisma's query compiler.
 */
export async function removePendingAgentJob(db: Db, runId: string, phase: Phase): Promise<void> {
  await executeRows(db, Prisma.sql`DELETE FROM agent_jobs WHERE run_id = ${runId} AND phase = ${phase} AND status = 'pending'`);
}

/** The scheduler's stop order for the agent holding the job; a SIGKILL is never weakened to SIGINT. */
export async function signalAgentJob(db: Db, runId: string, phase: Phase, signal: "SIGINT" | "SIGKILL"): Promise<void> {
  if (signal === "SIGKILL") await db.agentJob.updateMany({ where: { runId, phase, status: "active" }, data: { signal } });
  else await db.agentJob.updateMany({ where: { runId, phase, status: "active", signal: null }, data: { signal } });
}

/** Live agents of a pool (pinged since `liveSince`, not exited). */
export async function countLiveAgents(db: Db, agentPoolId: string, liveSince: Date): Promise<number> {
  return db.agent.count({ where: { agentPoolId, lastPingAt: { gte: liveSince }, status: { not: "exited" } } });
}

export interface LostAgentJob {
  id: string;
  runId: string;
  phase: Phase;
  agentId: string | null;
}

/** Jobs held by agents that stopped pinging (or exited, or were deleted) while holding them. */
export async function listLostAgentJobs(db: Db, liveSince: Date, limit: number): Promise<LostAgentJob[]> {
  const rows = await db.agentJob.findMany({
    where: {
      status: "active",
      OR: [{ agentId: null }, { agent: { lastPingAt: { lt: liveSince } } }, { agent: { status: "exited" } }],
    },
    select: { id: true, runId: true, phase: true, agentId: true },
    take: limit,
  });
  return rows.map((r) => ({ id: r.id, runId: r.runId, phase: r.phase as Phase, agentId: r.agentId }));
}

/** Ends a lost agent's hold on a job (the scheduler settles the run); agents that stopped pinging become `unknown`. */
export async function releaseLostAgentJob(db: Db, job: LostAgentJob, liveSince: Date, at: Date): Promise<void> {
  await db.$transaction([
    db.agentJob.updateMany({ where: { id: job.id, status: "active" }, data: { status: "done", signal: "SIGKILL", finishedAt: at } }),
    ...(job.agentId
      ? [db.agent.updateMany({ where: { id: job.agentId, lastPingAt: { lt: liveSince }, status: { notIn: ["exited", "errored"] } }, data: { status: "unknown" } })]
      : []),
  ]);
}
