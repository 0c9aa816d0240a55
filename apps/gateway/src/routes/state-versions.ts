import { createHash } from "node:crypto";
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import { inTransaction, stateVersionsRepo } from "@tarmac/db";
import { conflict, notFound, unprocessable, type WorkspaceAccess } from "@tarmac/domain";
import { flattenQuery, paginate, parsePage, type Page } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { actingUserId, principalOf, type Principal } from "../http/auth";
import { jsonApiDocument, parseBody } from "../http/request-body";
import { sendDocument } from "../http/respond";
import { loadWorkspaceForPrincipal } from "../http/workspace-access";
import { serializeStateVersion, serializeStateVersionOutput } from "../serializers/state-versions";

type StateVersionRow = stateVersionsRepo.StateVersionRow;

const createBody = jsonApiDocument(
  "state-versions",
  z.object({
    serial: z.number().int().nonnegative(),
    md5: z.string().regex(/^[0-9a-fA-F]{32}$/, "must be the hex MD5 of the state"),
    state: z.string().min(1),
    lineage: z.string().optional(),
    // go-tfe sends `"force": null` when unset.
    force: z.boolean().nullish(),
    // Sent by newer clients; the JSON state form is not stored (hosted-json-state-download-url is null).
    "json-state": z.string().optional(),
    "json-state-outputs": z.string().optional(),
  }),
);

async function loadStateVersion(
  deps: GatewayDeps,
  principal: Principal,
  id: string,
  minimum: WorkspaceAccess = "read",
): Promise<StateVersionRow> {
  const sv = await stateVersionsRepo.findStateVersion(deps.db, id);
  if (!sv) throw notFound("state version not found");
  await loadWorkspaceForPrincipal(deps, principal, sv.workspaceId, minimum);
  return sv;
}

function paginateList<T>(items: T[], page: Page): T[] {
  return items.slice(page.offset, page.offset + page.size);
}

/** State versions (notes §10): reads, downloads (bearer token required, §0.7), outputs, and HCP's create. */
export function stateVersionsRouter(deps: GatewayDeps): Router {
  const router = Router();
  const ctx = { publicUrl: deps.publicUrl };

  const sendList = async (req: Request, res: Response, workspaceId: string, baseUrl: string): Promise<void> => {
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const { items, total } = await stateVersionsRepo.listStateVersions(deps.db, workspaceId, page);
    sendDocument(res, 200, { data: items.map((sv) => serializeStateVersion(sv, ctx)), ...paginate(page, total, baseUrl, flattenQuery(query)) });
  };

  // HCP's list form: both filters name the workspace.
  router.get("/state-versions", async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const workspaceName = nestedFilter(query, "workspace");
    const organizationName = nestedFilter(query, "organization");
    if (!workspaceName) throw unprocessable("filter[workspace][name] is required", { parameter: "filter[workspace][name]" });
    if (!organizationName) throw unprocessable("filter[organization][name] is required", { parameter: "filter[organization][name]" });
    const { workspace } = await loadWorkspaceForPrincipal(deps, principalOf(req), { organizationName, workspaceName }, "read");
    await sendList(req, res, workspace.id, `${deps.publicUrl}/api/v2/state-versions`);
  });

  router.get("/workspaces/:id/state-versions", async (req: Request<{ id: string }>, res) => {
    const { workspace } = await loadWorkspaceForPrincipal(deps, principalOf(req), req.params.id, "read");
    await sendList(req, res, workspace.id, `${deps.publicUrl}/api/v2/workspaces/${workspace.id}/state-versions`);
  });

  router.get("/workspaces/:id/current-state-version", async (req: Request<{ id: string }>, res) => {
    const { workspace } = await loadWorkspaceForPrincipal(deps, principalOf(req), req.params.id, "read");
    const sv = await stateVersionsRepo.findCurrentStateVersion(deps.db, workspace.id);
    // 404 means "no state yet"; terraform init treats it as an empty workspace (notes §9.4).
    if (!sv) throw notFound("the workspace has no state version");
    sendDocument(res, 200, { data: serializeStateVersion(sv, ctx) });
  });

  router.get("/workspaces/:id/current-state-version-outputs", async (req: Request<{ id: string }>, res) => {
    const { workspace } = await loadWorkspaceForPrincipal(deps, principalOf(req), req.params.id, "read");
    const sv = await stateVersionsRepo.findCurrentStateVersion(deps.db, workspace.id);
    if (!sv) throw notFound("the workspace has no state version");
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const outputs = await stateVersionsRepo.listOutputs(deps.db, sv.id);
    sendDocument(res, 200, {
      data: paginateList(outputs, page).map(serializeStateVersionOutput),
      ...paginate(page, outputs.length, `${deps.publicUrl}/api/v2/workspaces/${workspace.id}/current-state-version-outputs`, flattenQuery(query)),
    });
  });

  router.get("/state-versions/:id", async (req: Request<{ id: string }>, res) => {
    const sv = await loadStateVersion(deps, principalOf(req), req.params.id);
    sendDocument(res, 200, { data: serializeStateVersion(sv, ctx) });
  });

  router.get("/state-versions/:id/download", async (req: Request<{ id: string }>, res) => {
    const sv = await loadStateVersion(deps, principalOf(req), req.params.id);
    const state = await stateVersionsRepo.readState(deps.db, sv.id);
    if (!state) throw notFound("the state version has no stored state");
    res.status(200).type("application/json").send(state);
  });

  router.get("/state-versions/:id/outputs", async (req: Request<{ id: string }>, res) => {
    const sv = await loadStateVersion(deps, principalOf(req), req.params.id);
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const outputs = await stateVersionsRepo.listOutputs(deps.db, sv.id);
    sendDocument(res, 200, {
      data: paginateList(outputs, page).map(serializeStateVersionOutput),
      ...paginate(page, outputs.length, `${deps.publicUrl}/api/v2/state-versions/${sv.id}/outputs`, flattenQuery(query)),
    });
  });

  router.get("/state-version-outputs/:id", async (req: Request<{ id: string }>, res) => {
    const output = await stateVersionsRepo.findOutput(deps.db, req.params.id);
    if (!output) throw notFound("state version output not found");
    await loadWorkspaceForPrincipal(deps, principalOf(req), output.workspaceId, "read");
    // Read one at a time, a sensitive value is shown to whoever may read the state (HCP does too).
    const resource = serializeStateVersionOutput(output);
    resource.attributes.value = output.value;
    sendDocument(res, 200, { data: resource });
  });

  // How the CLI and the tfe provider migrate state (HCP requires the caller to hold the lock; we
  // require write access, which includes state write).
  router.post("/workspaces/:id/state-versions", async (req: Request<{ id: string }>, res) => {
    const principal = principalOf(req);
    const { workspace } = await loadWorkspaceForPrincipal(deps, principal, req.params.id, "write");
    const attrs = parseBody(createBody, req.body).data.attributes;
    const state = Buffer.from(attrs.state, "base64");
    if (state.length === 0) throw unprocessable("state must be base64-encoded", { pointer: "/data/attributes/state" });
    if (createHash("md5").update(state).digest("hex") !== attrs.md5.toLowerCase()) {
      throw unprocessable("md5 does not match the state", { pointer: "/data/attributes/md5" });
    }
    const parsed = stateVersionsRepo.parseStateFile(state);
    if (parsed.serial !== attrs.serial) {
      throw unprocessable(`serial ${attrs.serial} does not match the state's serial ${parsed.serial}`, { pointer: "/data/attributes/serial" });
    }
    if (attrs.lineage !== undefined && parsed.lineage !== null && attrs.lineage !== parsed.lineage) {
      throw unprocessable("lineage does not match the state's lineage", { pointer: "/data/attributes/lineage" });
    }
    const result = await inTransaction(deps.db, async (tx) => {
      const current = await stateVersionsRepo.findCurrentStateVersion(tx, workspace.id);
      const lineage = attrs.lineage ?? parsed.lineage;
      if (!attrs.force && current?.lineage && lineage && current.lineage !== lineage) {
        throw conflict(`lineage ${lineage} differs from the current state's lineage ${current.lineage}`);
      }
      return stateVersionsRepo.createStateVersion(tx, { workspaceId: workspace.id, state, createdById: actingUserId(principal) });
    });
    const sv = await stateVersionsRepo.findStateVersion(deps.db, result.id);
    if (!sv) throw notFound("state version not found");
    sendDocument(res, result.created ? 201 : 200, { data: serializeStateVersion(sv, ctx) });
  });

  return router;
}

/** `filter[workspace][name]` nests one level deeper than parseStringParam reads. */
function nestedFilter(query: Record<string, unknown>, key: "workspace" | "organization"): string | undefined {
  const filter = query.filter;
  if (filter && typeof filter === "object" && !Array.isArray(filter)) {
    const inner = (filter as Record<string, unknown>)[key];
    if (inner && typeof inner === "object" && !Array.isArray(inner)) {
      const name = (inner as Record<string, unknown>).name;
      if (typeof name === "string" && name !== "") return name;
    }
  }
  const flat = query[`filter[${key}][name]`];
  return typeof flat === "string" && flat !== "" ? flat : undefined;
}
