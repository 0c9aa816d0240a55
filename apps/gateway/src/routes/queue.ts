import { Router } from "express";
import { runLists } from "@tarmac/db";
import { flattenQuery, paginate, parseInclude } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { principalOf } from "../http/auth";
import { sendDocument } from "../http/respond";
import { guards, organizationOf } from "../http/requires";
import { accessIn, parseListPage, visibilityIn, visibleWorkspaceIds } from "../http/run-visibility";
import { buildRunDocuments } from "../services/run-documents";

/**
 * The organization's execution queue and capacity. The CLI and the tfe provider poll both while a
 * run is pending (notes §7.1, §9). Queue items are oldest first; `position-in-queue` of a run
 * waiting for capacity (queuing, plan_queued, apply_queued) counts the organization's waiting runs
 * created before it, and is 0 for runs planning or applying.
 */
export function queueRouter(deps: GatewayDeps): Router {
  const router = Router();
  const requires = guards(deps);

  router.get("/organizations/:name/runs/queue", requires("organization", "member"), async (req, res) => {
    const context = organizationOf(res);
    const { organization } = context;
    const visibility = await visibilityIn(deps.db, context);
    const query = req.query as Record<string, unknown>;
    const page = parseListPage(query);
    const { rows, total, positions } = await runLists.listOrganizationQueue(deps.db, organization.id, visibleWorkspaceIds(visibility), page);
    const { data, included } = await buildRunDocuments(deps, rows, {
      include: parseInclude(query),
      principal: principalOf(req),
      accessOf: (run) => accessIn(visibility, run.workspaceId),
      positions,
    });
    const base = `${deps.publicUrl}/api/v2/organizations/${encodeURIComponent(organization.name)}/runs/queue`;
    const { meta, links } = paginate(page, total, base, flattenQuery(query));
    sendDocument(res, 200, { data, ...(included.length > 0 ? { included } : {}), links, meta });
  });

  router.get("/organizations/:name/capacity", requires("organization", "member"), async (req, res) => {
    const { organization } = organizationOf(res);
    const capacity = await runLists.organizationCapacity(deps.db, organization.id);
    sendDocument(res, 200, {
      data: {
        id: organization.name,
        type: "organization-capacity",
        attributes: { pending: capacity.pending, running: capacity.running },
        links: { self: `/api/v2/organizations/${encodeURIComponent(organization.name)}/capacity` },
      },
    });
  });

  return router;
}
