import express, { Router, type Request, type RequestHandler, type Response } from "express";
import { formatJobInputLengths, JOB_INPUTS_HEADER, jobSpec, liveLogKey, type JobSpec } from "@tarmac/contracts";
import { decryptValue, jobsRepo } from "@tarmac/db";
import { applyIdFor, conflict, notFound, planIdFor, unprocessable } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { jobCapability, jobSecret, liveOrThrow, onlyPhase, phaseEnded, phaseOf, refuseRepeatedUpload, type JobParams } from "../http/job-capability";

/**
 * The worker's view of one phase of one run (`capabilityPaths.job(runId, phase, secret)`): the
 * job spec, the configuration and state to run terraform on, and the artifacts it uploads back.
 * Workers hold no database credentials; the HMAC secret in the path is the whole authorization
 * (see job-capability.ts: forged or expired answers 404, a phase that has ended 409). Each
 * artifact is written once per phase.
 */

/** Largest upload accepted (plan file, JSON plan, state, final log). */
export const JOB_UPLOAD_LIMIT_BYTES = 100 * 1024 * 1024;

const BASE = "/_jobs/:runId/:phase/:secret";

/** How long a live log outlives its last append (the worker's TARMAC_LIVE_LOG_TTL_MS default). */
const LIVE_LOG_TTL_MS = 24 * 3600 * 1000;

type Params = JobParams;

const rawBody = express.raw({ type: () => true, limit: JOB_UPLOAD_LIMIT_BYTES });

function bodyOf(req: Request): Buffer {
  return Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
}

function sendBytes(res: Response, data: Buffer, contentType: string): void {
  res.status(200).type(contentType).set("Content-Length", String(data.length)).end(data);
}

function parseJsonBody(req: Request, what: string): unknown {
  try {
    return JSON.parse(bodyOf(req).toString("utf8"));
  } catch {
    throw unprocessable(`The ${what} is not valid JSON.`);
  }
}

export function jobsRouter(deps: GatewayDeps): Router {
  const r = Router();

  const capability: RequestHandler<Params> = jobCapability(deps);
  // The routes below whose statements check that the phase lives themselves (a round trip fewer each).
  const secret: RequestHandler<Params> = jobSecret(deps);
  const planOnly = onlyPhase("plan");
  const applyOnly = onlyPhase("apply");

  r.get(`${BASE}/spec`, secret, async (req: Request<Params>, res) => {
    const run = liveOrThrow(await jobsRepo.findJobRun(deps.db, phaseOf(res), req.params.runId), phaseOf(res));
    res.status(200).set("Cache-Control", "no-store").json(specOf(run, deps));
  });

  // What a phase starts with, in one request: the three reads run side by side, each checking
  // that the phase lives; the parts follow each other in the body, their lengths in a header.
  r.get(`${BASE}/inputs`, secret, async (req: Request<Params>, res) => {
    const phase = phaseOf(res);
    const [runRead, archiveRead, stateRead] = await Promise.all([
      jobsRepo.findJobRun(deps.db, phase, req.params.runId),
      jobsRepo.readConfigurationArchive(deps.db, phase, req.params.runId),
      jobsRepo.readCurrentState(deps.db, phase, req.params.runId),
    ]);
    const run = liveOrThrow(runRead, phase);
    const archive = liveOrThrow(archiveRead, phase);
    const state = liveOrThrow(stateRead, phase);
    if (!archive) throw notFound("The run's configuration version has no uploaded archive.");
    const spec = Buffer.from(JSON.stringify(specOf(run, deps)));
    const parts = state ? [spec, archive, state] : [spec, archive];
    res
      .status(200)
      .set("Cache-Control", "no-store")
      .set(JOB_INPUTS_HEADER, formatJobInputLengths({ spec: spec.length, configuration: archive.length, state: state ? state.length : null }));
    sendBytes(res, Buffer.concat(parts), "application/octet-stream");
  });

  r.get(`${BASE}/configuration`, secret, async (req: Request<Params>, res) => {
    const archive = liveOrThrow(await jobsRepo.readConfigurationArchive(deps.db, phaseOf(res), req.params.runId), phaseOf(res));
    if (!archive) throw notFound("The run's configuration version has no uploaded archive.");
    sendBytes(res, archive, "application/gzip");
  });

  r.get(`${BASE}/state`, secret, async (req: Request<Params>, res) => {
    // The run exists and its phase lives; no state is a workspace without one.
    const state = liveOrThrow(await jobsRepo.readCurrentState(deps.db, phaseOf(res), req.params.runId), phaseOf(res));
    if (!state) {
      res.status(204).end();
      return;
    }
    sendBytes(res, state, "application/json");
  });

  r.get(`${BASE}/plan-file`, secret, applyOnly, async (req: Request<Params>, res) => {
    const planFile = liveOrThrow(await jobsRepo.readPlanFile(deps.db, "apply", req.params.runId), "apply");
    if (!planFile) throw notFound("The run has no saved plan file.");
    sendBytes(res, planFile, "application/octet-stream");
  });

  r.put(`${BASE}/plan-file`, secret, planOnly, rawBody, async (req: Request<Params>, res) => {
    const data = bodyOf(req);
    if (data.length === 0) throw unprocessable("The plan file is empty.");
    refuseRepeatedUpload(await jobsRepo.storePlanFile(deps.db, req.params.runId, data), "plan file", "plan");
    res.status(204).end();
  });

  r.put(`${BASE}/plan-json`, secret, planOnly, rawBody, async (req: Request<Params>, res) => {
    const doc = parseJsonBody(req, "JSON plan");
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw unprocessable("The JSON plan must be an object.");
    refuseRepeatedUpload(await jobsRepo.storePlanJson(deps.db, req.params.runId, bodyOf(req)), "JSON plan", "plan");
    res.status(204).end();
  });

  r.put(`${BASE}/provider-schemas`, secret, planOnly, rawBody, async (req: Request<Params>, res) => {
    const doc = parseJsonBody(req, "provider schemas document");
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw unprocessable("The provider schemas document must be an object.");
    refuseRepeatedUpload(await jobsRepo.storeProviderSchemas(deps.db, req.params.runId, bodyOf(req)), "provider schemas document", "plan");
    res.status(204).end();
  });

  // storeAppliedState checks that the apply lives, under its transaction's locks, and reads the
  // state once (an unreadable one is a 422 there): a state of many megabytes is not parsed twice.
  r.put(`${BASE}/state`, secret, applyOnly, rawBody, async (req: Request<Params>, res) => {
    const result = await jobsRepo.storeAppliedState(deps.db, req.params.runId, bodyOf(req));
    if (!result.ok) {
      if (result.reason === "not_found") throw notFound();
      if (result.reason === "already_uploaded") throw conflict("This apply already uploaded its state.");
      throw phaseEnded(result.runStatus, "apply");
    }
    res.status(result.created ? 201 : 200).json({ "state-version-id": result.stateVersionId });
  });

  // The live log while the phase runs, for a runner without Redis (an agent): the chunk is
  // appended to the key the log-read-url serves; `?reset=1` starts it afresh (a re-run phase).
  r.post(`${BASE}/logs/:logPhase/live`, capability, rawBody, async (req: Request<Params & { logPhase: string }>, res) => {
    const phase = phaseOf(res);
    if (req.params.logPhase !== phase) throw notFound();
    const key = liveLogKey(phase === "plan" ? planIdFor(req.params.runId) : applyIdFor(req.params.runId));
    const chunk = bodyOf(req);
    const tx = deps.redis.multi();
    if (req.query.reset === "1") tx.del(key);
    if (chunk.length > 0) tx.append(key, chunk);
    await tx.pexpire(key, LIVE_LOG_TTL_MS).exec();
    res.status(204).end();
  });

  // A phase writes its own log only.
  r.put(`${BASE}/logs/:logPhase`, secret, rawBody, async (req: Request<Params & { logPhase: string }>, res) => {
    const phase = phaseOf(res);
    if (req.params.logPhase !== phase) throw notFound();
    refuseRepeatedUpload(await jobsRepo.storePhaseLog(deps.db, req.params.runId, phase, bodyOf(req)), "final log", phase);
    res.status(204).end();
  });

  return r;
}

/** The job spec of a run whose phase lives: what terraform runs with, sensitive values decrypted. */
function specOf(run: jobsRepo.JobRun, deps: GatewayDeps): JobSpec {
  const spec: JobSpec = {
    runId: run.id,
    planId: planIdFor(run.id),
    applyId: applyIdFor(run.id),
    run: {
      isDestroy: run.isDestroy,
      refresh: run.refresh,
      refreshOnly: run.refreshOnly,
      planOnly: run.planOnly,
      savePlan: run.savePlan,
      allowEmptyApply: run.allowEmptyApply,
      debuggingMode: run.debuggingMode,
      terraformVersion: run.terraformVersion,
      targetAddrs: run.targetAddrs,
      replaceAddrs: run.replaceAddrs,
      variables: runVariables(run.variables),
    },
    workspace: {
      id: run.workspace.id,
      name: run.workspace.name,
      workingDirectory: run.workspace.workingDirectory,
      terraformVersion: run.workspace.terraformVersion,
      structuredRunOutput: run.workspace.structuredRunOutputEnabled,
    },
    // The worker must hand sensitive values to terraform; they travel only over this capability URL.
    variables: run.workspace.variables.map((v) => ({
      key: v.key,
      value: v.sensitive ? decryptValue(v.value, deps.keys) : v.value,
      category: v.category,
      hcl: v.hcl,
      sensitive: v.sensitive,
    })),
  };
  return jobSpec.parse(spec);
}

/** runs.variables holds [{key, value}] with HCL literal values; anything else is skipped. */
function runVariables(raw: unknown): Array<{ key: string; value: string }> {
  if (!Array.isArray(raw)) return [];
  const out: Array<{ key: string; value: string }> = [];
  for (const v of raw) {
    if (typeof v === "object" && v !== null && typeof (v as { key?: unknown }).key === "string" && typeof (v as { value?: unknown }).value === "string") {
      out.push({ key: (v as { key: string }).key, value: (v as { value: string }).value });
    }
  }
  return out;
}
