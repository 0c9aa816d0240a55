import { randomBytes } from "node:crypto";
import { hashSecret, type Db } from "@tarmac/db";
import { newId } from "@tarmac/domain";
import { ApiClient, createOrganizationRow, createOrganizationToken, createWorkspaceRow, startGatewayTestEnv, type GatewayTestEnv } from "@tarmac/testing";

/**
 * Fixtures for the configuration-version and state-version tests: the gateway
 * on its own database, with organizations, teams, tokens and workspaces written
 * straight to the database (these tests are about what happens inside them).
 */
export type DbFixturesEnv = GatewayTestEnv;
export const startDbFixturesEnv = (env: Record<string, string> = {}): Promise<DbFixturesEnv> => startGatewayTestEnv(env);

const suffix = (): string => randomBytes(4).toString("hex");

export const createOrganization = (db: Db): Promise<{ id: string; name: string }> => createOrganizationRow(db);

export const createWorkspace = (db: Db, organizationId: string, opts: { autoApply?: boolean } = {}): Promise<{ id: string; name: string }> =>
  createWorkspaceRow(db, organizationId, { autoApply: opts.autoApply, terraformVersion: "1.9.4" });

/** A team token with the given access on one workspace. */
export async function teamToken(db: Db, organizationId: string, workspaceId: string, access: "read" | "plan" | "write" | "admin"): Promise<string> {
  const team = await db.team.create({ data: { id: newId("team"), organizationId, name: `team-${suffix()}` } });
  await db.teamWorkspaceAccess.create({ data: { id: newId("ts"), teamId: team.id, workspaceId, access } });
  const token = `team-${suffix()}${suffix()}`;
  await db.apiToken.create({ data: { id: newId("at"), kind: "team", tokenHash: hashSecret(token), teamId: team.id } });
  return token;
}

export const organizationToken = createOrganizationToken;
