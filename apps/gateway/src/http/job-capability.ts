import type { RequestHandler, Response } from "express";
import { checkCapability, jobCapabilityId } from "@tarmac/contracts";
import { jobsRepo } from "@tarmac/db";
import { conflict, isJobPhaseLive, isPhase, notFound, type JobPhase } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";

export type JobParams = { runId: string; phase: string; secret: string };

/**
 * Authorizes a job route: the secret must be one the scheduler minted for this run and this
 * phase, not expired, and the run must still be in that phase.
 *
 * A forged, tampered, expired or other-phase secret answers 404, exactly like a missing run:
 * without a genuine secret nothing about the run is revealed. A genuine secret whose phase has
 * ended answers 409 (a conflict with the run's state): only a holder of the real URL can see
 * it, it tells the worker why it must stop, and it changes nothing.
 */
export function jobCapability(deps: GatewayDeps): RequestHandler<JobParams> {
  return async (req, res, next) => {
    const phase = verifySecret(deps, req.params, res);
    const { runId } = req.params;
    const run = await jobsRepo.findJobPhaseState(deps.db, runId);
    if (!run) throw notFound();
    const phaseStatus = phase === "plan" ? run.plan?.status : run.apply?.status;
    if (!isJobPhaseLive(phase, run.status, phaseStatus)) throw phaseEnded(run.status, phase);
    next();
  };
}

/**
 * The secret half of {@link jobCapability}: for a route whose own statement checks that the phase
 * lives (jobsRepo's reads and uploads, a round trip fewer per request), which must then answer
 * with {@link liveOrThrow} or {@link refuseRepeatedUpload}.
 */
export function jobSecret(deps: GatewayDeps): RequestHandler<JobParams> {
  return (req, res, next) => {
    verifySecret(deps, req.params, res);
    next();
  };
}

function verifySecret(deps: GatewayDeps, params: JobParams, res: Response): JobPhase {
  const { runId, phase, secret } = params;
  if (!isPhase(phase)) throw notFound();
  if (checkCapability(deps.keys, "job", jobCapabilityId(runId, phase), secret, deps.now()) !== "valid") throw notFound();
  res.locals.jobPhase = phase;
  return phase;
}

/** 409: a genuine job URL whose phase has ended (only its holder learns the run's status). */
export function phaseEnded(runStatus: string, phase: JobPhase): Error {
  return conflict(`The run is ${runStatus}: its ${phase} phase has ended, and with it this job URL.`);
}

/** The value of a read whose statement checked the phase: 404 without the run, 409 once the phase ended. */
export function liveOrThrow<T>(read: jobsRepo.JobRead<T>, phase: JobPhase): T {
  if (read.kind === "not_found") throw notFound();
  if (read.kind === "ended") throw phaseEnded(read.runStatus, phase);
  return read.value;
}

/** The phase the request's job capability grants (after `jobCapability`). */
export function phaseOf(res: Response): JobPhase {
  const phase: unknown = res.locals.jobPhase;
  if (phase !== "plan" && phase !== "apply") throw new Error("jobCapability did not run before this handler");
  return phase;
}

/** A route only one phase uses: another phase's job URL does not grant it. */
export function onlyPhase(phase: JobPhase): RequestHandler<JobParams> {
  return (_req, res, next) => {
    if (phaseOf(res) !== phase) throw notFound();
    next();
  };
}

/** Each artifact is written once per phase; the same bytes again are a retry, not a change. */
export function refuseRepeatedUpload(result: jobsRepo.StoreOnceResult, what: string, phase: JobPhase): void {
  if (result === "not_found") throw notFound();
  if (typeof result === "object") throw phaseEnded(result.ended, phase);
  if (result === "conflict") throw conflict(`This phase already uploaded its ${what}; it is written once.`);
}
