import { Router, type Request, type Response } from "express";
import { stateVersionsRepo } from "@tarmac/db";
import { notFound, unprocessable, type Permission } from "@tarmac/domain";
import { flattenQuery, paginate, parsePage, type Page } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { principalOf, type Principal } from "../http/auth";
import { sendDocument } from "../http/respond";
import { loadWorkspaceForPrincipal } from "../http/workspace-access";
import { serializeStateVersion, serializeStateVersionOutput } from "../serializers/state-versions";
import { guards, workspaceOf } from "../http/requires";
import { setSnapshotInterval } from "../http/state-snapshot";

type StateVersionRow = stateVersionsRepo.StateVersionRow;

async function loadStateVersion(
  deps: GatewayDeps,
  principal: Principal,
  id: string,
  permission: Permission = "can-read-state-versions",
): Promise<StateVersionRow> {
  const sv = await stateVersionsRepo.findStateVersion(deps.db, id);
  if (!sv) throw notFound("state version not found");
  await loadWorkspaceForPrincipal(deps, principal, sv.workspaceId, permission);
  return sv;
}

function paginateList<T>(items: T[], page: Page): T[] {
  return items.slice(page.offset, page.offset + page.size);
}

/** State versions (notes §10): reads, downloads (bearer token required, §0.7), outputs, and HCP's create (state-version-create.ts). */
export function stateVersionsRouter(deps: GatewayDeps): Router {
  const router = Router();
  const requires = guards(deps);
  const ctx = { publicUrl: deps.publicUrl, keys: deps.keys, now: deps.now };

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
    const { workspace } = await loadWorkspaceForPrincipal(deps, principalOf(req), { organizationName, workspaceName }, "can-read-state-versions");
    await sendList(req, res, workspace.id, `${deps.publicUrl}/api/v2/state-versions`);
  });

  router.get("/workspaces/:id/state-versions", requires("workspace", "can-read-state-versions"), async (req, res) => {
    const { workspace } = workspaceOf(res);
    await sendList(req, res, workspace.id, `${deps.publicUrl}/api/v2/workspaces/${workspace.id}/state-versions`);
  });

  router.get("/workspaces/:id/current-state-version", requires("workspace", "can-read-state-versions"), async (req, res) => {
    const { workspace } = workspaceOf(res);
    const sv = await stateVersionsRepo.findCurrentStateVersion(deps.db, workspace.id);
    // 404 means "no state yet"; terraform init treats it as an empty workspace (notes §9.4).
    if (!sv) throw notFound("the workspace has no state version");
    setSnapshotInterval(deps, res);
    sendDocument(res, 200, { data: serializeStateVersion(sv, ctx) });
  });

  router.get("/workspaces/:id/current-state-version-outputs", requires("workspace", "can-read-state-outputs"), async (req, res) => {
    const { workspace } = workspaceOf(res);
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

  // The JSON state (`terraform show -json` form) the client uploaded; authenticated like the raw state.
  router.get("/state-versions/:id/json-download", async (req: Request<{ id: string }>, res) => {
    const sv = await loadStateVersion(deps, principalOf(req), req.params.id);
    const jsonState = await stateVersionsRepo.readJsonState(deps.db, sv.id);
    if (!jsonState) throw notFound("the state version has no JSON state");
    res.status(200).type("application/json").send(jsonState);
  });

  router.get("/state-versions/:id/outputs", async (req: Request<{ id: string }>, res) => {
    const sv = await loadStateVersion(deps, principalOf(req), req.params.id, "can-read-state-outputs");
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
    await loadWorkspaceForPrincipal(deps, principalOf(req), output.workspaceId, "can-read-state-outputs");
    // Read one at a time, a sensitive value is shown to whoever may read the state (HCP does too).
    const resource = serializeStateVersionOutput(output);
    resource.attributes.value = output.value;
    sendDocument(res, 200, { data: resource });
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
