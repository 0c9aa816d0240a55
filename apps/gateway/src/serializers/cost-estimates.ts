import type { CostEstimateModel } from "@tarmac/db";
import type { Resource } from "@tarmac/jsonapi";

/** A `cost-estimates` resource; monetary values are decimal strings, as HCP sends them. */
export function serializeCostEstimate(ce: CostEstimateModel): Resource {
  return {
    id: ce.id,
    type: "cost-estimates",
    attributes: {
      status: ce.status,
      "status-timestamps": (ce.statusTimestamps ?? {}) as Record<string, string>,
      "matched-resources-count": ce.matchedResourcesCount,
      "unmatched-resources-count": ce.unmatchedResourcesCount,
      "resources-count": ce.resourcesCount,
      "prior-monthly-cost": ce.priorMonthlyCost,
      "proposed-monthly-cost": ce.proposedMonthlyCost,
      "delta-monthly-cost": ce.deltaMonthlyCost,
      "error-message": ce.errorMessage,
    },
    relationships: {},
    links: { self: `/api/v2/cost-estimates/${ce.id}` },
  };
}
