import type { phasesRepo } from "@tarmac/db";
import type { PriceTable } from "./price-table";

type CostEstimateResult = phasesRepo.CostEstimateResult;

interface ResourceChange {
  type?: unknown;
  mode?: unknown;
  change?: { actions?: unknown };
}

const money = (value: number): string => value.toFixed(2);

/**
 * Estimates the monthly cost before and after a plan from its JSON form
 * (`terraform show -json`: resource_changes). A resource exists before the plan unless
 * it is being created, and after it unless it is being deleted.
 */
export function estimateCost(planJson: Buffer | null, prices: PriceTable): CostEstimateResult {
  const empty = { matchedResourcesCount: 0, unmatchedResourcesCount: 0, resourcesCount: 0, priorMonthlyCost: "0.00", proposedMonthlyCost: "0.00", deltaMonthlyCost: "0.00" };
  if (!planJson) return { status: "errored", ...empty, errorMessage: "the plan has no JSON form to estimate from" };
  let doc: unknown;
  try {
    doc = JSON.parse(planJson.toString("utf8"));
  } catch {
    return { status: "errored", ...empty, errorMessage: "the JSON plan is not valid JSON" };
  }
  const changes = (doc as { resource_changes?: unknown }).resource_changes;
  const list: ResourceChange[] = Array.isArray(changes) ? (changes as ResourceChange[]) : [];
  let matched = 0;
  let unmatched = 0;
  let prior = 0;
  let proposed = 0;
  for (const rc of list) {
    if (rc.mode !== undefined && rc.mode !== "managed") continue;
    const type = typeof rc.type === "string" ? rc.type : "";
    const actions = Array.isArray(rc.change?.actions) ? (rc.change.actions as unknown[]) : [];
    const price = Object.prototype.hasOwnProperty.call(prices, type) ? prices[type] : undefined;
    if (price === undefined) {
      unmatched++;
      continue;
    }
    matched++;
    const isCreate = actions.length === 1 && actions[0] === "create";
    const isDelete = actions.length === 1 && actions[0] === "delete";
    if (!isCreate) prior += price;
    if (!isDelete) proposed += price;
  }
  return {
    status: "finished",
    matchedResourcesCount: matched,
    unmatchedResourcesCount: unmatched,
    resourcesCount: matched + unmatched,
    priorMonthlyCost: money(prior),
    proposedMonthlyCost: money(proposed),
    deltaMonthlyCost: money(proposed - prior),
    errorMessage: null,
  };
}
