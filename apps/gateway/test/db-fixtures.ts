import { randomBytes } from "node:crypto";
import { hashSecret, type Db } from "@tarmac/db";
import { newId } from "@tarmac/domain";
import { ApiClient, startGatewayTestEnv, type GatewayTestEnv } from "@tarmac/testing";

/**
 * Fixtures for the configuration-version and state-version tests: the gateway
 * on its own database, with organizations, teams, tokens and workspaces written
 * straight to the database (these tests are about what happens inside them).
 */
export type DbFixturesEnv = GatewayTestEnv;
export const startDbFixturesEnv = (env: Record<string, string> = {}): Promise<DbFixturesEnv> => startGatewayTestEnv(env);

const suffix = (): string => randomBytes(4).toString("hex");

export async function createOrganization(db: Db): Promise<{ id: string; name: string }> {
  const name = `org-${suffix()}`;
  return db.organization.create({ data: { id: newId("org"), name, email: `${name}@example.com` }, select: { id: true, name: true } });
}

export async function createWorkspace(
  db: Db,
  organizationId: string,
  opts: { autoApply?: boolean } = {},
): Promise<{ id: string; name: string }> {
  return db.workspace.create({
    data: { id: newId("ws"), organizationId, name: `ws-${suffix()}`, autoApply: opts.autoApply ?? false, terraformVersion: "1.9.4" },
    select: { id: true, name: true },
  });
}

/** A team token with the given access on one workspace. */
export async function teamToken(db: Db, organizationId: string, workspaceId: string, access: "read" | "plan" | "write" | "admin"): Promise<string> {
  const team = await db.team.create({ data: { id: newId("team"), organizationId, name: `team-${suffix()}` } });
  await db.teamWorkspaceAccess.create({ data: { id: newId("ts"), teamId: team.id, workspaceId, access } });
  const token = `team-${suffix()}${suffix()}`;
  await db.apiToken.create({ data: { id: newId("at"), kind: "team", tokenHash: hashSecret(token), teamId: team.id } });
  return token;
}

export async function organizationToken(db: Db, organizationId: string): Promise<string> {
  const token = `org-${suffix()}${suffix()}`;
  await db.apiToken.create({ data: { id: newId("at"), kind: "organization", tokenHash: hashSecret(token), organizationId } });
  return token;
}
