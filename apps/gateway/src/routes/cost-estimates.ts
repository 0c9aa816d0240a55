import { Router } from "express";
import { runsRead } from "@tarmac/db";
import { isId, notFound } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { principalOf } from "../http/auth";
import { sendDocument } from "../http/respond";
import { serializeCostEstimate } from "../serializers/cost-estimates";
import { loadRunForPrincipal } from "../http/run-access";

/** Cost estimates, read through their run's workspace access. */
export function costEstimatesRouter(deps: GatewayDeps): Router {
  const router = Router();
  router.get("/cost-estimates/:id", async (req, res) => {
    const id = String(req.params.id);
    if (!isId("ce", id)) throw notFound("cost estimate not found");
    const estimate = await runsRead.findCostEstimate(deps.db, id);
    if (!estimate) throw notFound("cost estimate not found");
    await loadRunForPrincipal(deps, principalOf(req), estimate.runId);
    sendDocument(res, 200, { data: serializeCostEstimate(estimate) });
  });
  return router;
}
