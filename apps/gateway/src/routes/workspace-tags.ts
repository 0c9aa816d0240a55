import { Router, type Request, type Response } from "express";
import { tagsRepo } from "@tarmac/db";
import { notFound } from "@tarmac/domain";
import { flattenQuery, paginate, parsePage } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { principalOf } from "../http/auth";
import { parseBody, pathParam } from "../http/request-body";
import { sendDocument, sendEmpty } from "../http/respond";
import {
  bindingsDocument,
  bindingsOf,
  flatTagNamesOf,
  tagsDocument,
} from "../http/tag-input";
import { guards, organizationOf, workspaceOf } from "../http/requires";
import { loadWorkspaceForPrincipal } from "../http/workspace-access";
import * as workspaceTags from "../services/workspace-tags";
import { serializeEffectiveTagBinding, serializeTag, serializeTagBinding } from "../serializers/projects";

/**
 * Flat tags (`relationships/tags`), key/value tag bindings and the organization's
 * tag list. Reads need read access on the workspace, writes admin, as HCP.
 */
export function workspaceTagsRouter(deps: GatewayDeps): Router {
  const r = Router();
  const requires = guards(deps);

  r.get("/workspaces/:id/relationships/tags", requires("workspace", "can-read-settings"), async (req, res) => {
    const { workspace } = workspaceOf(res);
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const names = [...workspace.tagNames].sort();
    sendDocument(res, 200, {
      data: names.slice(page.offset, page.offset + page.size).map((name) => serializeTag({ name, instanceCount: 1 })),
      ...paginate(page, names.length, `${deps.publicUrl}/api/v2/workspaces/${workspace.id}/relationships/tags`, flattenQuery(query)),
    });
  });

  const changeTags = (add: boolean) => async (req: Request, res: Response) => {
    const names = flatTagNamesOf(parseBody(tagsDocument, req.body).data, "/data");
    await workspaceTags.changeFlatTags(deps, workspaceOf(res).workspace.id, names, add);
    sendEmpty(res, 204);
  };
  r.post("/workspaces/:id/relationships/tags", requires("workspace", "can-manage-tags"), changeTags(true));
  r.delete("/workspaces/:id/relationships/tags", requires("workspace", "can-manage-tags"), changeTags(false));

  const listBindings = async (_req: Request, res: Response) => {
    const { workspace } = workspaceOf(res);
    const bindings = await tagsRepo.listBindings(deps.db, { workspaceId: workspace.id });
    sendDocument(res, 200, { data: bindings.map(serializeTagBinding) });
  };

  // go-tfe's AddTagBindings (PATCH …/tag-bindings) adds or updates keys and reads back the list; the spec's
  // /relationships/tag-bindings answers 204, POST adding and PATCH replacing every binding.
  const writeBindings = (mode: "merge" | "replace", answer: "list" | "empty") => async (req: Request, res: Response) => {
    const target = { workspaceId: workspaceOf(res).workspace.id };
    const bindings = bindingsOf(parseBody(bindingsDocument, req.body).data, "/data");
    await workspaceTags.writeWorkspaceTagBindings(deps, target.workspaceId, bindings, mode);
    if (answer === "empty") return sendEmpty(res, 204);
    const after = await tagsRepo.listBindings(deps.db, target);
    sendDocument(res, 200, { data: after.map(serializeTagBinding) });
  };

  const read = requires("workspace", "can-read-settings");
  const manage = requires("workspace", "can-manage-tags");
  r.get("/workspaces/:id/tag-bindings", read, listBindings);
  r.patch("/workspaces/:id/tag-bindings", manage, writeBindings("merge", "list"));
  r.get("/workspaces/:id/relationships/tag-bindings", read, listBindings);
  r.post("/workspaces/:id/relationships/tag-bindings", manage, writeBindings("merge", "empty"));
  r.patch("/workspaces/:id/relationships/tag-bindings", manage, writeBindings("replace", "empty"));

  r.get("/workspaces/:id/effective-tag-bindings", read, async (_req, res) => {
    const bindings = await tagsRepo.effectiveWorkspaceBindings(deps.db, workspaceOf(res).workspace.id);
    sendDocument(res, 200, { data: bindings.map(serializeEffectiveTagBinding) });
  });

  r.get("/organizations/:org/tags", requires("organization", "member"), async (req, res) => {
    const orgName = pathParam(req, "org");
    const ctx = organizationOf(res);
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const q = typeof query.q === "string" && query.q !== "" ? query.q : undefined;
    const excluded = query["filter[exclude][taggable][id]"] ?? (query.filter as { exclude?: { taggable?: { id?: unknown } } } | undefined)?.exclude?.taggable?.id;
    let excludeWorkspaceId: string | undefined;
    if (typeof excluded === "string" && excluded !== "") {
      // Only a workspace of this organization the caller can read may shape the answer.
      const { workspace } = await loadWorkspaceForPrincipal(deps, principalOf(req), excluded, "can-read-settings");
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
