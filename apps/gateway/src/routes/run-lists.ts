import { Router, type Request } from "express";
import { runLists } from "@tarmac/db";
import {
  isRunStatus,
  RUN_OPERATIONS,
  statusesInGroup,
  STATUS_GROUPS,
  type RunStatus,
  type StatusGroup,
} from "@tarmac/domain";
import {
  flattenQuery,
  paginate,
  paginateNextPrev,
  parseInclude,
  parseListParam,
  parseStringParam,
} from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { principalOf } from "../http/auth";
import { sendDocument } from "../http/respond";
import { guards, organizationOf, workspaceScopeOf } from "../http/requires";
import { accessIn, parseListPage, visibilityIn, visibleWorkspaceIds } from "../http/run-visibility";
import { buildRunDocuments } from "../services/run-documents";

/** PostgreSQL text cannot hold NUL; such a value matches nothing anyway. */
const clean = (s: string): string => s.replace(/\u0000/g, "");

const nonEmpty = (list: string[] | undefined): string[] | undefined =>
  list && list.length > 0 ? list.map(clean) : undefined;

const cleanString = (s: string | undefined): string | undefined => (s === undefined ? undefined : clean(s));

/**
 * The filters and searches shared by both run lists. Unknown operations, statuses or status groups
 * are not errors: they match nothing (200 with an empty page), as a filter on a value no run has.
 */
export function parseRunListFilter(query: Record<string, unknown>, organizationWide: boolean): runLists.RunListFilter {
  const filter: runLists.RunListFilter = {};
  const operations = nonEmpty(parseListParam(query, "filter", "operation"));
  if (operations) filter.operations = operations.filter((o) => (RUN_OPERATIONS as readonly string[]).includes(o));
  else filter.excludePlanOnly = !organizationWide;
  let statuses: RunStatus[] | undefined;
  const statusList = nonEmpty(parseListParam(query, "filter", "status"));
  if (statusList) statuses = statusList.filter(isRunStatus);
  const group = parseStringParam(query, "filter", "status_group");
  if (group !== undefined && group !== "") {
    const inGroup = (STATUS_GROUPS as readonly string[]).includes(group) ? statusesInGroup(group as StatusGroup) : [];
    statuses = statuses ? statuses.filter((s) => inGroup.includes(s)) : [...inGroup];
  }
  if (statuses) filter.statuses = statuses;
  const pools = nonEmpty(parseListParam(query, "filter", "agent_pool_names"));
  if (pools) filter.agentPoolNames = pools;
  const sources = nonEmpty(parseListParam(query, "filter", "source"));
  if (sources) filter.sources = sources;
  if (organizationWide) {
    const names = nonEmpty(parseListParam(query, "filter", "workspace_names"));
    if (names) filter.workspaceNames = names;
  }
  const user = cleanString(parseStringParam(query, "search", "user"));
  if (user) filter.user = user;
  const commit = cleanString(parseStringParam(query, "search", "commit"));
  if (commit) filter.commit = commit;
  const basic = cleanString(parseStringParam(query, "search", "basic"));
  if (basic) filter.basic = basic;
  return filter;
}

function queryOf(req: Request): Record<string, unknown> {
  return req.query as Record<string, unknown>;
}

export function runListsRouter(deps: GatewayDeps): Router {
  const router = Router();
  const requires = guards(deps);

  router.get("/workspaces/:id/runs", requires("workspace-scope", "can-read-run"), async (req, res) => {
    const { workspace, access } = workspaceScopeOf(res);
    const query = queryOf(req);
    const page = parseListPage(query);
    const { rows, total, documents } = await runLists.listWorkspaceRuns(deps.db, workspace.id, parseRunListFilter(query, false), page);
    const { data, included } = await buildRunDocuments(deps, rows, {
      include: parseInclude(query),
      principal: principalOf(req),
      accessOf: () => access,
      // The default view reads what the documents show with the page itself.
      ...(documents
        ? {
            known: {
              extras: new Map(documents.map((d) => [d.run.id, d.extras])),
              taskStageIds: new Map(documents.map((d) => [d.run.id, d.taskStageIds])),
            },
          }
        : {}),
    });
    const { meta, links } = paginate(page, total, `${deps.publicUrl}/api/v2/workspaces/${workspace.id}/runs`, flattenQuery(query));
    sendDocument(res, 200, { data, ...(included.length > 0 ? { included } : {}), links, meta });
  });

  // HCP leaves totals out of this list (notes §1.3): one extra row says whether a next page exists.
  router.get("/organizations/:name/runs", requires("organization", "member"), async (req, res) => {
    const context = organizationOf(res);
    const visibility = await visibilityIn(deps.db, context);
    const query = queryOf(req);
    const page = parseListPage(query);
    const { rows, hasMore } = await runLists.listOrganizationRuns(
      deps.db,
      context.organization.id,
      visibleWorkspaceIds(visibility),
      parseRunListFilter(query, true),
      page,
    );
    const { data, included } = await buildRunDocuments(deps, rows, {
      include: parseInclude(query),
      principal: principalOf(req),
      accessOf: (run) => accessIn(visibility, run.workspaceId),
    });
    const base = `${deps.publicUrl}/api/v2/organizations/${encodeURIComponent(context.organization.name)}/runs`;
    const { meta, links } = paginateNextPrev(page, hasMore, base, flattenQuery(query));
    sendDocument(res, 200, { data, ...(included.length > 0 ? { included } : {}), links, meta });
  });

  return router;
}
