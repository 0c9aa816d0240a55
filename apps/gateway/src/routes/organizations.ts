import { Router } from "express";
import { z } from "zod";
import { inTransaction, organizationsRepo, projectsRepo } from "@tarmac/db";
import { notFound, organizationPermissions, tokenKindOfStanding } from "@tarmac/domain";
import { flattenQuery, paginate, parsePage, parseStringParam } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { clearTokenCache, principalOf } from "../http/auth";
import { invalidAttribute, jsonApiDocument, parseBody, resourceName, withUniqueAs } from "../http/request-body";
import { guards, organizationOf } from "../http/requires";
import { sendDocument, sendEmpty } from "../http/respond";
import { organizationContext } from "../http/workspace-access";
import { serializeEntitlementSet, serializeOrganization } from "../serializers/organizations";

const NAME_MAX = 90;

const orgAttributes = z.object({
  name: resourceName(NAME_MAX).optional(),
  email: z.email("Email is invalid").max(254).optional(),
  "session-timeout": z.number().int().positive().max(1_000_000).nullable().optional(),
  "session-remember": z.number().int().positive().max(1_000_000).nullable().optional(),
  "collaborator-auth-policy": z.enum(["password", "two_factor_mandatory"]).optional(),
  "cost-estimation-enabled": z.boolean().optional(),
  /** Tarmac-only: how many runs of the organization may be active at once. */
  "tarmac-run-concurrency": z.number().int().min(1).max(10_000).optional(),
});

const createBody = jsonApiDocument("organizations", orgAttributes.extend({ name: resourceName(NAME_MAX), email: z.email("Email is invalid").max(254) }));
const updateBody = jsonApiDocument("organizations", orgAttributes);

function settingsFrom(a: z.infer<typeof orgAttributes>): organizationsRepo.OrganizationSettings {
  const s: organizationsRepo.OrganizationSettings = {};
  if (a.name !== undefined) s.name = a.name;
  if (a.email !== undefined) s.email = a.email;
  if (a["session-timeout"] !== undefined) s.sessionTimeout = a["session-timeout"];
  if (a["session-remember"] !== undefined) s.sessionRemember = a["session-remember"];
  if (a["collaborator-auth-policy"] !== undefined) s.collaboratorAuthPolicy = a["collaborator-auth-policy"];
  if (a["cost-estimation-enabled"] !== undefined) s.costEstimationEnabled = a["cost-estimation-enabled"];
  if (a["tarmac-run-concurrency"] !== undefined) s.runConcurrency = a["tarmac-run-concurrency"];
  return s;
}

const nameTaken = () => invalidAttribute("Name has already been taken", "/data/attributes/name");

export function organizationsRouter(deps: GatewayDeps): Router {
  const r = Router();
  const requires = guards(deps);

  // Any user may create an organization and becomes its owner (HCP); team and organization tokens may not.
  r.post("/organizations", async (req, res) => {
    const p = principalOf(req);
    if (p.kind !== "user") throw notFound();
    const body = parseBody(createBody, req.body);
    const attrs = body.data.attributes;
    const org = await withUniqueAs(() => inTransaction(deps.db, async (tx) => {
      if (await organizationsRepo.isOrganizationNameTaken(tx, attrs.name)) throw nameTaken();
      const { organization } = await organizationsRepo.createOrganization(
        tx,
        // HCP's documented default: cost estimation on unless the request turns it off.
        { costEstimationEnabled: true, ...settingsFrom(attrs), name: attrs.name, email: attrs.email },
        p.user.id,
      );
      return organization;
    }), nameTaken);
    const defaultProjectId = await projectsRepo.defaultProjectId(deps.db, org.id);
    sendDocument(res, 201, { data: serializeOrganization(org, { role: "owner", canManageWorkspaces: true, defaultProjectId }) });
  });

  r.get("/organizations", async (req, res) => {
    const p = principalOf(req);
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const q = typeof query.q === "string" && query.q !== "" ? query.q : parseStringParam(query, "search", "name");
    const base = { offset: page.offset, limit: page.size, ...(q ? { nameContains: q } : {}) };
    const { items, total } = await organizationsRepo.listOrganizations(
      deps.db,
      p.kind === "user"
        ? p.user.isSiteAdmin
          ? base
          : { ...base, memberUserId: p.user.id }
        : { ...base, ids: [p.kind === "team" ? p.team.organizationId : p.organizationId] },
    );
    const data = [];
    for (const org of items) {
      const ctx = await organizationContext(deps.db, p, org);
      if (ctx) {
        const defaultProjectId = await projectsRepo.defaultProjectId(deps.db, org.id);
        data.push(serializeOrganization(org, { role: ctx.role, canManageWorkspaces: ctx.managesWorkspaces, canManageRunTasks: ctx.managesRunTasks === true, tokenKind: tokenKindOfStanding(ctx.standing), defaultProjectId }));
      }
    }
    sendDocument(res, 200, { data, ...paginate(page, total, `${deps.publicUrl}/api/v2/organizations`, flattenQuery(query)) });
  });

  r.get("/organizations/:name", requires("organization", "member"), async (_req, res) => {
    const ctx = organizationOf(res);
    const defaultProjectId = await projectsRepo.defaultProjectId(deps.db, ctx.organization.id);
    sendDocument(res, 200, {
      data: serializeOrganization(ctx.organization, { role: ctx.role, canManageWorkspaces: ctx.managesWorkspaces, canManageRunTasks: ctx.managesRunTasks === true, tokenKind: tokenKindOfStanding(ctx.standing), defaultProjectId }),
    });
  });

  r.patch("/organizations/:name", requires("organization", "owner"), async (req, res) => {
    const ctx = organizationOf(res);
    const attrs = parseBody(updateBody, req.body).data.attributes;
    const org = await withUniqueAs(() => inTransaction(deps.db, async (tx) => {
      if (attrs.name !== undefined && (await organizationsRepo.isOrganizationNameTaken(tx, attrs.name, ctx.organization.id))) {
        throw nameTaken();
      }
      return organizationsRepo.updateOrganization(tx, ctx.organization.id, settingsFrom(attrs));
    }), nameTaken);
    const defaultProjectId = await projectsRepo.defaultProjectId(deps.db, org.id);
    sendDocument(res, 200, { data: serializeOrganization(org, { role: ctx.role, canManageWorkspaces: ctx.managesWorkspaces, canManageRunTasks: ctx.managesRunTasks === true, tokenKind: tokenKindOfStanding(ctx.standing), defaultProjectId }) });
  });

  // Organization tokens may manage their organization but not destroy it (the resolver's can-destroy).
  r.delete("/organizations/:name", requires("organization", "owner"), async (_req, res) => {
    const ctx = organizationOf(res);
    if (!organizationPermissions(ctx, tokenKindOfStanding(ctx.standing))["can-destroy"]) throw notFound();
    await organizationsRepo.deleteOrganization(deps.db, ctx.organization.id);
    clearTokenCache();
    sendEmpty(res, 204);
  });

  r.get("/organizations/:name/entitlement-set", requires("organization", "member"), async (_req, res) => {
    const ctx = organizationOf(res);
    sendDocument(res, 200, { data: serializeEntitlementSet(ctx.organization) });
  });

  return r;
}
