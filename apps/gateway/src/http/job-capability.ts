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
    const { runId, phase, secret } = req.params;
    if (!isPhase(phase)) throw notFound();
    if (checkCapability(deps.keys, "job", jobCapabilityId(runId, phase), secret, deps.now()) !== "valid") throw notFound();
    const run = await jobsRepo.findJobPhaseState(deps.db, runId);
    if (!run) throw notFound();
    const phaseStatus = phase === "plan" ? run.plan?.status : run.apply?.status;
    if (!isJobPhaseLive(phase, run.status, phaseStatus)) {
      throw conflict(`The run is ${run.status}: its ${phase} phase has ended, and with it this job URL.`);
    }
    res.locals.jobPhase = phase;
    next();
  };
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
export function refuseRepeatedUpload(result: jobsRepo.StoreOnceResult, what: string): void {
  if (result === "not_found") throw notFound();
  if (result === "conflict") throw conflict(`This phase already uploaded its ${what}; it is written once.`);
}
