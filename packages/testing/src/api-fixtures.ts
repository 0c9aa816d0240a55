import { randomBytes } from "node:crypto";
import type { ApiClient } from "./api-client";
import { startGatewayTestEnv, type GatewayTestEnv } from "./gateway-env";

/**
 * Fixtures made through the HTTP API itself (users through the admin API, tokens through the
 * token endpoints), for every suite that drives a gateway: gateway tests, end-to-end and CLI
 * suites. Row-level fixtures, for tests below the API, are in fixtures.ts.
 */
export type ApiTestEnv = GatewayTestEnv;
export const startApiTestEnv = (env: Record<string, string> = {}): Promise<ApiTestEnv> => startGatewayTestEnv(env);

export const unique = (base: string) => `${base}-${randomBytes(3).toString("hex")}`;

/** What the fixtures need of a client: the test ApiClient, or the CLI suites' client over TLS. */
export interface ApiPoster {
  post(path: string, body?: unknown): Promise<{ status: number; text: string; body: any }>;
}

function expectStatus(res: { status: number; text: string }, status: number, what: string): void {
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status}: ${res.text}`);
}

export interface TestUser {
  id: string;
  username: string;
  client: ApiClient;
}

/** A user created by the site admin, with a token of its own. */
export async function createUser(env: ApiTestEnv, username = unique("user")): Promise<TestUser> {
  const created = await env.admin.post("/admin/users", {
    data: { type: "users", attributes: { username, email: `${username}@example.com` } },
  });
  expectStatus(created, 201, "create user");
  const id = created.body.data.id as string;
  const token = await env.admin.post(`/users/${id}/authentication-tokens`, {
    data: { type: "authentication-tokens", attributes: { description: "test" } },
  });
  expectStatus(token, 201, "create user token");
  return { id, username, client: env.admin.withToken(token.body.data.attributes.token) };
}

export async function createOrganization(owner: ApiPoster, name = unique("org"), attributes: Record<string, unknown> = {}): Promise<string> {
  const res = await owner.post("/organizations", { data: { type: "organizations", attributes: { name, email: `${name}@example.com`, ...attributes } } });
  expectStatus(res, 201, "create organization");
  return name;
}

export async function createTeam(
  owner: ApiClient,
  org: string,
  name = unique("team"),
  attributes: Record<string, unknown> = {},
): Promise<string> {
  const res = await owner.post(`/organizations/${org}/teams`, { data: { type: "teams", attributes: { name, ...attributes } } });
  expectStatus(res, 201, "create team");
  return res.body.data.id as string;
}

export async function addMembers(owner: ApiClient, teamId: string, userIds: string[]): Promise<void> {
  const res = await owner.post(`/teams/${teamId}/relationships/users`, { data: userIds.map((id) => ({ type: "users", id })) });
  expectStatus(res, 204, "add team members");
}

export async function teamToken(owner: ApiClient, teamId: string): Promise<ApiClient> {
  const res = await owner.post(`/teams/${teamId}/authentication-token`, { data: { type: "authentication-tokens" } });
  expectStatus(res, 201, "create team token");
  return owner.withToken(res.body.data.attributes.token);
}

export async function organizationToken(owner: ApiClient, org: string): Promise<ApiClient> {
  const res = await owner.post(`/organizations/${org}/authentication-token`, {});
  expectStatus(res, 201, "create organization token");
  return owner.withToken(res.body.data.attributes.token);
}

export async function createWorkspace(
  client: ApiPoster,
  org: string,
  name = unique("ws"),
  attributes: Record<string, unknown> = {},
  relationships?: Record<string, unknown>,
): Promise<string> {
  const res = await client.post(`/organizations/${org}/workspaces`, {
    data: { type: "workspaces", attributes: { name, ...attributes }, ...(relationships ? { relationships } : {}) },
  });
  expectStatus(res, 201, "create workspace");
  return res.body.data.id as string;
}

export async function grantAccess(owner: ApiClient, teamId: string, workspaceId: string, access: string): Promise<string> {
  const res = await owner.post("/team-workspaces", {
    data: {
      type: "team-workspaces",
      attributes: { access },
      relationships: { team: { data: { type: "teams", id: teamId } }, workspace: { data: { type: "workspaces", id: workspaceId } } },
    },
  });
  expectStatus(res, 201, "grant team access");
  return res.body.data.id as string;
}

/** A member of `org` on a fresh team holding `access` on the workspace. */
export async function memberWithAccess(env: ApiTestEnv, owner: ApiClient, org: string, workspaceId: string, access: string): Promise<TestUser & { teamId: string }> {
  const user = await createUser(env);
  const teamId = await createTeam(owner, org);
  await addMembers(owner, teamId, [user.id]);
  await grantAccess(owner, teamId, workspaceId, access);
  return { ...user, teamId };
}
