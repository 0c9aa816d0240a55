import type { runsRead } from "@tarmac/db";
import {
  applyIdFor,
  planIdFor,
  runActions,
  runFactsOf,
  runPermissions,
  type TokenKind,
  type WorkspaceAccess,
} from "@tarmac/domain";
import { time, toMany, toOne, type Resource } from "@tarmac/jsonapi";

export type RunRow = runsRead.RunRow;
export type RunExtras = runsRead.RunExtras;

export interface RunSerializeContext {
  /** The caller's access on the run's workspace; drives `permissions`. */
  access: WorkspaceAccess | null;
  tokenKind: TokenKind;
  now: Date;
}

export const runPath = (id: string): string => `/api/v2/runs/${id}`;


const orNull = (list: string[]): string[] | null => (list.length === 0 ? null : list);

function runVariables(raw: unknown): { key: string; value: string }[] {
  if (!Array.isArray(raw)) return [];
  return raw.filter(
    (v): v is { key: string; value: string } =>
      typeof v === "object" && v !== null && typeof (v as { key?: unknown }).key === "string" && typeof (v as { value?: unknown }).value === "string",
  ).map((v) => ({ key: v.key, value: v.value }));
}

/**
 * A `runs` resource (notes §2.1, §2.5). `actions` and `permissions` come from the same domain
 * predicates that guard the actions; clients dereference both without a nil check (notes §0.2).
 */
export function serializeRun(run: RunRow, extras: RunExtras, ctx: RunSerializeContext): Resource {
  const self = runPath(run.id);
  const attributes: Record<string, unknown> = {
    actions: runActions(runFactsOf(run), ctx.now),
    "allow-config-generation": run.allowConfigGeneration,
    "allow-empty-apply": run.allowEmptyApply,
    "auto-apply": run.autoApply,
    "canceled-at": time(run.canceledAt),
    "created-at": time(run.createdAt),
    "debugging-mode": run.debuggingMode,
    "has-changes": run.hasChanges,
    "invoke-action-addrs": null,
    "is-destroy": run.isDestroy,
    message: run.message,
    permissions: runPermissions(ctx.access, ctx.tokenKind),
    "plan-only": run.planOnly,
    "policy-paths": null,
    "position-in-queue": extras.positionInQueue,
    refresh: run.refresh,
    "refresh-only": run.refreshOnly,
    "replace-addrs": orNull(run.replaceAddrs),
    "save-plan": run.savePlan,
    source: run.source,
    status: run.status,
    "status-timestamps": (run.statusTimestamps ?? {}) as Record<string, string>,
    "target-addrs": orNull(run.targetAddrs),
    "terraform-version": run.terraformVersion,
    "trigger-reason": run.triggerReason,
    "triggering-source-name": null,
    "updated-at": time(run.updatedAt),
    variables: runVariables(run.variables),
  };
  // Present only once a cancel was requested (runs API, force-cancel).
  if (run.forceCancelAvailableAt) attributes["force-cancel-available-at"] = time(run.forceCancelAvailableAt);
  return {
    id: run.id,
    type: "runs",
    attributes,
    relationships: {
      workspace: toOne("workspaces", run.workspaceId),
      apply: toOne("applies", applyIdFor(run.id), `${self}/apply`),
      plan: toOne("plans", planIdFor(run.id), `${self}/plan`),
      "configuration-version": toOne("configuration-versions", run.configurationVersionId),
      "created-by": toOne("users", run.createdById),
      "confirmed-by": toOne("users", run.confirmedById),
      "canceled-by": toOne("users", run.canceledById),
      // A non-null estimate makes the CLI poll /cost-estimates/:id (notes §0.10).
      "cost-estimate": toOne("cost-estimates", extras.costEstimateId),
      "run-events": toMany("run-events", extras.eventIds, `${self}/run-events`),
      "task-stages": toMany("task-stages", [], `${self}/task-stages`),
      "policy-checks": toMany("policy-checks", [], `${self}/policy-checks`),
      comments: toMany("comments", extras.commentIds, `${self}/comments`),
    },
    links: { self },
  };
}
