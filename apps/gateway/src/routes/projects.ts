import { Router, type Request, type Response } from "express";
import { z } from "zod";
import { projectsRepo, tagsRepo } from "@tarmac/db";
import { notFound, TarmacError } from "@tarmac/domain";
import { addIncluded, flattenQuery, paginate, parseInclude, parsePage, parseStringParam, type Resource } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { principalOf } from "../http/auth";
import { canReadAllProjects, loadProjectForPrincipal, projectContext, type LoadedProject } from "../http/project-access";
import { invalidAttribute, jsonApiDocument, parseBody, pathParam } from "../http/request-body";
import { guards, organizationOf } from "../http/requires";
import { sendDocument, sendEmpty } from "../http/respond";
import { bindingRefs, bindingsDocument, bindingsOf, parseTaggedFilter } from "../http/tag-input";
import { serializeEffectiveTagBinding, serializeProject, serializeTagBinding } from "../serializers/projects";
import { createProject, deleteProject, updateProject, writeProjectTagBindings } from "../services/projects";

// HCP: letters, numbers, spaces, - and _, not starting or ending with a space, 3 to 40 characters.
const PROJECT_NAME = /^[A-Za-z0-9_-](?:[A-Za-z0-9 _-]*[A-Za-z0-9_-])?$/;

function checkName(name: string): string {
  const pointer = "/data/attributes/name";
  if (!PROJECT_NAME.test(name)) {
    throw invalidAttribute("Name may only contain letters, numbers, spaces, -, and _, and cannot start or end with a space", pointer);
  }
  if (name.length < 3 || name.length > 40) throw invalidAttribute("Name must be between 3 and 40 characters long", pointer);
  return name;
}

const projectAttributes = z.object({
  name: z.string().max(1000).optional(),
  description: z.string().max(256, "Description is too long (maximum is 256 characters)").nullable().optional(),
  // Accepted and ignored: Tarmac runs every workspace remotely and has no auto-destroy.
  "auto-destroy-activity-duration": z.string().nullable().optional(),
  "default-execution-mode": z.enum(["remote", "local", "agent"]).optional(),
  "setting-overwrites": z.record(z.string(), z.boolean().nullable()).optional(),
});

const projectRelationships = z
  .object({ "tag-bindings": z.object({ data: bindingRefs }).optional() })
  .passthrough()
  .optional();

const createBody = jsonApiDocument("projects", projectAttributes.extend({ name: z.string().max(1000) }), projectRelationships);
const updateBody = jsonApiDocument("projects", projectAttributes, projectRelationships);

function settingsOf(a: z.infer<typeof projectAttributes>): projectsRepo.ProjectSettings {
  return {
    ...(a.name !== undefined ? { name: checkName(a.name) } : {}),
    ...(a.description !== undefined ? { description: a.description ?? "" } : {}),
  };
}

async function includedFor(deps: GatewayDeps, req: Request, data: Resource[]): Promise<Resource[]> {
  const include = parseInclude(req.query as Record<string, unknown>);
  const included: Resource[] = [];
  if (!include.has("effective_tag_bindings")) return included;
  for (const resource of data) {
    const bindings = (await tagsRepo.listBindings(deps.db, { projectId: resource.id })).map((b) => ({ ...b, inheritedFromProjectId: null }));
    const serialized = bindings.map(serializeEffectiveTagBinding);
    resource.relationships = { ...resource.relationships, "effective-tag-bindings": { data: serialized.map(({ type, id }) => ({ type, id })) } };
    addIncluded(included, serialized);
  }
  return included;
}

async function sendProject(deps: GatewayDeps, req: Request, res: Response, status: number, loaded: LoadedProject) {
  const data = serializeProject(loaded.project, projectContext(loaded.organization));
  const included = await includedFor(deps, req, [data]);
  sendDocument(res, status, { data, ...(included.length > 0 ? { included } : {}) });
}

async function sendBindings(deps: GatewayDeps, res: Response, projectId: string) {
  const bindings = await tagsRepo.listBindings(deps.db, { projectId });
  sendDocument(res, 200, { data: bindings.map(serializeTagBinding) });
}

export function projectsRouter(deps: GatewayDeps): Router {
  const r = Router();
  const requires = guards(deps);

  r.get("/organizations/:org/projects", requires("organization", "member"), async (req, res) => {
    const orgName = pathParam(req, "org");
    const ctx = organizationOf(res);
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const names = parseStringParam(query, "filter", "names");
    const q = typeof query.q === "string" && query.q !== "" ? query.q : undefined;
    const sort = typeof query.sort === "string" ? query.sort : undefined;
    if (sort !== undefined && sort !== "name" && sort !== "-name") {
      throw new TarmacError("bad_request", { detail: "sort: only name and -name are supported", source: { parameter: "sort" } });
    }
    const tagged = parseTaggedFilter(query);
    const { items, total } = await projectsRepo.listProjectViews(deps.db, {
      organizationId: ctx.organization.id,
      ...(names ? { names: names.split(",").map((n) => n.trim()).filter(Boolean) } : {}),
      ...(q ? { query: q } : {}),
      ...(canReadAllProjects(ctx) ? {} : { teamIds: ctx.teamIds }),
      ...(tagged.length > 0 ? { tagged } : {}),
      descending: sort === "-name",
      offset: page.offset,
      limit: page.size,
    });
    const data = items.map((item) => serializeProject(item, projectContext(ctx)));
    const included = await includedFor(deps, req, data);
    sendDocument(res, 200, {
      data,
      ...(included.length > 0 ? { included } : {}),
      ...paginate(page, total, `${deps.publicUrl}/api/v2/organizations/${encodeURIComponent(orgName)}/projects`, flattenQuery(query)),
    });
  });

  r.post("/organizations/:org/projects", requires("organization", "member"), async (req, res) => {
    const ctx = organizationOf(res);
    if (!projectContext(ctx).canManage) throw notFound();
    const body = parseBody(createBody, req.body).data;
    const settings = { ...settingsOf(body.attributes), name: checkName(body.attributes.name) };
    const bindings = body.relationships?.["tag-bindings"] ? bindingsOf(body.relationships["tag-bindings"].data, "/data/relationships/tag-bindings/data") : [];
    const project = await createProject(deps, ctx.organization.id, settings, bindings);
    await sendProject(deps, req, res, 201, { project, organization: ctx });
  });

  r.get("/projects/:id", async (req, res) => {
    await sendProject(deps, req, res, 200, await loadProjectForPrincipal(deps, principalOf(req), pathParam(req, "id")));
  });

  r.patch("/projects/:id", async (req, res) => {
    const loaded = await loadProjectForPrincipal(deps, principalOf(req), pathParam(req, "id"), { manage: true });
    const body = parseBody(updateBody, req.body).data;
    const settings = settingsOf(body.attributes);
    const rel = body.relationships?.["tag-bindings"];
    const bindings = rel ? bindingsOf(rel.data, "/data/relationships/tag-bindings/data") : null;
    const { project: current, organization } = loaded;
    const project = await updateProject(deps, current, settings, bindings);
    await sendProject(deps, req, res, 200, { project, organization });
  });

  r.delete("/projects/:id", async (req, res) => {
    const { project } = await loadProjectForPrincipal(deps, principalOf(req), pathParam(req, "id"), { manage: true });
    await deleteProject(deps, project);
    sendEmpty(res, 204);
  });

  // Tag bindings: go-tfe reads and merges through /tag-bindings; the spec adds /relationships/tag-bindings
  // (POST adds, PATCH replaces).
  const listBindings = async (req: Request, res: Response) => {
    const { project } = await loadProjectForPrincipal(deps, principalOf(req), pathParam(req, "id"));
    await sendBindings(deps, res, project.id);
  };
  const writeBindings = (mode: "merge" | "replace", answer: "list" | "empty") => async (req: Request, res: Response) => {
    const { project } = await loadProjectForPrincipal(deps, principalOf(req), pathParam(req, "id"), { manage: true });
    const bindings = bindingsOf(parseBody(bindingsDocument, req.body).data, "/data");
    await writeProjectTagBindings(deps, project.id, bindings, mode);
    if (answer === "empty") sendEmpty(res, 204);
    else await sendBindings(deps, res, project.id);
  };
  r.get("/projects/:id/tag-bindings", listBindings);
  r.patch("/projects/:id/tag-bindings", writeBindings("merge", "list"));
  r.get("/projects/:id/relationships/tag-bindings", listBindings);
  r.post("/projects/:id/relationships/tag-bindings", writeBindings("merge", "empty"));
  r.patch("/projects/:id/relationships/tag-bindings", writeBindings("replace", "empty"));

  r.get("/projects/:id/effective-tag-bindings", async (req, res) => {
    const { project } = await loadProjectForPrincipal(deps, principalOf(req), pathParam(req, "id"));
    const bindings = await tagsRepo.listBindings(deps.db, { projectId: project.id });
    sendDocument(res, 200, { data: bindings.map((b) => serializeEffectiveTagBinding({ ...b, inheritedFromProjectId: null })) });
  });

  return r;
}
