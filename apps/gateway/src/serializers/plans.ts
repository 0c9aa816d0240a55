import { CAPABILITY_TTL_MS, capabilityPaths, mintCapability, type KeyRing } from "@tarmac/contracts";
import type { PlanModel } from "@tarmac/db";
import { toMany, type Resource } from "@tarmac/jsonapi";

export interface PhaseSerializeContext {
  publicUrl: string;
  keys: KeyRing;
  now: () => Date;
}

const FINAL_PHASE_STATUSES: ReadonlySet<string> = new Set(["finished", "errored", "canceled", "unreachable"]);

/**
 * The absolute capability URL of a phase's log, minted afresh on every read. It exists from
 * creation: go-tfe errors on an empty one (notes §3.4) and replaces its query string, so the
 * secret is in the path (§0.6). go-tfe polls the URL it read until the phase is final, so a
 * phase still to finish gets one that outlives it.
 */
export function logReadUrl(phaseId: string, phaseStatus: string, ctx: PhaseSerializeContext): string {
  const ttlMs = FINAL_PHASE_STATUSES.has(phaseStatus) ? CAPABILITY_TTL_MS.log : CAPABILITY_TTL_MS.liveLog;
  return ctx.publicUrl + capabilityPaths.log(phaseId, mintCapability(ctx.keys, "log", phaseId, ttlMs, ctx.now()));
}

/**
 * Where a phase ran: `{mode: "remote"}` on Tarmac's workers, or the agent's
 * `{mode: "agent", agent-id, agent-name, agent-pool-id, agent-pool-name}` recorded when an agent
 * took the job.
 */
export function executionDetails(stored: unknown): Record<string, string> {
  if (typeof stored === "object" && stored !== null && !Array.isArray(stored) && (stored as { mode?: unknown }).mode === "agent") {
    return Object.fromEntries(Object.entries(stored).filter((e): e is [string, string] => typeof e[1] === "string"));
  }
  return { mode: "remote" };
}

export const planPath = (id: string): string => `/api/v2/plans/${id}`;

/**
 * A `plans` resource (notes §3.1). `structured-run-output-enabled` stays false here: the CLI reads
 * the workspace's setting (which makes the worker write JSON-lines logs), not the plan's.
 */
export function serializePlan(plan: PlanModel, ctx: PhaseSerializeContext): Resource {
  const self = planPath(plan.id);
  return {
    id: plan.id,
    type: "plans",
    attributes: {
      status: plan.status,
      "status-timestamps": (plan.statusTimestamps ?? {}) as Record<string, string>,
      "has-changes": plan.hasChanges,
      "resource-additions": plan.resourceAdditions,
      "resource-changes": plan.resourceChanges,
      "resource-destructions": plan.resourceDestructions,
      "resource-imports": plan.resourceImports,
      "generated-configuration": false,
      "log-read-url": logReadUrl(plan.id, plan.status, ctx),
      "execution-details": executionDetails(plan.executionDetails),
      "structured-run-output-enabled": false,
      actions: { "is-exportable": false },
      permissions: { "can-export": false },
    },
    relationships: { "state-versions": toMany("state-versions", []) },
    links: {
      self,
      "json-output": `${self}/json-output`,
      "json-output-redacted": `${self}/json-output-redacted`,
    },
  };
}
