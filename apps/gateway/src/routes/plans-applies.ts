import { Router, type Request, type Response } from "express";
import { runsRead } from "@tarmac/db";
import { applyIdFor, notFound, planIdFor, runIdForApply, runIdForPlan, unprocessable, type WorkspaceAccess } from "@tarmac/domain";
import { buildRedactedPlan, PlanDocumentError } from "@tarmac/terraform";
import type { GatewayDeps } from "../deps";
import { principalOf, refuseOrganizationToken } from "../http/auth";
import { sendDocument, sendEmpty } from "../http/respond";
import { serializeApply } from "../serializers/applies";
import { serializePlan } from "../serializers/plans";
import { loadRunForPrincipal } from "../http/run-access";

/**
 * Plans and applies (notes §3): read through their run's workspace access. The JSON plan is served
 * inline (HCP redirects to a temporary URL; go-tfe and the CLI follow either).
 */
export function plansAppliesRouter(deps: GatewayDeps): Router {
  const router = Router();
  const phaseCtx = { publicUrl: deps.publicUrl, keys: deps.keys, now: deps.now };

  async function sendPlan(req: Request, res: Response, runId: string | null): Promise<void> {
    if (runId === null) throw notFound("plan not found");
    const { run } = await loadRunForPrincipal(deps, principalOf(req), runId);
    const plan = await runsRead.findPlan(deps.db, planIdFor(run.id));
    if (!plan) throw notFound("plan not found");
    sendDocument(res, 200, { data: serializePlan(plan, phaseCtx) });
  }

  async function sendApply(req: Request, res: Response, runId: string | null): Promise<void> {
    if (runId === null) throw notFound("apply not found");
    const { run } = await loadRunForPrincipal(deps, principalOf(req), runId);
    const apply = await runsRead.findApply(deps.db, applyIdFor(run.id));
    if (!apply) throw notFound("apply not found");
    const stateVersions = await runsRead.stateVersionIdsByRun(deps.db, [run.id]);
    sendDocument(res, 200, { data: serializeApply(apply, stateVersions.get(run.id) ?? [], phaseCtx) });
  }

  /** 204 until the plan has finished and its JSON exists, then the bytes terraform wrote. */
  async function sendJsonPlan(req: Request, res: Response, runId: string | null, minimum: WorkspaceAccess): Promise<void> {
    if (runId === null) throw notFound("plan not found");
    const principal = principalOf(req);
    if (minimum === "admin") refuseOrganizationToken(principal);
    const { run } = await loadRunForPrincipal(deps, principal, runId, minimum);
    const planId = planIdFor(run.id);
    const plan = await runsRead.findPlan(deps.db, planId);
    if (!plan) throw notFound("plan not found");
    const bytes = plan.status === "finished" ? await runsRead.planJsonBytes(deps.db, planId) : null;
    if (bytes === null) {
      sendEmpty(res, 204);
      return;
    }
    res.status(200).type("application/json").send(bytes);
  }

  /**
   * terraform's jsonformat.Plan: the JSON plan with sensitive values redacted, plus the provider
   * schemas the CLI renders it with (see @tarmac/terraform redacted-plan.ts). 204 until finished.
   */
  async function sendRedactedPlan(req: Request, res: Response, runId: string | null): Promise<void> {
    if (runId === null) throw notFound("plan not found");
    const { run } = await loadRunForPrincipal(deps, principalOf(req), runId, "can-read-run");
    const planId = planIdFor(run.id);
    const plan = await runsRead.findPlan(deps.db, planId);
    if (!plan) throw notFound("plan not found");
    const parts = plan.status === "finished" ? await runsRead.planDocumentParts(deps.db, planId) : null;
    if (!parts?.planJson) {
      sendEmpty(res, 204);
      return;
    }
    let doc: Record<string, unknown>;
    try {
      doc = buildRedactedPlan(parts.planJson, parts.providerSchemas);
    } catch (err) {
      if (err instanceof PlanDocumentError) throw unprocessable(`The redacted plan is not available: ${err.message}.`);
      throw err;
    }
    res.status(200).type("application/json").send(JSON.stringify(doc));
  }

  router.get("/plans/:id", (req, res) => sendPlan(req, res, runIdForPlan(String(req.params.id))));
  router.get("/runs/:id/plan", (req, res) => sendPlan(req, res, String(req.params.id)));
  router.get("/applies/:id", (req, res) => sendApply(req, res, runIdForApply(String(req.params.id))));
  router.get("/runs/:id/apply", (req, res) => sendApply(req, res, String(req.params.id)));
  // The full JSON plan needs workspace admin and refuses organization tokens (notes §3.2).
  router.get("/plans/:id/json-output", (req, res) => sendJsonPlan(req, res, runIdForPlan(String(req.params.id)), "admin"));
  router.get("/runs/:id/plan/json-output", (req, res) => sendJsonPlan(req, res, String(req.params.id), "admin"));
  // The CLI fetches the redacted plan to render it for anyone who can read the run.
  router.get("/plans/:id/json-output-redacted", (req, res) => sendRedactedPlan(req, res, runIdForPlan(String(req.params.id))));

  return router;
}
