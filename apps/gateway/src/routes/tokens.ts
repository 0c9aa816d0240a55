import { Router } from "express";
import { z } from "zod";
import { agentPoolsRepo, organizationsRepo, teamsRepo, tokensRepo, usersRepo } from "@tarmac/db";
import { notFound } from "@tarmac/domain";
import { flattenQuery, paginate, parsePage } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { mayUse, organizationContextById } from "../http/agent-pool-access";
import { principalOf, type Principal } from "../http/auth";
import { invalidAttribute, parseBody, pathParam } from "../http/request-body";
import { sendDocument, sendEmpty } from "../http/respond";
import { guards, organizationOf } from "../http/requires";
import { organizationContext } from "../http/workspace-access";
import { serializeAgentToken } from "../serializers/agent-pools";
import { serializeToken } from "../serializers/users";
import { revokeAgentToken } from "../services/agent-pools";
import { issueToken, revokeToken } from "../services/tokens";

// go-tfe sends `{"data":{"type":"authentication-tokens","attributes":{...}}}`; an empty body is fine too.
const createTokenBody = z
  .object({
    data: z
      .object({
        type: z.string().optional(),
        attributes: z
          .object({
            description: z.string().max(255).nullable().optional(),
            "expired-at": z.iso.datetime({ offset: true }).nullable().optional(),
          })
          .optional(),
      })
      .optional(),
  })
  .nullable()
  .optional();

function tokenOptions(deps: GatewayDeps, body: unknown): { description: string | null; expiredAt: Date | null } {
  const attrs = parseBody(createTokenBody, body)?.data?.attributes;
  const expiredAt = attrs?.["expired-at"] ? new Date(attrs["expired-at"]) : null;
  if (expiredAt && expiredAt <= deps.now()) throw invalidAttribute("Expired at must be in the future", "/data/attributes/expired-at");
  return { description: attrs?.description ?? null, expiredAt };
}

/** User tokens are managed by their user and by site admins. */
function mayManageUserTokens(p: Principal, userId: string): boolean {
  return p.kind === "user" && (p.user.id === userId || p.user.isSiteAdmin);
}

/** Team and organization tokens are managed by the organization's owners. */
async function isOrganizationOwner(deps: GatewayDeps, p: Principal, organizationId: string): Promise<boolean> {
  const org = await organizationsRepo.findOrganizationById(deps.db, organizationId);
  if (!org) return false;
  return (await organizationContext(deps.db, p, org))?.role === "owner";
}

async function mayManageToken(deps: GatewayDeps, p: Principal, token: tokensRepo.ApiToken): Promise<boolean> {
  switch (token.kind) {
    case "user":
      return token.userId !== null && mayManageUserTokens(p, token.userId);
    case "team": {
      const team = token.teamId ? await teamsRepo.findTeamFlags(deps.db, token.teamId) : null;
      return team !== null && (await isOrganizationOwner(deps, p, team.organizationId));
    }
    case "organization":
      return token.organizationId !== null && (await isOrganizationOwner(deps, p, token.organizationId));
  }
  return false;
}

/** An agent token the principal may manage (it manages the token's pool); 404 otherwise. */
async function findManagedAgentToken(deps: GatewayDeps, p: Principal, id: string): Promise<agentPoolsRepo.AgentToken> {
  const token = await agentPoolsRepo.findAgentToken(deps.db, id);
  if (!token || !mayUse(await organizationContextById(deps, p, token.organizationId), "manage")) throw notFound();
  return token;
}

async function loadOwnedTeam(deps: GatewayDeps, p: Principal, teamId: string): Promise<{ id: string; organizationId: string }> {
  const team = await teamsRepo.findTeamFlags(deps.db, teamId);
  if (!team || !(await isOrganizationOwner(deps, p, team.organizationId))) throw notFound();
  return team;
}

/**
 * API tokens (notes §1.8): shown once at creation in attribute `token`, stored
 * only as a hash. One token per team and per organization: creating replaces.
 */
export function tokensRouter(deps: GatewayDeps): Router {
  const r = Router();
  const requires = guards(deps);

  r.post("/users/:userId/authentication-tokens", async (req, res) => {
    const p = principalOf(req);
    const userId = pathParam(req, "userId");
    if (!mayManageUserTokens(p, userId) || !(await usersRepo.findUserById(deps.db, userId))) throw notFound();
    const opts = tokenOptions(deps, req.body);
    const { token, value } = await issueToken(deps, p, { kind: "user", userId }, opts);
    sendDocument(res, 201, { data: serializeToken(token, value) });
  });

  r.get("/users/:userId/authentication-tokens", async (req, res) => {
    const p = principalOf(req);
    const userId = pathParam(req, "userId");
    if (!mayManageUserTokens(p, userId) || !(await usersRepo.findUserById(deps.db, userId))) throw notFound();
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const { items, total } = await tokensRepo.listUserTokens(deps.db, userId, page.offset, page.size);
    sendDocument(res, 200, {
      data: items.map((t) => serializeToken(t)),
      ...paginate(page, total, `${deps.publicUrl}/api/v2/users/${userId}/authentication-tokens`, flattenQuery(query)),
    });
  });

  // One path for API tokens and agent tokens (HCP's `at-` ids both): an id not found among API
  // tokens is looked up among agent tokens, which their pool's managers read and revoke.
  r.get("/authentication-tokens/:id", async (req, res) => {
    const id = pathParam(req, "id");
    const token = await tokensRepo.findToken(deps.db, id);
    if (token) {
      if (!(await mayManageToken(deps, principalOf(req), token))) throw notFound();
      sendDocument(res, 200, { data: serializeToken(token) });
      return;
    }
    const agentToken = await findManagedAgentToken(deps, principalOf(req), id);
    sendDocument(res, 200, { data: serializeAgentToken(agentToken) });
  });

  r.delete("/authentication-tokens/:id", async (req, res) => {
    const id = pathParam(req, "id");
    const token = await tokensRepo.findToken(deps.db, id);
    if (token) {
      if (!(await mayManageToken(deps, principalOf(req), token))) throw notFound();
      await revokeToken(deps, { id: token.id });
    } else {
      await revokeAgentToken(deps, (await findManagedAgentToken(deps, principalOf(req), id)).id);
    }
    sendEmpty(res, 204);
  });

  r.post("/teams/:id/authentication-token", async (req, res) => {
    const p = principalOf(req);
    const team = await loadOwnedTeam(deps, p, pathParam(req, "id"));
    const opts = tokenOptions(deps, req.body);
    // The team's previous token is revoked.
    const { token, value } = await issueToken(deps, p, { kind: "team", teamId: team.id }, opts);
    sendDocument(res, 201, { data: serializeToken(token, value) });
  });

  r.get("/teams/:id/authentication-token", async (req, res) => {
    const team = await loadOwnedTeam(deps, principalOf(req), pathParam(req, "id"));
    const token = await tokensRepo.findTeamToken(deps.db, team.id);
    if (!token) throw notFound();
    sendDocument(res, 200, { data: serializeToken(token) });
  });

  r.delete("/teams/:id/authentication-token", async (req, res) => {
    const team = await loadOwnedTeam(deps, principalOf(req), pathParam(req, "id"));
    await revokeToken(deps, { teamId: team.id });
    sendEmpty(res, 204);
  });

  r.post("/organizations/:name/authentication-token", requires("organization", "owner"), async (req, res) => {
    const p = principalOf(req);
    const ctx = organizationOf(res);
    const opts = tokenOptions(deps, req.body);
    // The organization's previous token is revoked.
    const { token, value } = await issueToken(deps, p, { kind: "organization", organizationId: ctx.organization.id }, opts);
    sendDocument(res, 201, { data: serializeToken(token, value) });
  });

  r.get("/organizations/:name/authentication-token", requires("organization", "owner"), async (_req, res) => {
    const ctx = organizationOf(res);
    const token = await tokensRepo.findOrganizationToken(deps.db, ctx.organization.id);
    if (!token) throw notFound();
    sendDocument(res, 200, { data: serializeToken(token) });
  });

  r.delete("/organizations/:name/authentication-token", requires("organization", "owner"), async (_req, res) => {
    const ctx = organizationOf(res);
    await revokeToken(deps, { organizationId: ctx.organization.id });
    sendEmpty(res, 204);
  });

  return r;
}
