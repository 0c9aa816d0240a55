import { Router } from "express";
import { runLists } from "@tarmac/db";
import { flattenQuery, paginate, parseInclude } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { principalOf } from "../http/auth";
import { sendDocument } from "../http/respond";
import { accessIn, organizationVisibility, parseListPage, visibleWorkspaceIds } from "../http/run-visibility";
import { buildRunDocuments } from "../services/run-documents";

/**
 * The organization's execution queue and capacity. The CLI and the tfe provider poll both while a
 * run is pending (notes §7.1, §9). Queue items are oldest first; `position-in-queue` of a run
 * waiting for capacity (queuing, plan_queued, apply_queued) counts the organization's waiting runs
 * created before it, and is 0 for runs planning or applying.
 */
export function queueRouter(deps: GatewayDeps): Router {
  const router = Router();

  router.get("/organizations/:name/runs/queue", async (req, res) => {
    const principal = principalOf(req);
    const { organization, visibility } = await organizationVisibility(deps.db, principal, String(req.params.name));
    const query = req.query as Record<string, unknown>;
    const page = parseListPage(query);
    const { rows, total, positions } = await runLists.listOrganizationQueue(deps.db, organization.id, visibleWorkspaceIds(visibility), page);
    const { data, included } = await buildRunDocuments(deps, rows, {
      include: parseInclude(query),
      principal,
      accessOf: (run) => accessIn(visibility, run.workspaceId),
      positions,
    });
    const base = `${deps.publicUrl}/api/v2/organizations/${encodeURIComponent(organization.name)}/runs/queue`;
    const { meta, links } = paginate(page, total, base, flattenQuery(query));
    sendDocument(res, 200, { data, ...(included.length > 0 ? { included } : {}), links, meta });
  });

  router.get("/organizations/:name/capacity", async (req, res) => {
    const { organization } = await organizationVisibility(deps.db, principalOf(req), String(req.params.name));
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
