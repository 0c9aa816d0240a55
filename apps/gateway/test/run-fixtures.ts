import { randomBytes } from "node:crypto";
import { hashSecret, type Db } from "@tarmac/db";
import { newId, type RunStatus } from "@tarmac/domain";
import {
  ApiClient,
  createOrganizationRow,
  createOrganizationToken,
  createWorkspaceRow,
  startGatewayTestEnv,
  type GatewayTestEnv,
} from "@tarmac/testing";

/**
 * Fixtures for the Runs API tests. Organizations, teams, tokens, workspaces and configuration
 * versions are written straight to the database: these tests are about runs, and the engine is
 * not running, so tests also move runs between statuses by writing them.
 */
export type RunsTestEnv = GatewayTestEnv;
export const startRunsTestEnv = (env: Record<string, string> = {}): Promise<RunsTestEnv> => startGatewayTestEnv(env);

const suffix = () => randomBytes(4).toString("hex");

export const createOrganization = (db: Db, name?: string): Promise<{ id: string; name: string }> => createOrganizationRow(db, { name });

export async function createWorkspace(
  db: Db,
  organizationId: string,
  opts: { name?: string; autoApply?: boolean; terraformVersion?: string; agentPoolName?: string } = {},
): Promise<{ id: string; name: string }> {
  return createWorkspaceRow(db, organizationId, { ...opts, terraformVersion: opts.terraformVersion ?? "1.9.4" });
}

export async function createConfigurationVersion(
  db: Db,
  workspaceId: string,
  opts: { status?: "pending" | "uploaded" | "errored"; speculative?: boolean; makeLatest?: boolean } = {},
): Promise<string> {
  const id = newId("cv");
  await db.configurationVersion.create({
    data: { id, workspaceId, status: opts.status ?? "uploaded", speculative: opts.speculative ?? false },
  });
  if (opts.makeLatest ?? true) await db.workspace.update({ where: { id: workspaceId }, data: { latestConfigurationVersionId: id } });
  return id;
}

export async function createUserToken(db: Db, opts: { siteAdmin?: boolean } = {}): Promise<{ userId: string; username: string; token: string }> {
  const username = `user-${suffix()}`;
  const userId = newId("user");
  await db.user.create({ data: { id: userId, username, email: `${username}@example.com`, isSiteAdmin: opts.siteAdmin ?? false } });
  const token = `tok-${randomBytes(16).toString("hex")}`;
  await db.apiToken.create({ data: { id: newId("at"), kind: "user", tokenHash: hashSecret(token), userId } });
  return { userId, username, token };
}

export async function createTeam(
  db: Db,
  organizationId: string,
  opts: { owners?: boolean; members?: string[]; access?: { workspaceId: string; access: "read" | "plan" | "write" | "admin" }[] } = {},
): Promise<{ teamId: string; token: string }> {
  const teamId = newId("team");
  await db.team.create({ data: { id: teamId, organizationId, name: opts.owners ? "owners" : `team-${suffix()}`, isOwners: opts.owners ?? false } });
  for (const userId of opts.members ?? []) await db.teamMembership.create({ data: { teamId, userId } });
  for (const a of opts.access ?? []) {
    await db.teamWorkspaceAccess.create({ data: { id: `tws-${suffix()}${suffix()}`, teamId, workspaceId: a.workspaceId, access: a.access } });
  }
  const token = `team-${randomBytes(16).toString("hex")}`;
  await db.apiToken.create({ data: { id: newId("at"), kind: "team", tokenHash: hashSecret(token), teamId } });
  return { teamId, token };
}

export { createOrganizationToken };

/** A user who reaches the workspace through a team with the given access. */
export async function userWithAccess(
  db: Db,
  organizationId: string,
  workspaceId: string,
  access: "read" | "plan" | "write" | "admin",
): Promise<{ userId: string; token: string }> {
  const user = await createUserToken(db);
  await createTeam(db, organizationId, { members: [user.userId], access: [{ workspaceId, access }] });
  return { userId: user.userId, token: user.token };
}

export function runBody(workspaceId: string, attributes: Record<string, unknown> = {}, cvId?: string | null): unknown {
  return {
    data: {
      type: "runs",
      attributes,
      relationships: {
        workspace: { data: { type: "workspaces", id: workspaceId } },
        ...(cvId === undefined ? {} : { "configuration-version": { data: cvId === null ? null : { type: "configuration-versions", id: cvId } } }),
      },
    },
  };
}

/** Moves a run straight to a status, as the engine would have (no engine runs in these tests). */
export async function setRunStatus(db: Db, runId: string, status: RunStatus, extra: Record<string, unknown> = {}): Promise<void> {
  await db.run.update({ where: { id: runId }, data: { status, ...extra } });
}
