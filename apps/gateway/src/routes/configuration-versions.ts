import { Router, type Request, type Response } from "express";
import { z } from "zod";
import { configurationVersionsRepo } from "@tarmac/db";
import { notFound, permits, type Permission, type WorkspaceAccess } from "@tarmac/domain";
import { flattenQuery, paginate, parsePage } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { principalOf, type Principal } from "../http/auth";
import { guards, workspaceOf } from "../http/requires";
import { parseBody } from "../http/request-body";
import { sendDocument, sendEmpty } from "../http/respond";
import { loadWorkspaceForPrincipal } from "../http/workspace-access";
import { serializeConfigurationVersion, uploadUrl } from "../serializers/configuration-versions";
import { archiveConfigurationVersion, createConfigurationVersion } from "../services/configuration-versions";

const createBody = z
  .object({
    data: z
      .object({
        type: z.literal("configuration-versions").optional(),
        attributes: z
          .object({
            "auto-queue-runs": z.boolean().optional(),
            speculative: z.boolean().optional(),
            provisional: z.boolean().optional(),
          })
          .nullish(),
      })
      .optional(),
  })
  .nullish();

type ConfigurationVersionRow = configurationVersionsRepo.ConfigurationVersionRow;

/** A configuration version seen through its workspace: no access, or too little, is a 404. */
async function loadConfigurationVersion(
  deps: GatewayDeps,
  principal: Principal,
  id: string,
  required: Permission | WorkspaceAccess = "can-read-run",
): Promise<ConfigurationVersionRow> {
  const cv = await configurationVersionsRepo.findConfigurationVersion(deps.db, id);
  if (!cv) throw notFound("configuration version not found");
  await loadWorkspaceForPrincipal(deps, principal, cv.workspaceId, required);
  return cv;
}

function sendArchive(res: Response, archive: Buffer | null): void {
  if (!archive) throw notFound("the configuration version has no uploaded archive");
  res.status(200).type("application/x-gzip").send(archive);
}

/** Configuration versions (notes §4); the upload itself is a capability URL (routes/uploads.ts). */
export function configurationVersionsRouter(deps: GatewayDeps): Router {
  const router = Router();
  const requires = guards(deps);

  // Organization tokens cannot create configuration versions (notes §8): they never hold can-queue-run.
  router.post("/workspaces/:id/configuration-versions", requires("workspace", "can-queue-run"), async (req, res) => {
    const principal = principalOf(req);
    const { workspace } = workspaceOf(res);
    const attrs = parseBody(createBody, req.body)?.data?.attributes ?? {};
    const cv = await createConfigurationVersion(deps, principal, workspace.id, attrs);
    sendDocument(res, 201, { data: serializeConfigurationVersion(cv, { uploadUrl: uploadUrl(cv.id, deps) }) });
  });

  router.get("/workspaces/:id/configuration-versions", requires("workspace", "can-read-run"), async (req, res) => {
    const { workspace } = workspaceOf(res);
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const { items, total } = await configurationVersionsRepo.listConfigurationVersions(deps.db, workspace.id, page);
    sendDocument(res, 200, {
      data: items.map((cv) => serializeConfigurationVersion(cv)),
      ...paginate(page, total, `${deps.publicUrl}/api/v2/workspaces/${workspace.id}/configuration-versions`, flattenQuery(query)),
    });
  });

  // include=ingress_attributes and include=run are accepted and ignored: API uploads have no
  // ingress attributes, and unknown includes must never fail (notes §0.3).
  router.get("/configuration-versions/:id", async (req: Request<{ id: string }>, res) => {
    const principal = principalOf(req);
    const cv = await configurationVersionsRepo.findConfigurationVersion(deps.db, req.params.id);
    if (!cv) throw notFound("configuration version not found");
    const { access } = await loadWorkspaceForPrincipal(deps, principal, cv.workspaceId, "can-read-run");
    // HCP's docs hide upload-url after the create response, but HCP itself (and go-tfe's own
    // tests) show it on a pending version to whoever may upload, so a client that lost the
    // create response can still upload.
    const mayUpload = cv.status === "pending" && permits(access, principal.kind, "can-queue-run");
    sendDocument(res, 200, { data: serializeConfigurationVersion(cv, mayUpload ? { uploadUrl: uploadUrl(cv.id, deps) } : {}) });
  });

  router.get("/configuration-versions/:id/ingress-attributes", async (req: Request<{ id: string }>) => {
    await loadConfigurationVersion(deps, principalOf(req), req.params.id);
    throw notFound("configuration versions uploaded through the API have no ingress attributes");
  });

  router.get("/configuration-versions/:id/download", async (req: Request<{ id: string }>, res) => {
    const cv = await loadConfigurationVersion(deps, principalOf(req), req.params.id);
    sendArchive(res, await configurationVersionsRepo.readConfigurationArchive(deps.db, cv.id));
  });

  router.get("/runs/:runId/configuration-version/download", async (req: Request<{ runId: string }>, res) => {
    const cv = await configurationVersionsRepo.findConfigurationVersionOfRun(deps.db, req.params.runId);
    if (!cv) throw notFound("run not found");
    await loadWorkspaceForPrincipal(deps, principalOf(req), cv.workspaceId, "can-read-run");
    sendArchive(res, await configurationVersionsRepo.readConfigurationArchive(deps.db, cv.id));
  });

  router.post("/configuration-versions/:id/actions/archive", async (req: Request<{ id: string }>, res) => {
    const cv = await loadConfigurationVersion(deps, principalOf(req), req.params.id, "plan");
    await archiveConfigurationVersion(deps, cv);
    sendEmpty(res, 202);
  });

  return router;
}
