import { Router, type Request, type Response } from "express";
import { z } from "zod";
import { teamProjectsRepo, type Prisma } from "@tarmac/db";
import { notFound, TarmacError } from "@tarmac/domain";
import { flattenQuery, paginate, parsePage, toOne, type Resource } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { principalOf, type Principal } from "../http/auth";
import { loadProjectForPrincipal } from "../http/project-access";
import { invalidAttribute, parseBody, pathParam } from "../http/request-body";
import { sendDocument, sendEmpty } from "../http/respond";
import { grantTeamProjectAccess, revokeTeamProjectAccess, updateTeamProjectAccess } from "../services/team-projects";

type Level = "read" | "plan" | "write" | "admin";
const ACCESS = ["read", "write", "maintain", "admin", "custom"] as const;
type Access = (typeof ACCESS)[number];

const projectAccess = z
  .object({
    settings: z.enum(["read", "update", "delete"]).optional(),
    teams: z.enum(["none", "read", "manage"]).optional(),
    "variable-sets": z.enum(["none", "read", "write"]).nullable().optional(),
  })
  .strict();

const workspaceAccess = z
  .object({
    create: z.boolean().optional(),
    move: z.boolean().optional(),
    locking: z.boolean().optional(),
    delete: z.boolean().optional(),
    runs: z.enum(["read", "plan", "apply"]).optional(),
    variables: z.enum(["none", "read", "write"]).optional(),
    "state-versions": z.enum(["none", "read-outputs", "read", "write"]).optional(),
    "sentinel-mocks": z.enum(["none", "read"]).optional(),
    "run-tasks": z.boolean().optional(),
    "policy-overrides": z.boolean().optional(),
  })
  .strict();

const attributes = z.object({
  access: z.enum(ACCESS).optional(),
  "project-access": projectAccess.nullable().optional(),
  "workspace-access": workspaceAccess.nullable().optional(),
});

const ref = (type: string) => z.object({ data: z.object({ type: z.literal(type), id: z.string().min(1).max(64) }) });

const createBody = z.object({
  data: z.object({
    type: z.literal("team-projects"),
    attributes: attributes.extend({ access: z.enum(ACCESS) }),
    relationships: z.object({ team: ref("teams"), project: ref("projects") }),
  }),
});
const updateBody = z.object({ data: z.object({ type: z.literal("team-projects"), attributes: attributes }) });

/** HCP's fixed levels, spelled out as the permissions they give (custom starts from read). */
const PRESETS: Record<Exclude<Access, "custom">, { project: Record<string, unknown>; workspace: Record<string, unknown>; level: Level }> = {
  read: {
    level: "read",
    project: { settings: "read", teams: "none", "variable-sets": "none" },
    workspace: { create: false, move: false, locking: false, delete: false, runs: "read", variables: "read", "state-versions": "read", "sentinel-mocks": "none", "run-tasks": false, "policy-overrides": false },
  },
  write: {
    level: "write",
    project: { settings: "read", teams: "none", "variable-sets": "read" },
    workspace: { create: false, move: false, locking: true, delete: false, runs: "apply", variables: "write", "state-versions": "write", "sentinel-mocks": "read", "run-tasks": false, "policy-overrides": false },
  },
  maintain: {
    level: "admin",
    project: { settings: "read", teams: "none", "variable-sets": "read" },
    workspace: { create: true, move: false, locking: true, delete: true, runs: "apply", variables: "write", "state-versions": "write", "sentinel-mocks": "read", "run-tasks": true, "policy-overrides": false },
  },
  admin: {
    level: "admin",
    project: { settings: "delete", teams: "manage", "variable-sets": "write" },
    workspace: { create: true, move: true, locking: true, delete: true, runs: "apply", variables: "write", "state-versions": "write", "sentinel-mocks": "read", "run-tasks": true, "policy-overrides": true },
  },
};

const RUNS_LEVEL: Record<string, Level> = { read: "read", plan: "plan", apply: "write" };

function grantOf(a: z.infer<typeof attributes> & { access: Access }): teamProjectsRepo.TeamProjectGrant {
  if (a.access !== "custom") {
    if (a["project-access"] || a["workspace-access"]) {
      throw invalidAttribute("project-access and workspace-access may only be given with access custom", "/data/attributes/access");
    }
    return { access: a.access, workspaceLevel: PRESETS[a.access].level, projectAccess: null, workspaceAccess: null };
  }
  const workspace = { ...PRESETS.read.workspace, ...(a["workspace-access"] ?? {}) };
  const project = { ...PRESETS.read.project, ...(a["project-access"] ?? {}) };
  const level = RUNS_LEVEL[String(workspace.runs)] ?? "read";
  return { access: "custom", workspaceLevel: level, projectAccess: project as Prisma.InputJsonValue, workspaceAccess: workspace as Prisma.InputJsonValue };
}

function serialize(t: teamProjectsRepo.TeamProjectAccess): Resource {
  const preset = t.access === "custom" ? null : PRESETS[t.access as Exclude<Access, "custom">];
  return {
    id: t.id,
    type: "team-projects",
    attributes: {
      access: t.access,
      "project-access": preset?.project ?? t.projectAccess ?? PRESETS.read.project,
      "workspace-access": preset?.workspace ?? t.workspaceAccess ?? PRESETS.read.workspace,
    },
    relationships: {
      team: toOne("teams", t.teamId, `/api/v2/teams/${t.teamId}`),
      project: toOne("projects", t.projectId, `/api/v2/projects/${t.projectId}`),
    },
    links: { self: `/api/v2/team-projects/${t.id}` },
  };
}

/** A grant the principal manages: owners only, as for the project itself; anything else is a 404. */
async function loadGrant(deps: GatewayDeps, p: Principal, id: string) {
  const grant = await teamProjectsRepo.findTeamProjectAccess(deps.db, id);
  if (!grant) throw notFound();
  await loadProjectForPrincipal(deps, p, grant.projectId, { manage: true });
  return grant;
}

function queryParam(query: Record<string, unknown>, group: string, key: string): string | undefined {
  const flat = query[`filter[${group}][${key}]`];
  const nested = (query.filter as Record<string, Record<string, unknown>> | undefined)?.[group]?.[key];
  const raw = typeof flat === "string" ? flat : nested;
  return typeof raw === "string" && raw !== "" ? raw : undefined;
}

/** HCP's team-projects: a team's access to a project, reaching every workspace in it. */
export function teamProjectsRouter(deps: GatewayDeps): Router {
  const r = Router();

  r.get("/team-projects", async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const projectId = queryParam(query, "project", "id");
    if (!projectId) throw new TarmacError("bad_request", { detail: "filter[project][id] is required", source: { parameter: "filter[project][id]" } });
    const { project } = await loadProjectForPrincipal(deps, principalOf(req), projectId, { manage: true });
    const page = parsePage(query);
    const teamId = queryParam(query, "team", "id");
    const { items, total } = await teamProjectsRepo.listTeamProjectAccess(deps.db, {
      projectId: project.id,
      ...(teamId ? { teamId } : {}),
      offset: page.offset,
      limit: page.size,
    });
    sendDocument(res, 200, { data: items.map(serialize), ...paginate(page, total, `${deps.publicUrl}/api/v2/team-projects`, flattenQuery(query)) });
  });

  r.post("/team-projects", async (req, res) => {
    const body = parseBody(createBody, req.body).data;
    const { project } = await loadProjectForPrincipal(deps, principalOf(req), body.relationships.project.data.id, { manage: true });
    const created = await grantTeamProjectAccess(deps, project, body.relationships.team.data.id, grantOf(body.attributes));
    sendDocument(res, 201, { data: serialize(created) });
  });

  r.get("/team-projects/:id", async (req: Request, res: Response) => {
    sendDocument(res, 200, { data: serialize(await loadGrant(deps, principalOf(req), pathParam(req, "id"))) });
  });

  r.patch("/team-projects/:id", async (req, res) => {
    const current = await loadGrant(deps, principalOf(req), pathParam(req, "id"));
    const a = parseBody(updateBody, req.body).data.attributes;
    const grant = grantOf({ ...a, access: a.access ?? (current.access as Access) });
    const updated = await updateTeamProjectAccess(deps, current.id, grant);
    sendDocument(res, 200, { data: serialize(updated) });
  });

  r.delete("/team-projects/:id", async (req, res) => {
    const grant = await loadGrant(deps, principalOf(req), pathParam(req, "id"));
    await revokeTeamProjectAccess(deps, grant.id);
    sendEmpty(res, 204);
  });

  return r;
}
