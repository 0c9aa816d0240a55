import type { agentPoolsRepo } from "@tarmac/db";
import { effectiveAgentStatus } from "@tarmac/domain";
import { time, toMany, toOne, type Resource } from "@tarmac/jsonapi";

export function agentPoolPath(id: string): string {
  return `/api/v2/agent-pools/${id}`;
}

/**
 * An `agent-pools` resource as HCP writes it. Tarmac scopes pools by workspace only: the
 * project allow-list and workspace exclusions HCP also has are always empty.
 */
export function serializeAgentPool(pool: agentPoolsRepo.AgentPoolView): Resource {
  const self = agentPoolPath(pool.id);
  return {
    id: pool.id,
    type: "agent-pools",
    attributes: {
      name: pool.name,
      "created-at": time(pool.createdAt),
      "organization-scoped": pool.organizationScoped,
      "agent-count": pool.agentCount,
    },
    relationships: {
      agents: { links: { related: `${self}/agents` } },
      "authentication-tokens": { links: { related: `${self}/authentication-tokens` } },
      workspaces: toMany("workspaces", pool.workspaceIds),
      "allowed-workspaces": toMany("workspaces", pool.allowedWorkspaceIds),
      "allowed-projects": toMany("projects", []),
      "excluded-workspaces": toMany("workspaces", []),
      organization: toOne("organizations", pool.organizationName),
    },
    links: { self },
  };
}

/**
 * An agent token as HCP shows it: an `authentication-tokens` resource whose `token` is the
 * value only in the answer that created it.
 */
export function serializeAgentToken(token: agentPoolsRepo.AgentToken, value: string | null = null): Resource {
  return {
    id: token.id,
    type: "authentication-tokens",
    attributes: {
      "created-at": time(token.createdAt),
      description: token.description,
      "last-used-at": time(token.lastUsedAt),
      token: value,
    },
    relationships: {
      "created-by": toOne("users", token.createdById),
    },
    links: { self: `/api/v2/authentication-tokens/${token.id}` },
  };
}

/** An `agents` resource; a live agent silent past the threshold reads `unknown`. */
export function serializeAgent(agent: agentPoolsRepo.Agent, now: Date): Resource {
  return {
    id: agent.id,
    type: "agents",
    attributes: {
      name: agent.name,
      status: effectiveAgentStatus(agent, now),
      "ip-address": agent.ipAddress,
      "last-ping-at": time(agent.lastPingAt),
    },
    relationships: {
      "agent-pool": toOne("agent-pools", agent.agentPoolId, agentPoolPath(agent.agentPoolId)),
    },
    links: { self: `/api/v2/agents/${agent.id}` },
  };
}
