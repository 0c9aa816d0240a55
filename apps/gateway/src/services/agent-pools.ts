import { agentPoolsRepo, inTransaction, type Tx } from "@tarmac/db";
import { notFound } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { actingUserId, type Principal } from "../http/auth";
import { invalidAttribute, withUniqueAs } from "../http/request-body";

/**
 * Agent pool writes and the agent-pool side of workspace settings: each decision in one
 * transaction, under the pool's row lock where it depends on who uses the pool.
 */

type AgentPoolView = agentPoolsRepo.AgentPoolView;

const nameTaken = () => invalidAttribute("Name has already been taken", "/data/attributes/name");

export interface AgentPoolInput {
  name?: string;
  organizationScoped?: boolean;
  allowedWorkspaceIds?: string[];
}

/** 422 unless every allowed workspace is one of the organization's. */
async function checkAllowedWorkspaces(tx: Tx, organizationId: string, ids: readonly string[] | undefined): Promise<void> {
  if (!ids || ids.length === 0) return;
  const found = await agentPoolsRepo.workspaceIdsInOrganization(tx, organizationId, ids);
  const index = ids.findIndex((id) => !found.has(id));
  if (index >= 0) {
    throw invalidAttribute(`Workspace ${ids[index]} not found in this organization`, `/data/relationships/allowed-workspaces/data/${index}/id`);
  }
}

export async function createAgentPool(
  deps: GatewayDeps,
  organizationId: string,
  input: AgentPoolInput & { name: string },
): Promise<AgentPoolView> {
  return withUniqueAs(
    () =>
      inTransaction(deps.db, async (tx) => {
        if (await agentPoolsRepo.isAgentPoolNameTaken(tx, organizationId, input.name)) throw nameTaken();
        await checkAllowedWorkspaces(tx, organizationId, input.allowedWorkspaceIds);
        return agentPoolsRepo.createAgentPool(tx, organizationId, { ...input, allowedWorkspaceIds: dedupe(input.allowedWorkspaceIds) });
      }),
    nameTaken,
  );
}

export async function updateAgentPool(deps: GatewayDeps, pool: AgentPoolView, input: AgentPoolInput): Promise<AgentPoolView> {
  return withUniqueAs(
    () =>
      inTransaction(deps.db, async (tx) => {
        if (!(await agentPoolsRepo.lockAgentPool(tx, pool.id))) throw notFound();
        if (input.name !== undefined && (await agentPoolsRepo.isAgentPoolNameTaken(tx, pool.organizationId, input.name, pool.id))) throw nameTaken();
        await checkAllowedWorkspaces(tx, pool.organizationId, input.allowedWorkspaceIds);
        return agentPoolsRepo.updateAgentPool(tx, pool.id, { ...input, allowedWorkspaceIds: dedupe(input.allowedWorkspaceIds) });
      }),
    nameTaken,
  );
}

/**
 * Deletes a pool no workspace uses; one still used is a 422, as HCP answers. Decided under the
 * pool's row lock: a workspace assignment holds a share lock on it, so neither slips past the other.
 */
export async function deleteAgentPool(deps: GatewayDeps, poolId: string): Promise<void> {
  await inTransaction(deps.db, async (tx) => {
    if (!(await agentPoolsRepo.lockAgentPool(tx, poolId))) throw notFound();
    const used = await agentPoolsRepo.countWorkspacesUsingPool(tx, poolId);
    if (used > 0) {
      throw invalidAttribute(
        `Agent pool is still used by ${used} workspace${used === 1 ? "" : "s"}; change their execution mode or agent pool first`,
        "/data/id",
      );
    }
    if (!(await agentPoolsRepo.deleteAgentPool(tx, poolId))) throw notFound();
  });
}

export async function issueAgentToken(
  deps: GatewayDeps,
  principal: Principal,
  poolId: string,
  description: string,
): Promise<{ token: agentPoolsRepo.AgentToken; value: string }> {
  return agentPoolsRepo.createAgentToken(deps.db, { agentPoolId: poolId, description, createdById: actingUserId(principal) });
}

/** Revokes an agent token: its hash is gone, so the agent protocol no longer finds it. */
export async function revokeAgentToken(deps: GatewayDeps, tokenId: string): Promise<void> {
  if (!(await agentPoolsRepo.deleteAgentToken(deps.db, tokenId))) throw notFound();
}

function dedupe(ids: string[] | undefined): string[] | undefined {
  return ids === undefined ? undefined : [...new Set(ids)];
}

// ---- a workspace's execution mode and agent pool ----

export type ExecutionMode = "remote" | "local" | "agent";

/** What a workspace create or update asks about its execution: undefined keeps the current value. */
export interface ExecutionRequest {
  executionMode?: ExecutionMode;
  /** From `agent-pool-id` or the `agent-pool` relationship; null unsets. */
  agentPoolId?: string | null;
  /** Where the pool was given, for the 422's pointer. */
  agentPoolPointer?: string;
}

const POOL_ID_POINTER = "/data/attributes/agent-pool-id";

/**
 * The execution settings a workspace ends with, checked as HCP checks them: agent mode needs a
 * pool; a pool needs agent mode; the pool must be of the workspace's organization and open to
 * the workspace (organization-scoped, or allowing it). Leaving agent mode unsets the pool. Runs
 * inside the caller's transaction, with a share lock on the pool until commit so the pool cannot
 * be deleted under the assignment. `workspaceId` is null for a workspace being created.
 */
export async function resolveExecution(
  tx: Tx,
  workspace: { id: string | null; organizationId: string; executionMode: string; agentPoolId: string | null },
  request: ExecutionRequest,
): Promise<{ executionMode?: ExecutionMode; agentPoolId?: string | null; agentPoolName?: string | null }> {
  if (request.executionMode === undefined && request.agentPoolId === undefined) return {};
  const mode = request.executionMode ?? workspace.executionMode;
  const pointer = request.agentPoolPointer ?? POOL_ID_POINTER;
  if (mode !== "agent") {
    if (typeof request.agentPoolId === "string") {
      throw invalidAttribute("Agent pool can only be set when the execution mode is agent", pointer);
    }
    return { ...(request.executionMode ? { executionMode: request.executionMode } : {}), agentPoolId: null, agentPoolName: null };
  }
  const poolId = request.agentPoolId === undefined ? workspace.agentPoolId : request.agentPoolId;
  if (poolId === null) {
    throw invalidAttribute("Agent pool must be set when the execution mode is agent", pointer);
  }
  const pool = await agentPoolsRepo.findAgentPoolForAssignment(tx, poolId, workspace.id);
  if (!pool || pool.organizationId !== workspace.organizationId) {
    throw invalidAttribute("Agent pool not found in this organization", pointer);
  }
  if (!pool.allowsWorkspace) {
    throw invalidAttribute("Agent pool is not available to this workspace: the pool is scoped to other workspaces", pointer);
  }
  return { executionMode: "agent", agentPoolId: pool.id, agentPoolName: pool.name };
}
