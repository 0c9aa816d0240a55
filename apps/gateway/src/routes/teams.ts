import { Router, type Request } from "express";
import { z } from "zod";
import { inTransaction, organizationsRepo, teamsRepo, usersRepo } from "@tarmac/db";
import { notFound, TarmacError, WORKSPACE_ACCESS_LEVELS } from "@tarmac/domain";
import { addIncluded, flattenQuery, paginate, parseInclude, parseListParam, parsePage, type Resource } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { principalOf, type Principal } from "../http/auth";
import { invalidAttribute, jsonApiDocument, parseBody, pathParam, relationshipTo, resourceName, withUniqueAs } from "../http/request-body";
import { guards, organizationOf } from "../http/requires";
import { sendDocument, sendEmpty } from "../http/respond";
import {
  loadWorkspaceForPrincipal,
  organizationContext,
  type OrganizationContext,
} from "../http/workspace-access";
import { serializeTeam, serializeTeamWorkspace } from "../serializers/teams";
import { serializeUser } from "../serializers/users";
import { createTeam, deleteTeam, updateTeam } from "../services/teams";

const organizationAccess = z
  .object({
    "manage-workspaces": z.boolean().optional(),
    "manage-run-tasks": z.boolean().optional(),
    "manage-policy-overrides": z.boolean().optional(),
  })
  .catchall(z.boolean().nullable());

const teamAttributes = z.object({
  name: resourceName(90).optional(),
  visibility: z.enum(["secret", "organization"]).optional(),
  "organization-access": organizationAccess.optional(),
});

const createTeamBody = jsonApiDocument("teams", teamAttributes.extend({ name: resourceName(90) }));
const updateTeamBody = jsonApiDocument("teams", teamAttributes);

const membersBody = z.object({
  data: z.array(z.object({ type: z.literal("users"), id: z.string().min(1) })).min(1, "at least one user is required"),
});

// HCP's "custom" access (per-permission settings) is not supported.
const teamWorkspaceAccess = z.enum(WORKSPACE_ACCESS_LEVELS, { error: "access must be one of read, plan, write, admin" });

const createTeamWorkspaceBody = jsonApiDocument(
  "team-workspaces",
  z.object({ access: teamWorkspaceAccess }),
  z.object({ team: relationshipTo("teams"), workspace: relationshipTo("workspaces") }),
);
const updateTeamWorkspaceBody = jsonApiDocument("team-workspaces", z.object({ access: teamWorkspaceAccess }));

/** A team the principal can see: owners see all, members organization-visible teams and their own. */
async function loadTeam(
  deps: GatewayDeps,
  p: Principal,
  id: string,
  { ownerOnly = false }: { ownerOnly?: boolean } = {},
): Promise<{ team: teamsRepo.TeamView; ctx: OrganizationContext }> {
  const team = await teamsRepo.findTeamView(deps.db, id);
  if (!team) throw notFound();
  const org = await organizationsRepo.findOrganizationById(deps.db, team.organizationId);
  if (!org) throw notFound();
  const ctx = await organizationContext(deps.db, p, org);
  if (!ctx) throw notFound();
  const visible = ctx.role === "owner" || team.visibility === "organization" || ctx.teamIds.includes(team.id);
  if (!visible || (ownerOnly && ctx.role !== "owner")) throw notFound();
  return { team, ctx };
}

function teamSettings(a: z.infer<typeof teamAttributes>): teamsRepo.TeamSettings {
  const s: teamsRepo.TeamSettings = {};
  if (a.name !== undefined) s.name = a.name;
  if (a.visibility !== undefined) s.visibility = a.visibility;
  const access = a["organization-access"];
  if (access?.["manage-workspaces"] !== undefined) s.manageWorkspaces = access["manage-workspaces"];
  if (access?.["manage-run-tasks"] !== undefined) s.manageRunTasks = access["manage-run-tasks"];
  if (access?.["manage-policy-overrides"] !== undefined) s.managePolicyOverrides = access["manage-policy-overrides"];
  return s;
}

/** `include=users` on team documents. */
async function includedUsers(deps: GatewayDeps, req: Request, p: Principal, teams: teamsRepo.TeamView[]): Promise<Resource[]> {
  if (!parseInclude(req.query as Record<string, unknown>).has("users")) return [];
  const ids = [...new Set(teams.flatMap((t) => t.memberships.map((m) => m.userId)))];
  const users = await usersRepo.findUsersByIdOrUsername(deps.db, ids);
  const included: Resource[] = [];
  const isAdmin = p.kind === "user" && p.user.isSiteAdmin;
  addIncluded(
    included,
    users.map((u) => {
      const isSelf = p.kind === "user" && p.user.id === u.id;
      return serializeUser(u, { showEmail: isSelf || isAdmin, isSelf });
    }),
  );
  return included;
}

async function resolveUsers(deps: GatewayDeps, refs: string[]): Promise<string[]> {
  const users = await usersRepo.findUsersByIdOrUsername(deps.db, refs);
  const ids: string[] = [];
  refs.forEach((ref, i) => {
    const u = users.find((x) => x.id === ref || x.username === ref);
    if (!u) throw invalidAttribute(`User "${ref}" not found`, `/data/${i}/id`);
    ids.push(u.id);
  });
  return ids;
}

export function teamsRouter(deps: GatewayDeps): Router {
  const r = Router();
  const requires = guards(deps);

  r.post("/organizations/:name/teams", requires("organization", "owner"), async (req, res) => {
    const ctx = organizationOf(res);
    const attrs = parseBody(createTeamBody, req.body).data.attributes;
    const team = await createTeam(deps, ctx.organization.id, { ...teamSettings(attrs), name: attrs.name });
    sendDocument(res, 201, { data: serializeTeam(team, { canManage: true }) });
  });

  r.get("/organizations/:name/teams", requires("organization", "member"), async (req, res) => {
    const name = pathParam(req, "name");
    const p = principalOf(req);
    const ctx = organizationOf(res);
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const names = parseListParam(query, "filter", "names");
    const { items, total } = await teamsRepo.listTeamViews(deps.db, {
      organizationId: ctx.organization.id,
      ...(ctx.role === "owner" ? {} : { visibleWithTeamIds: ctx.teamIds }),
      ...(names ? { names } : {}),
      offset: page.offset,
      limit: page.size,
    });
    const included = await includedUsers(deps, req, p, items);
    sendDocument(res, 200, {
      data: items.map((t) => serializeTeam(t, { canManage: ctx.role === "owner" })),
      ...(included.length > 0 ? { included } : {}),
      ...paginate(page, total, `${deps.publicUrl}/api/v2/organizations/${encodeURIComponent(name)}/teams`, flattenQuery(query)),
    });
  });

  r.get("/teams/:id", async (req, res) => {
    const p = principalOf(req);
    const { team, ctx } = await loadTeam(deps, p, pathParam(req, "id"));
    const included = await includedUsers(deps, req, p, [team]);
    sendDocument(res, 200, { data: serializeTeam(team, { canManage: ctx.role === "owner" }), ...(included.length > 0 ? { included } : {}) });
  });

  r.patch("/teams/:id", async (req, res) => {
    const { team } = await loadTeam(deps, principalOf(req), pathParam(req, "id"), { ownerOnly: true });
    const attrs = parseBody(updateTeamBody, req.body).data.attributes;
    const updated = await updateTeam(deps, team, teamSettings(attrs));
    sendDocument(res, 200, { data: serializeTeam(updated, { canManage: true }) });
  });

  r.delete("/teams/:id", async (req, res) => {
    const { team } = await loadTeam(deps, principalOf(req), pathParam(req, "id"), { ownerOnly: true });
    await deleteTeam(deps, team);
    sendEmpty(res, 204);
  });

  r.post("/teams/:id/relationships/users", async (req, res) => {
    const { team } = await loadTeam(deps, principalOf(req), pathParam(req, "id"), { ownerOnly: true });
    const body = parseBody(membersBody, req.body);
    const userIds = await resolveUsers(deps, body.data.map((d) => d.id));
    await inTransaction(deps.db, (tx) => teamsRepo.addTeamMembers(tx, team.id, userIds));
    sendEmpty(res, 204);
  });

  r.delete("/teams/:id/relationships/users", async (req, res) => {
    const { team } = await loadTeam(deps, principalOf(req), pathParam(req, "id"), { ownerOnly: true });
    const body = parseBody(membersBody, req.body);
    const userIds = await resolveUsers(deps, body.data.map((d) => d.id));
    await inTransaction(deps.db, async (tx) => {
      await teamsRepo.removeTeamMembers(tx, team.id, userIds);
      // An organization always keeps an owner (HCP refuses to empty the owners team).
      if (team.isOwners && (await teamsRepo.countTeamMembers(tx, team.id)) === 0) {
        throw new TarmacError("unprocessable", { detail: "The owners team must keep at least one member" });
      }
    });
    sendEmpty(res, 204);
  });

  // Team access to workspaces: managed by the workspace's admins.

  r.post("/team-workspaces", async (req, res) => {
    const p = principalOf(req);
    const body = parseBody(createTeamWorkspaceBody, req.body);
    const rel = body.data.relationships;
    const { workspace } = await loadWorkspaceForPrincipal(deps, p, rel.workspace.data.id, "can-update");
    const team = await teamsRepo.findTeamFlags(deps.db, rel.team.data.id);
    if (!team || team.organizationId !== workspace.organizationId) throw notFound();
    const taken = () => invalidAttribute("Team has already been taken", "/data/relationships/team/data/id");
    const tws = await withUniqueAs(
      () =>
        inTransaction(deps.db, async (tx) => {
          if (await teamsRepo.findTeamWorkspaceByPair(tx, team.id, workspace.id)) throw taken();
          return teamsRepo.createTeamWorkspace(tx, { teamId: team.id, workspaceId: workspace.id, access: body.data.attributes.access });
        }),
      taken,
    );
    sendDocument(res, 201, { data: serializeTeamWorkspace(tws) });
  });

  r.get("/team-workspaces", async (req, res) => {
    const query = req.query as Record<string, unknown>;
    const filter = query.filter as Record<string, unknown> | undefined;
    const wsFilter = filter?.workspace as Record<string, unknown> | undefined;
    const workspaceId = typeof wsFilter?.id === "string" ? wsFilter.id : typeof query["filter[workspace][id]"] === "string" ? (query["filter[workspace][id]"] as string) : undefined;
    if (!workspaceId) {
      throw new TarmacError("unprocessable", { detail: "filter[workspace][id] is required", source: { parameter: "filter[workspace][id]" } });
    }
    const { workspace } = await loadWorkspaceForPrincipal(deps, principalOf(req), workspaceId, "can-update");
    const page = parsePage(query);
    const { items, total } = await teamsRepo.listTeamWorkspaces(deps.db, workspace.id, page.offset, page.size);
    sendDocument(res, 200, {
      data: items.map(serializeTeamWorkspace),
      ...paginate(page, total, `${deps.publicUrl}/api/v2/team-workspaces`, flattenQuery(query)),
    });
  });

  async function loadTeamWorkspace(req: Request): Promise<teamsRepo.TeamWorkspaceView> {
    const tws = await teamsRepo.findTeamWorkspace(deps.db, pathParam(req, "id"));
    if (!tws) throw notFound();
    await loadWorkspaceForPrincipal(deps, principalOf(req), tws.workspaceId, "can-update");
    return tws;
  }

  r.get("/team-workspaces/:id", async (req, res) => {
    sendDocument(res, 200, { data: serializeTeamWorkspace(await loadTeamWorkspace(req)) });
  });

  r.patch("/team-workspaces/:id", async (req, res) => {
    const tws = await loadTeamWorkspace(req);
    const body = parseBody(updateTeamWorkspaceBody, req.body);
    const updated = await inTransaction(deps.db, (tx) => teamsRepo.updateTeamWorkspace(tx, tws.id, body.data.attributes.access));
    sendDocument(res, 200, { data: serializeTeamWorkspace(updated) });
  });

  r.delete("/team-workspaces/:id", async (req, res) => {
    const tws = await loadTeamWorkspace(req);
    await teamsRepo.deleteTeamWorkspace(deps.db, tws.id);
    sendEmpty(res, 204);
  });

  return r;
}
