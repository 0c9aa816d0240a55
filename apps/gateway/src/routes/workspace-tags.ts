import { Router, type Request, type Response } from "express";
import { inTransaction, lockWorkspaceForUpdate, tagsRepo, type Tx } from "@tarmac/db";
import { notFound } from "@tarmac/domain";
import { flattenQuery, paginate, parsePage, type Resource } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { principalOf } from "../http/auth";
import { parseBody, pathParam } from "../http/request-body";
import { sendDocument, sendEmpty } from "../http/respond";
import {
  bindingsDocument,
  bindingsOf,
  flatTagNamesOf,
  tagsDocument,
  writeTagBindings,
} from "../http/tag-input";
import { loadOrganizationForPrincipal, loadWorkspaceForPrincipal } from "../http/workspace-access";
import { serializeEffectiveTagBinding, serializeTag, serializeTagBinding } from "../serializers/projects";

/** Runs a tag change under the workspace's row lock. */
async function underWorkspaceLock(deps: GatewayDeps, workspaceId: string, fn: (tx: Tx) => Promise<void>): Promise<void> {
  await inTransaction(deps.db, async (tx) => {
    if (!(await lockWorkspaceForUpdate(tx, workspaceId))) throw notFound();
    await fn(tx);
  });
}

export async function effectiveTagBindingResources(deps: GatewayDeps, workspaceId: string): Promise<Resource[]> {
  return (await tagsRepo.effectiveWorkspaceBindings(deps.db, workspaceId)).map(serializeEffectiveTagBinding);
}

/**
 * Flat tags (`relationships/tags`), key/value tag bindings and the organization's
 * tag list. Reads need read access on the workspace, writes admin, as HCP.
 */
export function workspaceTagsRouter(deps: GatewayDeps): Router {
  const r = Router();

  r.get("/workspaces/:id/relationships/tags", async (req, res) => {
    const { workspace } = await loadWorkspaceForPrincipal(deps, principalOf(req), pathParam(req, "id"));
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const names = [...workspace.tagNames].sort();
    sendDocument(res, 200, {
      data: names.slice(page.offset, page.offset + page.size).map((name) => serializeTag({ name, instanceCount: 1 })),
      ...paginate(page, names.length, `${deps.publicUrl}/api/v2/workspaces/${workspace.id}/relationships/tags`, flattenQuery(query)),
    });
  });

  const changeTags = (add: boolean) => async (req: Request, res: Response) => {
    const loaded = await loadWorkspaceForPrincipal(deps, principalOf(req), pathParam(req, "id"), "admin");
    const names = flatTagNamesOf(parseBody(tagsDocument, req.body).data, "/data");
    await underWorkspaceLock(deps, loaded.workspace.id, (tx) =>
      add ? tagsRepo.addFlatTags(tx, loaded.workspace.id, names) : tagsRepo.removeTags(tx, loaded.workspace.id, names),
    );
    sendEmpty(res, 204);
  };
  r.post("/workspaces/:id/relationships/tags", changeTags(true));
  r.delete("/workspaces/:id/relationships/tags", changeTags(false));

  const listBindings = async (req: Request, res: Response) => {
    const { workspace } = await loadWorkspaceForPrincipal(deps, principalOf(req), pathParam(req, "id"));
    const bindings = await tagsRepo.listBindings(deps.db, { workspaceId: workspace.id });
    sendDocument(res, 200, { data: bindings.map(serializeTagBinding) });
  };

  // go-tfe's AddTagBindings (PATCH …/tag-bindings) adds or updates keys and reads back the list; the spec's
  // /relationships/tag-bindings answers 204, POST adding and PATCH replacing every binding.
  const writeBindings = (mode: "merge" | "replace", answer: "list" | "empty") => async (req: Request, res: Response) => {
    const loaded = await loadWorkspaceForPrincipal(deps, principalOf(req), pathParam(req, "id"), "admin");
    const target = { workspaceId: loaded.workspace.id };
    const bindings = bindingsOf(parseBody(bindingsDocument, req.body).data, "/data");
    await underWorkspaceLock(deps, target.workspaceId, (tx) => writeTagBindings(tx, target, bindings, mode));
    if (answer === "empty") return sendEmpty(res, 204);
    const after = await tagsRepo.listBindings(deps.db, target);
    sendDocument(res, 200, { data: after.map(serializeTagBinding) });
  };

  r.get("/workspaces/:id/tag-bindings", listBindings);
  r.patch("/workspaces/:id/tag-bindings", writeBindings("merge", "list"));
  r.get("/workspaces/:id/relationships/tag-bindings", listBindings);
  r.post("/workspaces/:id/relationships/tag-bindings", writeBindings("merge", "empty"));
  r.patch("/workspaces/:id/relationships/tag-bindings", writeBindings("replace", "empty"));

  r.get("/workspaces/:id/effective-tag-bindings", async (req, res) => {
    const { workspace } = await loadWorkspaceForPrincipal(deps, principalOf(req), pathParam(req, "id"));
    sendDocument(res, 200, { data: await effectiveTagBindingResources(deps, workspace.id) });
  });

  r.get("/organizations/:org/tags", async (req, res) => {
    const orgName = pathParam(req, "org");
    const ctx = await loadOrganizationForPrincipal(deps, principalOf(req), orgName);
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const q = typeof query.q === "string" && query.q !== "" ? query.q : undefined;
    const excluded = query["filter[exclude][taggable][id]"] ?? (query.filter as { exclude?: { taggable?: { id?: unknown } } } | undefined)?.exclude?.taggable?.id;
    let excludeWorkspaceId: string | undefined;
    if (typeof excluded === "string" && excluded !== "") {
      // Only a workspace of this organization the caller can read may shape the answer.
      const { workspace } = await loadWorkspaceForPrincipal(deps, principalOf(req), excluded);
      if (workspace.organizationId !== ctx.organization.id) throw notFound();
      excludeWorkspaceId = workspace.id;
    }
    const { items, total } = await tagsRepo.listOrganizationTags(deps.db, {
      organizationId: ctx.organization.id,
      ...(q ? { query: q } : {}),
      ...(excludeWorkspaceId ? { excludeWorkspaceId } : {}),
      offset: page.offset,
      limit: page.size,
    });
    sendDocument(res, 200, {
      data: items.map(serializeTag),
      ...paginate(page, total, `${deps.publicUrl}/api/v2/organizations/${encodeURIComponent(orgName)}/tags`, flattenQuery(query)),
    });
  });

  return r;
}
