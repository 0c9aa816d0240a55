import { randomBytes } from "node:crypto";
import { hashSecret, type Db } from "@tarmac/db";
import { newId } from "@tarmac/domain";

/**
 * Agent pools, their tokens and agent-mode workspaces written straight to the database, for
 * suites about running on agents rather than about the pools API. A token is hashed as API
 * tokens are (SHA-256); the secret is returned once, as the API shows it once.
 */

export async function createAgentPoolRow(
  db: Db,
  organizationId: string,
  opts: { name?: string; organizationScoped?: boolean } = {},
): Promise<{ id: string; name: string }> {
  return db.agentPool.create({
    data: { id: newId("apool"), organizationId, name: opts.name ?? `pool-${randomBytes(3).toString("hex")}`, organizationScoped: opts.organizationScoped ?? true },
    select: { id: true, name: true },
  });
}

/** An agent token of the pool; returns its id and the secret an agent authenticates with. */
export async function createAgentTokenRow(db: Db, agentPoolId: string, description = "test agent token"): Promise<{ id: string; token: string }> {
  const token = `agent-${randomBytes(24).toString("hex")}`;
  const id = newId("at");
  await db.agentToken.create({ data: { id, agentPoolId, tokenHash: hashSecret(token), description } });
  return { id, token };
}

/** Puts a workspace in agent execution mode on the pool (what PATCH execution-mode: agent records). */
export async function setWorkspaceAgentPool(db: Db, workspaceId: string, pool: { id: string; name: string }): Promise<void> {
  await db.workspace.update({ where: { id: workspaceId }, data: { executionMode: "agent", agentPoolId: pool.id, agentPoolName: pool.name } });
}
