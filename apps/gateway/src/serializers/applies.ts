import type { ApplyModel } from "@tarmac/db";
import { toMany, type Resource } from "@tarmac/jsonapi";
import { executionDetails, logReadUrl, type PhaseSerializeContext } from "./plans";

export const applyPath = (id: string): string => `/api/v2/applies/${id}`;

/** An `applies` resource (notes §3.3); `state-versions` lists what the apply wrote. */
export function serializeApply(apply: ApplyModel, stateVersionIds: readonly string[], ctx: PhaseSerializeContext): Resource {
  return {
    id: apply.id,
    type: "applies",
    attributes: {
      status: apply.status,
      "status-timestamps": (apply.statusTimestamps ?? {}) as Record<string, string>,
      "resource-additions": apply.resourceAdditions,
      "resource-changes": apply.resourceChanges,
      "resource-destructions": apply.resourceDestructions,
      "resource-imports": apply.resourceImports,
      "log-read-url": logReadUrl(apply.id, apply.status, ctx),
      "execution-details": executionDetails(apply.executionDetails),
      "structured-run-output-enabled": false,
    },
    relationships: { "state-versions": toMany("state-versions", stateVersionIds) },
    links: { self: applyPath(apply.id) },
  };
}
