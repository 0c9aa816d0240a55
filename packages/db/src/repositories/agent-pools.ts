import { COUNTED_AGENT_STATUSES, newId } from "@tarmac/domain";
import type { Db, Tx } from "../client";
import type { Prisma } from "../generated/prisma/client";
import type { AgentModel, AgentTokenModel } from "../generated/prisma/models";
import { hashSecret } from "../secrets";
import { generateTokenValue } from "./tokens";

/**
 * Agent pools, their allowed workspaces, agent tokens and agents, as the pools API reads and
 * writes them. The agent protocol (registration, heartbeats, jobs) writes `agents` and finds a
 * token with findAgentTokenByValue; nothing here changes a run.
 */

export type AgentToken = AgentTokenModel;
export type Agent = AgentModel;

const poolViewInclude = {
  organization: { select: { id: true, name: true } },
  workspaces: { select: { id: true }, orderBy: { name: "asc" } },
  allowedWorkspaces: { select: { workspaceId: true }, orderBy: { createdAt: "asc" } },
  _count: { select: { agents: { where: { status: { in: [...COUNTED_AGENT_STATUSES] } } } } },
} satisfies Prisma.AgentPoolInclude;

type PoolRow = Prisma.AgentPoolGetPayload<{ include: typeof poolViewInclude }>;

/** Everything the agent-pools serializer needs. */
export interface AgentPoolView {
  id: string;
  name: string;
  organizationId: string;
  organizationName: string;
  organizationScoped: boolean;
  createdAt: Date;
  /** Workspaces whose runs this pool executes (`workspaces.agent_pool_id`). */
  workspaceIds: string[];
  /** Workspaces allowed to use the pool when it is not organization-scoped. */
  allowedWorkspaceIds: string[];
  /** Agents idle, busy or unknown: HCP's agent-count leaves errored and exited agents out. */
  agentCount: number;
}

function toView(row: PoolRow): AgentPoolView {
  return {
    id: row.id,
    name: row.name,
    organizationId: row.organizationId,
    organizationName: row.organization.name,
    organizationScoped: row.organizationScoped,
    createdAt: row.createdAt,
    workspaceIds: row.workspaces.map((w) => w.id),
    allowedWorkspaceIds: row.allowedWorkspaces.map((a) => a.workspaceId),
    agentCount: row._count.agents,
  };
}

export async function findAgentPoolView(db: Db | Tx, id: string): Promise<AgentPoolView | null> {
  const row = await db.agentPool.findUnique({ where: { id }, include: poolViewInclude });
  return row ? toView(row) : null;
}

export interface AgentPoolListQuery {
  organizationId: string;
  /** `q`: a substring of the name, case-insensitive. */
  q?: string;
  /** `filter[allowed_workspaces][name]`: pools that workspace may use (organization-scoped or allowing it). */
  allowedWorkspaceName?: string;
  /** `name` or `created-at`, `-` first for descending. */
  sort?: { field: "name" | "created-at"; descending: boolean };
  offset: number;
  limit: number;
}

export async function listAgentPoolViews(db: Db | Tx, q: AgentPoolListQuery): Promise<{ items: AgentPoolView[]; total: number }> {
  const and: Prisma.AgentPoolWhereInput[] = [{ organizationId: q.organizationId }];
  if (q.q) and.push({ name: { contains: q.q, mode: "insensitive" } });
  if (q.allowedWorkspaceName !== undefined) {
    const workspace = { organizationId: q.organizationId, name: q.allowedWorkspaceName };
    and.push({
      // A workspace that does not exist may use no pool.
      organization: { workspaces: { some: workspace } },
      OR: [{ organizationScoped: true }, { allowedWorkspaces: { some: { workspace } } }],
    });
  }
  const where: Prisma.AgentPoolWhereInput = { AND: and };
  const direction = q.sort?.descending ? "desc" : "asc";
  const orderBy: Prisma.AgentPoolOrderByWithRelationInput[] =
    q.sort?.field === "created-at" ? [{ createdAt: direction }, { id: direction }] : [{ name: direction }, { id: direction }];
  const [rows, total] = await Promise.all([
    db.agentPool.findMany({ where, include: poolViewInclude, orderBy, skip: q.offset, take: q.limit }),
    db.agentPool.count({ where }),
  ]);
  return { items: rows.map(toView), total };
}

export async function isAgentPoolNameTaken(db: Db | Tx, organizationId: string, name: string, exceptId?: string): Promise<boolean> {
  const row = await db.agentPool.findUnique({ where: { organizationId_name: { organizationId, name } }, select: { id: true } });
  return row !== null && row.id !== exceptId;
}

/** Of the given ids, those naming workspaces of the organization. */
export async function workspaceIdsInOrganization(db: Db | Tx, organizationId: string, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const rows = await db.workspace.findMany({ where: { organizationId, id: { in: [...ids] } }, select: { id: true } });
  return new Set(rows.map((r) => r.id));
}

export interface AgentPoolChange {
  name?: string;
  organizationScoped?: boolean;
  /** Replaces the allowed workspaces (already checked to be the organization's). */
  allowedWorkspaceIds?: readonly string[];
}

export async function createAgentPool(
  tx: Tx,
  organizationId: string,
  input: AgentPoolChange & { name: string },
): Promise<AgentPoolView> {
  const id = newId("apool");
  await tx.agentPool.create({
    data: { id, organizationId, name: input.name, organizationScoped: input.organizationScoped ?? true },
  });
  if (input.allowedWorkspaceIds?.length) {
    await tx.agentPoolAllowedWorkspace.createMany({ data: input.allowedWorkspaceIds.map((workspaceId) => ({ agentPoolId: id, workspaceId })) });
  }
  const view = await findAgentPoolView(tx, id);
  if (!view) throw new Error(`agent pool ${id} vanished after create`);
  return view;
}

/**
 * Changes a pool. A rename is carried to the denormalized `agent_pool_name` of the workspaces using
 * the pool, in the same transaction; runs keep the name they were created with.
 */
export async function updateAgentPool(tx: Tx, id: string, change: AgentPoolChange): Promise<AgentPoolView> {
  const data: Prisma.AgentPoolUpdateInput = {};
  if (change.name !== undefined) data.name = change.name;
  if (change.organizationScoped !== undefined) data.organizationScoped = change.organizationScoped;
  await tx.agentPool.update({ where: { id }, data });
  if (change.name !== undefined) {
    await tx.workspace.updateMany({ where: { agentPoolId: id }, data: { agentPoolName: change.name } });
  }
  if (change.allowedWorkspaceIds !== undefined) {
    await tx.agentPoolAllowedWorkspace.deleteMany({ where: { agentPoolId: id, workspaceId: { notIn: [...change.allowedWorkspaceIds] } } });
    if (change.allowedWorkspaceIds.length > 0) {
      await tx.agentPoolAllowedWorkspace.createMany({
        data: change.allowedWorkspaceIds.map((workspaceId) => ({ agentPoolId: id, workspaceId })),
        skipDuplicates: true,
      });
    }
  }
  const view = await findAgentPoolView(tx, id);
  if (!view) throw new Error(`agent pool ${id} vanished after update`);
  return view;
}

/** The pool row locked for the rest of the transaction (delete and assignment serialize on it). */
export async function lockAgentPool(tx: Tx, id: string): Promise<{ id: string; organizationId: string; name: string; organizationScoped: boolean } | null> {
  const rows = await tx.$queryRaw<{ id: string; organization_id: string; name: string; organization_scoped: boolean }[]>`
    SELECT id, organization_id, name, organization_scoped FROM agent_pools WHERE id = ${id} FOR UPDATE`;
  const row = rows[0];
  return row ? { id: row.id, organizationId: row.organization_id, name: row.name, organizationScoped: row.organization_scoped } : null;
}

/** The pool as a workspace assignment sees it, read under a share lock so a concurrent delete waits. */
export async function findAgentPoolForAssignment(
  tx: Tx,
  id: string,
  workspaceId: string | null,
): Promise<{ id: string; organizationId: string; name: string; allowsWorkspace: boolean } | null> {
  const rows = await tx.$queryRaw<{ id: string; organization_id: string; name: string; organization_scoped: boolean; allowed: boolean }[]>`
    SELECT p.id, p.organization_id, p.name, p.organization_scoped,
           EXISTS (SELECT 1 FROM agent_pool_allowed_workspaces a WHERE a.agent_pool_id = p.id AND a.workspace_id = ${workspaceId}) AS allowed
    FROM agent_pools p WHERE p.id = ${id} FOR SHARE OF p`;
  const row = rows[0];
  if (!row) return null;
  return { id: row.id, organizationId: row.organization_id, name: row.name, allowsWorkspace: row.organization_scoped || row.allowed };
}

export async function countWorkspacesUsingPool(db: Db | Tx, id: string): Promise<number> {
  return db.workspace.count({ where: { agentPoolId: id } });
}

/** Deletes the pool with its tokens, agents and allowances; the caller checked no workspace uses it. */
export async function deleteAgentPool(db: Db | Tx, id: string): Promise<boolean> {
  const { count } = await db.agentPool.deleteMany({ where: { id } });
  return count === 1;
}

// ---- agent tokens ----

/**
 * Creates an agent token and returns its value once: the API tokens' format and hash
 * (`generateTokenValue`, `hashSecret`), stored in `agent_tokens`, never in `api_tokens`, so it
 * authenticates the agent protocol and nothing of the `/api/v2` API.
 */
export async function createAgentToken(
  db: Db | Tx,
  input: { agentPoolId: string; description: string; createdById: string | null },
): Promise<{ token: AgentToken; value: string }> {
  const value = generateTokenValue();
  const token = await db.agentToken.create({
    data: { id: newId("at"), agentPoolId: input.agentPoolId, tokenHash: hashSecret(value), description: input.description, createdById: input.createdById },
  });
  return { token, value };
}

export async function listAgentTokens(
  db: Db | Tx,
  agentPoolId: string,
  page: { offset: number; limit: number },
): Promise<{ items: AgentToken[]; total: number }> {
  const [items, total] = await Promise.all([
    db.agentToken.findMany({ where: { agentPoolId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip: page.offset, take: page.limit }),
    db.agentToken.count({ where: { agentPoolId } }),
  ]);
  return { items, total };
}

/** An agent token by id with its pool's organization, for the authentication-tokens routes. */
export async function findAgentToken(db: Db | Tx, id: string): Promise<(AgentToken & { organizationId: string }) | null> {
  const row = await db.agentToken.findUnique({ where: { id }, include: { agentPool: { select: { organizationId: true } } } });
  if (!row) return null;
  const { agentPool, ...token } = row;
  return { ...token, organizationId: agentPool.organizationId };
}

export async function deleteAgentToken(db: Db | Tx, id: string): Promise<boolean> {
  const { count } = await db.agentToken.deleteMany({ where: { id } });
  return count === 1;
}

/** Who an agent token belongs to: its pool and the pool's organization. */
export interface AgentTokenOwner {
  tokenId: string;
  agentPoolId: string;
  agentPoolName: string;
  organizationId: string;
  organizationName: string;
}

/**
 * The agent token a raw bearer value is, by its hash (the same hash as API tokens); null for an
 * unknown or revoked token. For the agent protocol: the pools API never authenticates with it.
 */
export async function findAgentTokenByValue(db: Db | Tx, value: string): Promise<AgentTokenOwner | null> {
  const rows = await db.$queryRaw<{ id: string; agent_pool_id: string; pool_name: string; organization_id: string; organization_name: string }[]>`
    SELECT t.id, t.agent_pool_id, p.name AS pool_name, o.id AS organization_id, o.name AS organization_name
    FROM agent_tokens t
    JOIN agent_pools p ON p.id = t.agent_pool_id
    JOIN organizations o ON o.id = p.organization_id
    WHERE t.token_hash = ${hashSecret(value)}`;
  const row = rows[0];
  if (!row) return null;
  return {
    tokenId: row.id,
    agentPoolId: row.agent_pool_id,
    agentPoolName: row.pool_name,
    organizationId: row.organization_id,
    organizationName: row.organization_name,
  };
}

/** Records a use of the token (`last-used-at`). */
export async function markAgentTokenUsed(db: Db | Tx, id: string, at: Date): Promise<void> {
  await db.agentToken.updateMany({ where: { id }, data: { lastUsedAt: at } });
}

// ---- agents ----

export async function listAgents(
  db: Db | Tx,
  agentPoolId: string,
  q: { lastPingSince?: Date; sort?: { field: "created-at"; descending: boolean }; offset: number; limit: number },
): Promise<{ items: Agent[]; total: number }> {
  const where: Prisma.AgentWhereInput = { agentPoolId, ...(q.lastPingSince ? { lastPingAt: { gte: q.lastPingSince } } : {}) };
  const direction = q.sort?.descending ? "desc" : "asc";
  const [items, total] = await Promise.all([
    db.agent.findMany({ where, orderBy: [{ createdAt: direction }, { id: direction }], skip: q.offset, take: q.limit }),
    db.agent.count({ where }),
  ]);
  return { items, total };
}

/** An agent with its pool's organization, for the access check of `GET /agents/:id`. */
export async function findAgent(db: Db | Tx, id: string): Promise<(Agent & { organizationId: string }) | null> {
  const row = await db.agent.findUnique({ where: { id }, include: { agentPool: { select: { organizationId: true } } } });
  if (!row) return null;
  const { agentPool, ...agent } = row;
  return { ...agent, organizationId: agentPool.organizationId };
}
