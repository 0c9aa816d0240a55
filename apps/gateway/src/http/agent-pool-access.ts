import { agentPoolsRepo, organizationsRepo } from "@tarmac/db";
import { isId, notFound, organizationPermissions, tokenKindOfStanding } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import type { Principal } from "./auth";
import { organizationContext, type OrganizationContext } from "./workspace-access";

/**
 * Agent pools (HCP): any member of the organization may read its pools and their agents, so a
 * workspace admin can pick one; only owners (the owners team, the organization's token, site
 * admins: the resolver's `owner` role, the holders of `can-update-agent-pools`) manage pools and
 * their tokens. Anyone else gets the 404 a missing pool gets.
 */
export type AgentPoolNeed = "read" | "manage";

export interface LoadedAgentPool {
  pool: agentPoolsRepo.AgentPoolView;
  organization: OrganizationContext;
}

/** The principal's standing in an organization known by id; null when it has none. */
export async function organizationContextById(
  deps: Pick<GatewayDeps, "db">,
  principal: Principal,
  organizationId: string,
): Promise<OrganizationContext | null> {
  const organization = await organizationsRepo.findOrganizationById(deps.db, organizationId);
  return organization ? organizationContext(deps.db, principal, organization) : null;
}

/** Reading needs any standing; managing needs the organization permission the API reports for it. */
export function mayUse(ctx: OrganizationContext | null, need: AgentPoolNeed): ctx is OrganizationContext {
  if (ctx === null) return false;
  return need === "read" || organizationPermissions(ctx, tokenKindOfStanding(ctx.standing))["can-update-agent-pools"];
}

export async function loadAgentPoolForPrincipal(
  deps: Pick<GatewayDeps, "db">,
  principal: Principal,
  poolId: string,
  need: AgentPoolNeed,
): Promise<LoadedAgentPool> {
  if (!isId("apool", poolId)) throw notFound();
  const pool = await agentPoolsRepo.findAgentPoolView(deps.db, poolId);
  if (!pool) throw notFound();
  const ctx = await organizationContextById(deps, principal, pool.organizationId);
  if (!mayUse(ctx, need)) throw notFound();
  return { pool, organization: ctx };
}
