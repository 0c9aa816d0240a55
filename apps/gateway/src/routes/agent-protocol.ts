import express, { Router, type Request, type RequestHandler, type Response } from "express";
import { phaseProgressEvent, subjectsFor } from "@tarmac/contracts";
import { agentPoolsRepo, agentsRepo, inTransaction } from "@tarmac/db";
import { conflict, notFound, unauthorized, unprocessable } from "@tarmac/domain";
import { z } from "zod";
import type { GatewayDeps } from "../deps";

/**
 * The agent protocol (`/api/agent/…`): what an agent in another network needs, over outbound
 * HTTPS only. It authenticates with an agent token (`Authorization: Bearer`, looked up by its
 * SHA-256 like API tokens; a deleted token answers 401 at the next call), registers, pings,
 * long-polls for a job of its pool and reports the job's progress, which is recorded through the
 * outbox exactly as a worker's JetStream event would be. Everything else a job needs (spec,
 * configuration, state, artifacts, logs) goes through the job URL it is handed, the same
 * capability URL a worker uses. Stop orders (a cancel, a force-cancel, the scheduler settling the
 * phase) come back in the answers to its pings.
 */

export const AGENT_PROTOCOL_BASE = "/api/agent";
/** The longest a poll for a job waits before answering 204. */
export const MAX_POLL_WAIT_MS = 30_000;
const POLL_STEP_MS = 1_000;

const registerBody = z.object({
  name: z.string().min(1).max(200).optional(),
  capacity: z.number().int().min(1).max(64).optional(),
});

const statusBody = z.object({
  status: z.enum(["idle", "busy", "errored", "exited"]).optional(),
  /** The jobs the agent is running; others it holds are given up (see dropJobsNotRunning). */
  running: z.array(z.string()).max(256).optional(),
});

/** A claim younger than this may still be on its way to the agent. */
const CLAIM_IN_FLIGHT_MS = 60_000;

interface AgentLocals {
  grant: agentsRepo.AgentTokenGrant;
  agent?: agentsRepo.AgentRow;
}

function locals(res: Response): AgentLocals {
  return res.locals as AgentLocals;
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw unprocessable(parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
  return parsed.data;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The path (with its secret) of a job URL: the agent resolves it against the address it reaches the gateway at. */
function jobPathOf(jobUrl: string): string {
  const url = new URL(jobUrl);
  return url.pathname + url.search;
}

export function agentProtocolRouter(deps: GatewayDeps): Router {
  const r = Router();
  const subjects = subjectsFor(deps.env.TARMAC_NATS_PREFIX);
  const json = express.json({ type: () => true, limit: "1mb", strict: false });

  const tokenUseMarked = new Map<string, number>();
  const authenticateAgent: RequestHandler = async (req, res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get("authorization") ?? "");
    const grant = match ? await agentsRepo.findAgentToken(deps.db, match[1]!) : null;
    if (!grant) throw unauthorized("The agent token is invalid or has been revoked.");
    // The token's last-used-at, written at most once a minute per token (agents ping every few seconds).
    const now = Date.now();
    if ((tokenUseMarked.get(grant.tokenId) ?? 0) < now - 60_000) {
      tokenUseMarked.set(grant.tokenId, now);
      await agentPoolsRepo.markAgentTokenUsed(deps.db, grant.tokenId, new Date(now));
    }
    locals(res).grant = grant;
    next();
  };

  /** The agent named in the path, registered under this token's pool. */
  const loadAgent: RequestHandler<{ agentId: string }> = async (req, res, next) => {
    const agent = await agentsRepo.findAgent(deps.db, req.params.agentId);
    if (!agent || agent.agentPoolId !== locals(res).grant.agentPoolId) throw notFound("No such agent in this token's pool.");
    locals(res).agent = agent;
    next();
  };

  const agentOf = (res: Response): agentsRepo.AgentRow => {
    const agent = locals(res).agent;
    if (!agent) throw new Error("loadAgent did not run before this handler");
    return agent;
  };

  const signalsDoc = async (agentId: string) => ({
    jobs: (await agentsRepo.listHeldJobs(deps.db, agentId)).map((j) => ({ "job-id": j.id, "run-id": j.runId, phase: j.phase, signal: j.signal })),
  });

  r.post(`${AGENT_PROTOCOL_BASE}/register`, authenticateAgent, json, async (req: Request, res) => {
    const body = parse(registerBody, req.body);
    const grant = locals(res).grant;
    const agent = await agentsRepo.registerAgent(deps.db, {
      grant,
      name: body.name ?? null,
      ipAddress: req.ip ?? null,
      capacity: body.capacity ?? 1,
      at: deps.now(),
    });
    res.status(201).json({
      "agent-id": agent.id,
      "agent-pool-id": grant.agentPoolId,
      "agent-pool-name": grant.agentPoolName,
      capacity: agent.capacity,
      "max-poll-wait-ms": MAX_POLL_WAIT_MS,
    });
  });

  // Ping: the agent is alive; the answer carries the stop orders on the jobs it holds.
  r.post(`${AGENT_PROTOCOL_BASE}/agents/:agentId/status`, authenticateAgent, loadAgent, json, async (req: Request<{ agentId: string }>, res) => {
    const body = parse(statusBody, req.body);
    const agent = agentOf(res);
    if (body.status === "exited") await agentsRepo.markAgentExited(deps.db, agent.id, deps.now());
    else await agentsRepo.pingAgent(deps.db, agent.id, deps.now(), body.status);
    if (body.running) {
      const dropped = await agentsRepo.dropJobsNotRunning(deps.db, agent.id, body.running, new Date(deps.now().getTime() - CLAIM_IN_FLIGHT_MS));
      if (dropped > 0) deps.logger.warn({ agentId: agent.id, dropped }, "agent holds jobs it does not run; they are settled as lost");
    }
    res.status(200).json(await signalsDoc(agent.id));
  });

  // Long poll: a job of the agent's pool, or 204 after `wait` ms (at most 30 s) without one.
  r.get(`${AGENT_PROTOCOL_BASE}/agents/:agentId/jobs/next`, authenticateAgent, loadAgent, async (req: Request<{ agentId: string }>, res) => {
    const agent = agentOf(res);
    const poolName = locals(res).grant.agentPoolName;
    const requested = Number(req.query.wait ?? MAX_POLL_WAIT_MS);
    const waitMs = Number.isFinite(requested) ? Math.min(Math.max(0, requested), MAX_POLL_WAIT_MS) : MAX_POLL_WAIT_MS;
    const deadline = Date.now() + waitMs;
    let isGone = false;
    res.on("close", () => (isGone = true));
    // A poll is a ping; a claim pings again. The agent's own pings cover a long wait.
    await agentsRepo.pingAgent(deps.db, agent.id, deps.now());
    for (;;) {
      // An agent that hung up (it is stopping) must not be handed a job it will never see.
      if (isGone) break;
      const job = await inTransaction(deps.db, (tx) => agentsRepo.claimAgentJob(tx, { ...agent, poolName }, deps.now()));
      if (job) {
        res.status(200).json({
          "job-id": job.id,
          "run-id": job.runId,
          phase: job.phase,
          "job-path": jobPathOf(job.jobUrl),
          attempt: job.attempt,
        });
        return;
      }
      if (Date.now() + POLL_STEP_MS > deadline) break;
      await sleep(POLL_STEP_MS);
    }
    res.status(204).end();
  });

  // A job's progress, recorded as the phase.progress event the scheduler consumes.
  r.post(`${AGENT_PROTOCOL_BASE}/agents/:agentId/jobs/:jobId/events`, authenticateAgent, loadAgent, json, async (req: Request<{ agentId: string; jobId: string }>, res) => {
    const parsed = phaseProgressEvent.safeParse(req.body);
    if (!parsed.success) throw unprocessable("The body is not a phase.progress event.");
    const agent = agentOf(res);
    // The event names its agent as the one that ran the phase, whatever the body says.
    const event = { ...parsed.data, workerId: agent.id };
    const result = await inTransaction(deps.db, (tx) => agentsRepo.recordAgentReport(tx, subjects, agent.id, req.params.jobId, event, deps.now()));
    if (result === "not_held") throw conflict("This agent no longer holds the job: the run has moved on without it.");
    res.status(204).end();
  });

  return r;
}
