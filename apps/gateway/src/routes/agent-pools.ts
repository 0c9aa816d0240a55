import { Router, type Request } from "express";
import { z } from "zod";
import { agentPoolsRepo, workspacesRepo } from "@tarmac/db";
import { badRequest, notFound } from "@tarmac/domain";
import { addIncluded, flattenQuery, paginate, parseInclude, parsePage, parseStringParam, type Resource } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { mayUse, organizationContextById, type LoadedAgentPool } from "../http/agent-pool-access";
import { principalOf } from "../http/auth";
import { jsonApiDocument, parseBody, pathParam } from "../http/request-body";
import { agentPoolOf, guards, organizationOf } from "../http/requires";
import { sendDocument, sendEmpty } from "../http/respond";
import { workspaceAccessMap, type OrganizationContext } from "../http/workspace-access";
import { serializeAgent, serializeAgentPool, serializeAgentToken } from "../serializers/agent-pools";
import { serializeWorkspace } from "../serializers/workspaces";
import * as agentPools from "../services/agent-pools";

// go-tfe's validStringID: what its AgentPoolCreateOptions accepts as a name.
const poolName = z
  .string()
  .min(1, "Name can't be blank")
  .max(255, "Name is too long (maximum is 255 characters)")
  .regex(/^[A-Za-z0-9._-]+$/, "Name is invalid: only letters, numbers, ., - and _ are allowed");

const workspaceRefs = z.object({ data: z.array(z.object({ type: z.literal("workspaces"), id: z.string().min(1).max(64) })).max(1000) });
// Tarmac scopes pools by workspace only: project allow-lists and exclusions may be sent empty (go-tfe's zero values), never set.
const emptyOnly = z.object({ data: z.array(z.unknown()).max(0, "is not supported: Tarmac scopes agent pools by workspace only").nullable() });

const poolRelationships = z
  .object({
    "allowed-workspaces": workspaceRefs.optional(),
    "allowed-projects": emptyOnly.optional(),
    "excluded-workspaces": emptyOnly.optional(),
  })
  .passthrough()
  .nullable()
  .optional();

const poolAttributes = z.object({ name: poolName.optional(), "organization-scoped": z.boolean().optional() });
const createPoolBody = jsonApiDocument("agent-pools", poolAttributes.extend({ name: poolName }), poolRelationships);
const updatePoolBody = jsonApiDocument("agent-pools", poolAttributes, poolRelationships);

// go-tfe sends type "agent-tokens"; the answer's type is "authentication-tokens".
const createTokenBody = z.object({
  data: z.object({
    type: z.enum(["agent-tokens", "authentication-tokens"]),
    attributes: z.object({ description: z.string().trim().min(1, "Description can't be blank").max(255) }),
  }),
});

function allowedWorkspaceIdsOf(relationships: z.infer<typeof poolRelationships>): string[] | undefined {
  return relationships?.["allowed-workspaces"]?.data.map((w) => w.id);
}

/** `sort=name|created-at`, `-` first for descending; anything else is a 400 naming the parameter. */
function parseSort<F extends string>(query: Record<string, unknown>, fields: readonly F[]): { field: F; descending: boolean } | undefined {
  const raw = query.sort;
  if (raw === undefined || raw === "") return undefined;
  const value = typeof raw === "string" ? raw : "";
  const descending = value.startsWith("-");
  const field = (descending ? value.slice(1) : value) as F;
  if (!fields.includes(field)) throw badRequest(`invalid sort: must be one of ${fields.join(", ")}, optionally prefixed with -`, { parameter: "sort" });
  return { field, descending };
}

/** `filter[allowed_workspaces][name]` (HCP's docs and go-tfe) or `filter[allowed-workspaces][name]` (HCP's OpenAPI). */
function allowedWorkspaceFilter(query: Record<string, unknown>): string | undefined {
  const nested = (key: string): string | undefined => {
    const filter = query.filter as Record<string, unknown> | undefined;
    const group = filter && typeof filter === "object" ? (filter[key] as Record<string, unknown> | undefined) : undefined;
    const raw = group && typeof group === "object" ? group.name : query[`filter[${key}][name]`];
    return typeof raw === "string" ? raw : undefined;
  };
  return nested("allowed_workspaces") ?? nested("allowed-workspaces");
}

/** `include=workspaces`: the workspaces using the pools, those the principal may see. */
async function includedWorkspaces(deps: GatewayDeps, req: Request, ctx: OrganizationContext, pools: agentPoolsRepo.AgentPoolView[]): Promise<Resource[]> {
  if (!parseInclude(req.query as Record<string, unknown>).has("workspaces")) return [];
  const ids = [...new Set(pools.flatMap((p) => p.workspaceIds))];
  if (ids.length === 0) return [];
  const access = await workspaceAccessMap(deps.db, ctx, ids);
  const principal = principalOf(req);
  const included: Resource[] = [];
  for (const id of ids) {
    const level = access.get(id) ?? null;
    if (level === null) continue;
    const ws = await workspacesRepo.findWorkspaceView(deps.db, id);
    if (ws) addIncluded(included, [serializeWorkspace(ws, { access: level, tokenKind: principal.kind })]);
  }
  return included;
}

async function sendPool(deps: GatewayDeps, req: Request, res: Parameters<typeof sendDocument>[0], status: number, loaded: LoadedAgentPool) {
  const included = await includedWorkspaces(deps, req, loaded.organization, [loaded.pool]);
  sendDocument(res, status, { data: serializeAgentPool(loaded.pool), ...(included.length > 0 ? { included } : {}) });
}

/**
 * HCP Terraform's agent pools API: pools of an organization, their agent tokens and their agents.
 * Members read pools and agents; owners manage pools and tokens (`http/agent-pool-access.ts`).
 */
export function agentPoolsRouter(deps: GatewayDeps): Router {
  const r = Router();
  const requires = guards(deps);

  r.get("/organizations/:org/agent-pools", requires("organization", "member"), async (req, res) => {
    const ctx = organizationOf(res);
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const q = typeof query.q === "string" ? query.q : undefined;
    const allowed = allowedWorkspaceFilter(query);
    const sort = parseSort(query, ["name", "created-at"] as const);
    const { items, total } = await agentPoolsRepo.listAgentPoolViews(deps.db, {
      organizationId: ctx.organization.id,
      ...(q ? { q: q.replace(/\u0000/g, "") } : {}),
      ...(allowed !== undefined ? { allowedWorkspaceName: allowed.replace(/\u0000/g, "") } : {}),
      ...(sort ? { sort } : {}),
      offset: page.offset,
      limit: page.size,
    });
    const included = await includedWorkspaces(deps, req, ctx, items);
    sendDocument(res, 200, {
      data: items.map(serializeAgentPool),
      ...(included.length > 0 ? { included } : {}),
      ...paginate(page, total, `${deps.publicUrl}/api/v2/organizations/${encodeURIComponent(ctx.organization.name)}/agent-pools`, flattenQuery(query)),
    });
  });

  r.post("/organizations/:org/agent-pools", requires("organization", "owner"), async (req, res) => {
    const ctx = organizationOf(res);
    if (!mayUse(ctx, "manage")) throw notFound();
    const body = parseBody(createPoolBody, req.body).data;
    const allowedWorkspaceIds = allowedWorkspaceIdsOf(body.relationships);
    const pool = await agentPools.createAgentPool(deps, ctx.organization.id, {
      name: body.attributes.name,
      ...(body.attributes["organization-scoped"] !== undefined ? { organizationScoped: body.attributes["organization-scoped"] } : {}),
      ...(allowedWorkspaceIds ? { allowedWorkspaceIds } : {}),
    });
    await sendPool(deps, req, res, 201, { pool, organization: ctx });
  });

  r.get("/agent-pools/:id", requires("agent-pool", "read"), async (req, res) => {
    await sendPool(deps, req, res, 200, agentPoolOf(res));
  });

  r.patch("/agent-pools/:id", requires("agent-pool", "manage"), async (req, res) => {
    const loaded = agentPoolOf(res);
    const body = parseBody(updatePoolBody, req.body).data;
    const allowedWorkspaceIds = allowedWorkspaceIdsOf(body.relationships);
    const pool = await agentPools.updateAgentPool(deps, loaded.pool, {
      ...(body.attributes.name !== undefined ? { name: body.attributes.name } : {}),
      ...(body.attributes["organization-scoped"] !== undefined ? { organizationScoped: body.attributes["organization-scoped"] } : {}),
      ...(allowedWorkspaceIds ? { allowedWorkspaceIds } : {}),
    });
    await sendPool(deps, req, res, 200, { ...loaded, pool });
  });

  r.delete("/agent-pools/:id", requires("agent-pool", "manage"), async (_req, res) => {
    await agentPools.deleteAgentPool(deps, agentPoolOf(res).pool.id);
    sendEmpty(res, 204);
  });

  // Agent tokens: shown once at creation; managed by those who manage the pool.
  r.post("/agent-pools/:id/authentication-tokens", requires("agent-pool", "manage"), async (req, res) => {
    const { pool } = agentPoolOf(res);
    const description = parseBody(createTokenBody, req.body).data.attributes.description;
    const { token, value } = await agentPools.issueAgentToken(deps, principalOf(req), pool.id, description);
    sendDocument(res, 201, { data: serializeAgentToken(token, value) });
  });

  r.get("/agent-pools/:id/authentication-tokens", requires("agent-pool", "manage"), async (req, res) => {
    const { pool } = agentPoolOf(res);
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const { items, total } = await agentPoolsRepo.listAgentTokens(deps.db, pool.id, { offset: page.offset, limit: page.size });
    sendDocument(res, 200, {
      data: items.map((t) => serializeAgentToken(t)),
      ...paginate(page, total, `${deps.publicUrl}/api/v2/agent-pools/${pool.id}/authentication-tokens`, flattenQuery(query)),
    });
  });

  r.get("/agent-pools/:id/agents", requires("agent-pool", "read"), async (req, res) => {
    const { pool } = agentPoolOf(res);
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const since = parseStringParam(query, "filter", "last-ping-since");
    let lastPingSince: Date | undefined;
    if (since !== undefined && since !== "") {
      lastPingSince = new Date(since);
      if (!/^\d{4}-\d{2}-\d{2}T/.test(since) || Number.isNaN(lastPingSince.getTime())) {
        throw badRequest("filter[last-ping-since] must be an ISO 8601 time, e.g. 2020-08-11T10:41:23Z", { parameter: "filter[last-ping-since]" });
      }
    }
    const sort = parseSort(query, ["created-at"] as const);
    const { items, total } = await agentPoolsRepo.listAgents(deps.db, pool.id, {
      ...(lastPingSince ? { lastPingSince } : {}),
      ...(sort ? { sort } : {}),
      offset: page.offset,
      limit: page.size,
    });
    const now = deps.now();
    sendDocument(res, 200, {
      data: items.map((a) => serializeAgent(a, now)),
      ...paginate(page, total, `${deps.publicUrl}/api/v2/agent-pools/${pool.id}/agents`, flattenQuery(query)),
    });
  });

  r.get("/agents/:id", async (req, res) => {
    // Agents are registered by the agent protocol; their ids are looked up as they are.
    const agent = await agentPoolsRepo.findAgent(deps.db, pathParam(req, "id"));
    if (!agent || !mayUse(await organizationContextById(deps, principalOf(req), agent.organizationId), "read")) throw notFound();
    sendDocument(res, 200, { data: serializeAgent(agent, deps.now()) });
  });

  return r;
}
