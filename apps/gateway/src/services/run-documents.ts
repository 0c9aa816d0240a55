import type { UserModel } from "@tarmac/db";
import { runsRead } from "@tarmac/db";
import type { WorkspaceAccess } from "@tarmac/domain";
import { addIncluded, type Resource } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import type { Principal } from "../http/auth";
import { serializeApply } from "../serializers/applies";
import { serializeConfigurationVersion } from "../serializers/configuration-versions";
import { serializeCostEstimate } from "../serializers/cost-estimates";
import { serializePlan } from "../serializers/plans";
import { serializeRun, type RunRow } from "../serializers/runs";
import { serializeUser } from "../serializers/users";
import { serializeWorkspace } from "../serializers/workspaces";
import { taskStagesOfRuns } from "./run-tasks";

/** Users as the principal may see them: the email only to themself and to site admins. */
export function serializeUserFor(principal: Principal) {
  const selfId = principal.kind === "user" ? principal.user.id : null;
  const isSiteAdmin = principal.kind === "user" && principal.user.isSiteAdmin;
  return (user: UserModel) => serializeUser(user, { showEmail: isSiteAdmin || user.id === selfId, isSelf: user.id === selfId });
}

/** Include paths a run accepts; anything else is ignored, never a 400 (notes §0.3). */
function wants(include: Set<string>, path: string): boolean {
  if (include.has(path)) return true;
  for (const i of include) if (i.startsWith(`${path}.`)) return true;
  return false;
}

export interface RunDocumentOptions {
  include: Set<string>;
  principal: Principal;
  /** Access on each run's workspace (permissions, and the workspace include). */
  accessOf: (run: RunRow) => WorkspaceAccess | null;
  /** The organization queue reports its own positions. */
  positions?: Map<string, number>;
  /** What the documents show beyond the rows, when already known (a run just written): not read again. */
  known?: { extras: Map<string, runsRead.RunExtras>; taskStageIds: Map<string, string[]> };
}

/**
 * Serializes a page of runs with their `included` resources. Everything is loaded in batched
 * queries (a fixed number per page, never per run).
 */
export async function buildRunDocuments(
  deps: GatewayDeps,
  runs: readonly RunRow[],
  opts: RunDocumentOptions,
): Promise<{ data: Resource[]; included: Resource[] }> {
  const db = deps.db;
  const now = deps.now();
  const tokenKind = opts.principal.kind;
  const extras = opts.known?.extras ?? (await runsRead.loadRunExtras(db, runs));
  const data = runs.map((run) => {
    const e = extras.get(run.id)!;
    const positionInQueue = opts.positions ? (opts.positions.get(run.id) ?? 0) : e.positionInQueue;
    return serializeRun(run, { ...e, positionInQueue }, { access: opts.accessOf(run), tokenKind, now });
  });
  const included: Resource[] = [];
  const { include } = opts;
  if (runs.length === 0) return { data, included };
  // The CLI reads the run's stages right after creating it (`?include=task_stages`) and waits on them.
  // Known stage ids spare the read unless the stages themselves are included.
  const includeStages = wants(include, "task_stages");
  const knownStages = opts.known?.taskStageIds;
  const stages =
    knownStages && !(includeStages && runs.some((r) => (knownStages.get(r.id) ?? []).length > 0))
      ? { idsByRun: knownStages, included: [] as Resource[] }
      : await taskStagesOfRuns(deps, opts.principal, runs, includeStages);
  for (const resource of data) {
    const ids = stages.idsByRun.get(resource.id) ?? [];
    const relationship = resource.relationships?.["task-stages"];
    if (relationship && ids.length > 0) relationship.data = ids.map((id) => ({ type: "task-stages", id }));
  }
  addIncluded(included, stages.included);
  if (include.size === 0) return { data, included };
  const runIds = runs.map((r) => r.id);
  const phaseCtx = { publicUrl: deps.publicUrl, keys: deps.keys, now: deps.now };
  if (wants(include, "plan") || wants(include, "apply")) {
    const { plans, applies } = await runsRead.findPlansAndApplies(db, runIds);
    if (wants(include, "plan")) addIncluded(included, plans.map((p) => serializePlan(p, phaseCtx)));
    if (wants(include, "apply")) {
      const svs = await runsRead.stateVersionIdsByRun(db, runIds);
      addIncluded(included, applies.map((a) => serializeApply(a, svs.get(a.runId) ?? [], phaseCtx)));
    }
  }
  if (wants(include, "created_by")) {
    const users = await runsRead.findUsers(db, runs.map((r) => r.createdById));
    addIncluded(included, users.map(serializeUserFor(opts.principal)));
  }
  if (wants(include, "cost_estimate")) {
    const estimates = await runsRead.findCostEstimates(db, runIds);
    addIncluded(included, estimates.map(serializeCostEstimate));
  }
  if (wants(include, "configuration_version")) {
    const cvs = await runsRead.findConfigurationVersions(db, runs.map((r) => r.configurationVersionId));
    addIncluded(included, cvs.map((cv) => serializeConfigurationVersion(cv)));
  }
  if (wants(include, "workspace")) {
    const views = await runsRead.findWorkspaceViews(db, runs.map((r) => r.workspaceId));
    const accessByWorkspace = new Map(runs.map((r) => [r.workspaceId, opts.accessOf(r)]));
    addIncluded(
      included,
      views.map((ws) => serializeWorkspace(ws, { access: accessByWorkspace.get(ws.id) ?? null, tokenKind })),
    );
  }
  // tf_policy_evaluations and configuration_version.ingress_attributes have nothing to include.
  return { data, included };
}
