import { agentPoolsRepo, findAgentTokenByValue } from "@tarmac/db";
import { AGENT_UNKNOWN_AFTER_MS, newId } from "@tarmac/domain";
import type { ApiClient } from "@tarmac/testing";
import {
  addMembers,
  createOrganization,
  createTeam,
  createUser,
  createWorkspace,
  organizationToken,
  startApiTestEnv,
  unique,
  type ApiTestEnv,
  type TestUser,
} from "./api-fixtures";
import { createConfigurationVersion, runBody } from "./run-fixtures";

let env: ApiTestEnv;
let owner: TestUser;
let member: TestUser;
let outsider: TestUser;
let org: string;
let otherOrg: string;

beforeAll(async () => {
  env = await startApiTestEnv();
  owner = await createUser(env, unique("owner"));
  member = await createUser(env, unique("member"));
  outsider = await createUser(env, unique("outsider"));
  org = await createOrganization(owner.client);
  otherOrg = await createOrganization(owner.client);
  // A member: on a team of the organization that is not the owners team.
  await addMembers(owner.client, await createTeam(owner.client, org), [member.id]);
  // The outsider owns an organization of its own, and is nobody in `org`.
  await createOrganization(outsider.client);
}, 60_000);

afterAll(async () => {
  await env?.close();
});

const poolBody = (attributes: Record<string, unknown>, relationships?: Record<string, unknown>) => ({
  data: { type: "agent-pools", attributes, ...(relationships ? { relationships } : {}) },
});

const workspaceRefs = (ids: string[]) => ({ "allowed-workspaces": { data: ids.map((id) => ({ type: "workspaces", id })) } });

async function createPool(client: ApiClient, organization: string, attributes: Record<string, unknown> = {}, relationships?: Record<string, unknown>): Promise<any> {
  const res = await client.post(`/organizations/${organization}/agent-pools`, poolBody({ name: unique("pool"), ...attributes }, relationships));
  if (res.status !== 201) throw new Error(`create pool: ${res.status} ${res.text}`);
  return res.body.data;
}

async function createToken(client: ApiClient, poolId: string, description = "agents of the lab"): Promise<any> {
  const res = await client.post(`/agent-pools/${poolId}/authentication-tokens`, { data: { type: "agent-tokens", attributes: { description } } });
  if (res.status !== 201) throw new Error(`create agent token: ${res.status} ${res.text}`);
  return res.body.data;
}

const ids = (res: { body: { data: { id: string }[] } }) => res.body.data.map((d) => d.id);

describe("agent pools", () => {
  it("creates, shows, updates and deletes a pool with HCP's attributes and relationships", async () => {
    const name = unique("lab");
    const created = await owner.client.post(`/organizations/${org}/agent-pools`, poolBody({ name }));
    expect(created.status).toBe(201);
    const pool = created.body.data;
    expect(pool.id).toMatch(/^apool-/);
    expect(pool).toMatchObject({
      type: "agent-pools",
      attributes: { name, "organization-scoped": true, "agent-count": 0 },
      relationships: {
        organization: { data: { type: "organizations", id: org } },
        workspaces: { data: [] },
        "allowed-workspaces": { data: [] },
        agents: { links: { related: `/api/v2/agent-pools/${pool.id}/agents` } },
        "authentication-tokens": { links: { related: `/api/v2/agent-pools/${pool.id}/authentication-tokens` } },
      },
      links: { self: `/api/v2/agent-pools/${pool.id}` },
    });
    expect(Date.parse(pool.attributes["created-at"])).not.toBeNaN();

    const shown = await owner.client.get(`/agent-pools/${pool.id}`);
    expect(shown.status).toBe(200);
    expect(shown.body.data).toEqual(pool);

    const ws = await createWorkspace(owner.client, org);
    const renamed = unique("renamed");
    const updated = await owner.client.patch(
      `/agent-pools/${pool.id}`,
      poolBody({ name: renamed, "organization-scoped": false }, workspaceRefs([ws])),
    );
    expect(updated.status).toBe(200);
    expect(updated.body.data.attributes).toMatchObject({ name: renamed, "organization-scoped": false });
    expect(updated.body.data.relationships["allowed-workspaces"].data).toEqual([{ type: "workspaces", id: ws }]);

    // go-tfe's UpdateAllowedWorkspaces with an empty list clears them; attributes are left alone.
    const cleared = await owner.client.patch(`/agent-pools/${pool.id}`, { data: { type: "agent-pools", relationships: workspaceRefs([]) } });
    expect(cleared.status).toBe(200);
    expect(cleared.body.data.relationships["allowed-workspaces"].data).toEqual([]);
    expect(cleared.body.data.attributes.name).toBe(renamed);

    expect((await owner.client.delete(`/agent-pools/${pool.id}`)).status).toBe(204);
    expect((await owner.client.get(`/agent-pools/${pool.id}`)).status).toBe(404);
    expect((await owner.client.delete(`/agent-pools/${pool.id}`)).status).toBe(404);
  });

  it("answers 422 with a pointer for a taken or bad name and foreign allowed workspaces, writing nothing", async () => {
    const existing = await createPool(owner.client, org);
    const dup = await owner.client.post(`/organizations/${org}/agent-pools`, poolBody({ name: existing.attributes.name }));
    expect(dup.status).toBe(422);
    expect(dup.body.errors[0]).toMatchObject({ status: "422", detail: "Name has already been taken", source: { pointer: "/data/attributes/name" } });

    const bad = await owner.client.post(`/organizations/${org}/agent-pools`, poolBody({ name: "has space" }));
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].source.pointer).toBe("/data/attributes/name");
    expect((await owner.client.post(`/organizations/${org}/agent-pools`, poolBody({}))).status).toBe(422);

    const foreignWs = await createWorkspace(owner.client, otherOrg);
    const name = unique("scoped");
    const foreign = await owner.client.post(`/organizations/${org}/agent-pools`, poolBody({ name, "organization-scoped": false }, workspaceRefs([foreignWs])));
    expect(foreign.status).toBe(422);
    expect(foreign.body.errors[0].source.pointer).toBe("/data/relationships/allowed-workspaces/data/0/id");
    const listed = await owner.client.get(`/organizations/${org}/agent-pools?q=${name}`);
    expect(listed.body.data).toEqual([]);

    const patched = await owner.client.patch(`/agent-pools/${existing.id}`, poolBody({ "organization-scoped": false }, workspaceRefs([foreignWs])));
    expect(patched.status).toBe(422);
    expect((await owner.client.get(`/agent-pools/${existing.id}`)).body.data.attributes["organization-scoped"]).toBe(true);

    const projects = await owner.client.patch(`/agent-pools/${existing.id}`, poolBody({}, { "allowed-projects": { data: [{ type: "projects", id: "prj-x" }] } }));
    expect(projects.status).toBe(422);
  });

  it("lists with pagination, q, sort and filter[allowed_workspaces][name]", async () => {
    const o = await createOrganization(owner.client);
    const ws = await createWorkspace(owner.client, o, "builder");
    const a = await createPool(owner.client, o, { name: "alpha-pool" });
    const b = await createPool(owner.client, o, { name: "beta-pool", "organization-scoped": false }, workspaceRefs([ws]));
    const c = await createPool(owner.client, o, { name: "gamma-pool", "organization-scoped": false });

    const p1 = await owner.client.get(`/organizations/${o}/agent-pools?page[size]=2`);
    expect(p1.status).toBe(200);
    expect(ids(p1)).toEqual([a.id, b.id]);
    expect(p1.body.meta.pagination).toMatchObject({ "current-page": 1, "page-size": 2, "total-count": 3, "total-pages": 2, "next-page": 2 });
    const p2 = await owner.client.get(`/organizations/${o}/agent-pools?page[size]=2&page[number]=2`);
    expect(ids(p2)).toEqual([c.id]);

    expect(ids(await owner.client.get(`/organizations/${o}/agent-pools?q=BETA`))).toEqual([b.id]);
    expect(ids(await owner.client.get(`/organizations/${o}/agent-pools?sort=-name`))).toEqual([c.id, b.id, a.id]);
    expect(ids(await owner.client.get(`/organizations/${o}/agent-pools?sort=created-at`))).toEqual([a.id, b.id, c.id]);
    expect((await owner.client.get(`/organizations/${o}/agent-pools?sort=agent-count`)).status).toBe(400);

    // The pools the workspace may use: organization-scoped ones and those allowing it.
    expect(ids(await owner.client.get(`/organizations/${o}/agent-pools?filter[allowed_workspaces][name]=builder`))).toEqual([a.id, b.id]);
    expect(ids(await owner.client.get(`/organizations/${o}/agent-pools?filter[allowed-workspaces][name]=builder`))).toEqual([a.id, b.id]);
    expect(ids(await owner.client.get(`/organizations/${o}/agent-pools?filter[allowed_workspaces][name]=nope`))).toEqual([]);
  });

  it("lets members read pools and only owners (and the organization's token) manage them; other organizations get 404", async () => {
    const pool = await createPool(owner.client, org);
    expect((await member.client.get(`/organizations/${org}/agent-pools`)).status).toBe(200);
    expect((await member.client.get(`/agent-pools/${pool.id}`)).status).toBe(200);
    expect((await member.client.get(`/agent-pools/${pool.id}/agents`)).status).toBe(200);

    expect((await member.client.post(`/organizations/${org}/agent-pools`, poolBody({ name: unique("m") }))).status).toBe(404);
    expect((await member.client.patch(`/agent-pools/${pool.id}`, poolBody({ name: unique("m") }))).status).toBe(404);
    expect((await member.client.delete(`/agent-pools/${pool.id}`)).status).toBe(404);
    expect((await member.client.get(`/agent-pools/${pool.id}/authentication-tokens`)).status).toBe(404);
    expect((await member.client.post(`/agent-pools/${pool.id}/authentication-tokens`, { data: { type: "agent-tokens", attributes: { description: "x" } } })).status).toBe(404);

    for (const res of [
      await outsider.client.get(`/organizations/${org}/agent-pools`),
      await outsider.client.get(`/agent-pools/${pool.id}`),
      await outsider.client.get(`/agent-pools/${pool.id}/agents`),
      await outsider.client.patch(`/agent-pools/${pool.id}`, poolBody({ name: unique("o") })),
      await outsider.client.delete(`/agent-pools/${pool.id}`),
      await outsider.client.post(`/organizations/${org}/agent-pools`, poolBody({ name: unique("o") })),
    ]) {
      expect(res.status).toBe(404);
    }
    expect((await owner.client.get(`/agent-pools/${pool.id}`)).body.data.attributes.name).toBe(pool.attributes.name);

    const orgToken = await organizationToken(owner.client, org);
    const byToken = await orgToken.post(`/organizations/${org}/agent-pools`, poolBody({ name: unique("tok") }));
    expect(byToken.status).toBe(201);
    // The organization reports the power its owners hold.
    const orgDoc = await owner.client.get(`/organizations/${org}`);
    expect(orgDoc.body.data.attributes.permissions["can-update-agent-pools"]).toBe(true);
    expect((await member.client.get(`/organizations/${org}`)).body.data.attributes.permissions["can-update-agent-pools"]).toBe(false);
  });
});

describe("agent tokens", () => {
  it("shows the token once, lists and reads it without it, and revokes it so its hash no longer finds it", async () => {
    const pool = await createPool(owner.client, org);
    const token = await createToken(owner.client, pool.id, "rack 7");
    expect(token).toMatchObject({
      type: "authentication-tokens",
      attributes: { description: "rack 7", "last-used-at": null },
      relationships: { "created-by": { data: { type: "users", id: owner.id } } },
    });
    expect(token.id).toMatch(/^at-/);
    const value = token.attributes.token as string;
    expect(value).toMatch(/^[A-Za-z0-9_-]{14}\.atlasv1\.[A-Za-z0-9_-]+$/);

    const listed = await owner.client.get(`/agent-pools/${pool.id}/authentication-tokens`);
    expect(listed.status).toBe(200);
    expect(ids(listed)).toEqual([token.id]);
    expect(listed.body.data[0].attributes.token).toBeNull();
    expect(listed.body.meta.pagination["total-count"]).toBe(1);

    const shown = await owner.client.get(`/authentication-tokens/${token.id}`);
    expect(shown.status).toBe(200);
    expect(shown.body.data).toMatchObject({ id: token.id, type: "authentication-tokens", attributes: { description: "rack 7", token: null } });
    expect((await member.client.get(`/authentication-tokens/${token.id}`)).status).toBe(404);
    expect((await outsider.client.delete(`/authentication-tokens/${token.id}`)).status).toBe(404);

    // What the agent protocol looks up: the pool and organization behind the raw value.
    const found = await findAgentTokenByValue(env.db, value);
    expect(found).toMatchObject({ tokenId: token.id, agentPoolId: pool.id, agentPoolName: pool.attributes.name, organizationName: org });
    expect(await findAgentTokenByValue(env.db, `${value}x`)).toBeNull();

    expect((await owner.client.delete(`/authentication-tokens/${token.id}`)).status).toBe(204);
    expect(await findAgentTokenByValue(env.db, value)).toBeNull();
    expect((await owner.client.get(`/authentication-tokens/${token.id}`)).status).toBe(404);
    expect((await owner.client.delete(`/authentication-tokens/${token.id}`)).status).toBe(404);
    expect(ids(await owner.client.get(`/agent-pools/${pool.id}/authentication-tokens`))).toEqual([]);
  });

  it("does not authenticate the API: an agent token is neither a user's, a team's nor an organization's", async () => {
    const pool = await createPool(owner.client, org);
    const agentClient = owner.client.withToken((await createToken(owner.client, pool.id)).attributes.token);
    const account = await agentClient.get("/account/details");
    expect(account.status).toBe(401);
    expect((await agentClient.get(`/organizations/${org}/agent-pools`)).status).toBe(401);
    expect((await agentClient.get(`/agent-pools/${pool.id}`)).status).toBe(401);
  });

  it("requires a description", async () => {
    const pool = await createPool(owner.client, org);
    const res = await owner.client.post(`/agent-pools/${pool.id}/authentication-tokens`, { data: { type: "agent-tokens", attributes: {} } });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].source.pointer).toBe("/data/attributes/description");
    expect(ids(await owner.client.get(`/agent-pools/${pool.id}/authentication-tokens`))).toEqual([]);
  });
});

describe("agents", () => {
  it("lists a pool's agents, showing a silent one as unknown, and filters by last ping", async () => {
    const pool = await createPool(owner.client, org);
    const now = Date.now();
    const fresh = newId("agent");
    const stale = newId("agent");
    const exited = newId("agent");
    await env.db.agent.createMany({
      data: [
        { id: fresh, agentPoolId: pool.id, name: "fresh", ipAddress: "10.0.0.5", status: "busy", lastPingAt: new Date(now - 5_000) },
        { id: stale, agentPoolId: pool.id, name: "stale", ipAddress: "10.0.0.6", status: "idle", lastPingAt: new Date(now - AGENT_UNKNOWN_AFTER_MS - 60_000) },
        { id: exited, agentPoolId: pool.id, name: "gone", ipAddress: "10.0.0.7", status: "exited", lastPingAt: new Date(now - 3_600_000) },
      ],
    });

    const listed = await member.client.get(`/agent-pools/${pool.id}/agents`);
    expect(listed.status).toBe(200);
    const byId = Object.fromEntries(listed.body.data.map((a: any) => [a.id, a]));
    expect(Object.keys(byId).sort()).toEqual([fresh, stale, exited].sort());
    expect(byId[fresh]).toMatchObject({
      type: "agents",
      attributes: { name: "fresh", status: "busy", "ip-address": "10.0.0.5" },
      relationships: { "agent-pool": { data: { type: "agent-pools", id: pool.id } } },
    });
    expect(byId[stale].attributes.status).toBe("unknown");
    expect(byId[exited].attributes.status).toBe("exited");
    expect(Date.parse(byId[fresh].attributes["last-ping-at"])).toBeGreaterThan(now - 10_000);

    const since = new Date(now - 60_000).toISOString();
    expect(ids(await member.client.get(`/agent-pools/${pool.id}/agents?filter[last-ping-since]=${since}`))).toEqual([fresh]);
    expect((await member.client.get(`/agent-pools/${pool.id}/agents?filter[last-ping-since]=yesterday`)).status).toBe(400);

    // agent-count: idle, busy and unknown agents; not exited ones.
    expect((await member.client.get(`/agent-pools/${pool.id}`)).body.data.attributes["agent-count"]).toBe(2);

    const one = await member.client.get(`/agents/${stale}`);
    expect(one.status).toBe(200);
    expect(one.body.data).toMatchObject({ id: stale, type: "agents", attributes: { name: "stale", status: "unknown", "ip-address": "10.0.0.6" } });
    expect((await outsider.client.get(`/agents/${stale}`)).status).toBe(404);
    expect((await owner.client.get(`/agents/${newId("agent")}`)).status).toBe(404);
  });
});

describe("workspaces in agent execution mode", () => {
  const wsBody = (attributes: Record<string, unknown>, relationships?: Record<string, unknown>) => ({
    data: { type: "workspaces", attributes, ...(relationships ? { relationships } : {}) },
  });

  async function workspaceRow(id: string) {
    return env.db.workspace.findUniqueOrThrow({ where: { id }, select: { name: true, executionMode: true, agentPoolId: true, agentPoolName: true } });
  }

  it("creates an agent-mode workspace with go-tfe's agent-pool-id and serializes its pool", async () => {
    const pool = await createPool(owner.client, org);
    const res = await owner.client.post(`/organizations/${org}/workspaces`, wsBody({ name: unique("ws"), "execution-mode": "agent", "agent-pool-id": pool.id }));
    expect(res.status).toBe(201);
    expect(res.body.data.attributes).toMatchObject({ "execution-mode": "agent", "agent-pool-id": pool.id, operations: true });
    expect(res.body.data.relationships["agent-pool"]).toEqual({ data: { type: "agent-pools", id: pool.id } });
    expect(await workspaceRow(res.body.data.id)).toMatchObject({ executionMode: "agent", agentPoolId: pool.id, agentPoolName: pool.attributes.name });
    const shownPool = await owner.client.get(`/agent-pools/${pool.id}?include=workspaces`);
    expect(shownPool.body.data.relationships.workspaces.data).toEqual([{ type: "workspaces", id: res.body.data.id }]);
    expect(shownPool.body.included.map((r: any) => [r.type, r.id])).toEqual([["workspaces", res.body.data.id]]);
  });

  it("refuses agent mode without a pool, a pool without agent mode, and another organization's pool: 422, nothing written", async () => {
    const pool = await createPool(owner.client, org);
    const foreignPool = await createPool(owner.client, otherOrg);
    const cases: [Record<string, unknown>, string, string][] = [
      [{ "execution-mode": "agent" }, "/data/attributes/agent-pool-id", "Agent pool must be set when the execution mode is agent"],
      [{ "execution-mode": "remote", "agent-pool-id": pool.id }, "/data/attributes/agent-pool-id", "Agent pool can only be set when the execution mode is agent"],
      [{ "agent-pool-id": pool.id }, "/data/attributes/agent-pool-id", "Agent pool can only be set when the execution mode is agent"],
      [{ operations: true, "agent-pool-id": pool.id }, "/data/attributes/agent-pool-id", "Agent pool can only be set when the execution mode is agent"],
      [{ "execution-mode": "agent", "agent-pool-id": foreignPool.id }, "/data/attributes/agent-pool-id", "Agent pool not found in this organization"],
      [{ "execution-mode": "agent", "agent-pool-id": "apool-doesnotexist12345" }, "/data/attributes/agent-pool-id", "Agent pool not found in this organization"],
    ];
    for (const [attributes, pointer, detail] of cases) {
      const name = unique("refused");
      const res = await owner.client.post(`/organizations/${org}/workspaces`, wsBody({ name, ...attributes }, { tags: { data: [{ type: "tags", attributes: { name: "t1" } }] } }));
      expect({ attributes, status: res.status }).toEqual({ attributes, status: 422 });
      expect(res.body.errors[0]).toMatchObject({ status: "422", detail, source: { pointer } });
      expect(await env.db.workspace.count({ where: { name } })).toBe(0);
    }
    const viaRelationship = await owner.client.post(
      `/organizations/${org}/workspaces`,
      wsBody({ name: unique("rel"), "execution-mode": "local" }, { "agent-pool": { data: { type: "agent-pools", id: pool.id } } }),
    );
    expect(viaRelationship.status).toBe(422);
    expect(viaRelationship.body.errors[0].source.pointer).toBe("/data/relationships/agent-pool/data/id");
  });

  it("checks the pool's scope, updates without partial writes, and unsets the pool when leaving agent mode", async () => {
    const wsName = unique("scoped-ws");
    const ws = await createWorkspace(owner.client, org, wsName);
    const scoped = await createPool(owner.client, org, { "organization-scoped": false });

    // Not allowed: refused, and the rename in the same request is not written either.
    const refused = await owner.client.patch(`/workspaces/${ws}`, wsBody({ name: unique("renamed"), "execution-mode": "agent", "agent-pool-id": scoped.id }));
    expect(refused.status).toBe(422);
    expect(refused.body.errors[0].source.pointer).toBe("/data/attributes/agent-pool-id");
    expect(await workspaceRow(ws)).toEqual({ name: wsName, executionMode: "remote", agentPoolId: null, agentPoolName: null });

    // Switching to agent mode on a workspace without a pool needs one.
    expect((await owner.client.patch(`/workspaces/${ws}`, wsBody({ "execution-mode": "agent" }))).status).toBe(422);

    expect((await owner.client.patch(`/agent-pools/${scoped.id}`, poolBody({}, workspaceRefs([ws])))).status).toBe(200);
    const allowed = await owner.client.patch(`/workspaces/${ws}`, wsBody({ "execution-mode": "agent" }, { "agent-pool": { data: { type: "agent-pools", id: scoped.id } } }));
    expect(allowed.status).toBe(200);
    expect(allowed.body.data.relationships["agent-pool"].data).toEqual({ type: "agent-pools", id: scoped.id });

    // Other settings leave the pool alone; unsetting it while staying in agent mode is refused.
    expect((await owner.client.patch(`/workspaces/${ws}`, wsBody({ description: "d" }))).body.data.relationships["agent-pool"].data.id).toBe(scoped.id);
    expect((await owner.client.patch(`/workspaces/${ws}`, wsBody({ "agent-pool-id": null }))).status).toBe(422);

    // A pool still used cannot be deleted (422), and its rename reaches the workspace's stored name.
    const inUse = await owner.client.delete(`/agent-pools/${scoped.id}`);
    expect(inUse.status).toBe(422);
    expect(inUse.body.errors[0].detail).toMatch(/still used by 1 workspace/);
    const newName = unique("moved");
    expect((await owner.client.patch(`/agent-pools/${scoped.id}`, poolBody({ name: newName }))).status).toBe(200);
    expect((await workspaceRow(ws)).agentPoolName).toBe(newName);

    const remote = await owner.client.patch(`/workspaces/${ws}`, wsBody({ "execution-mode": "remote" }));
    expect(remote.status).toBe(200);
    expect(remote.body.data.relationships["agent-pool"]).toEqual({ data: null });
    expect(remote.body.data.attributes["agent-pool-id"]).toBeNull();
    expect(await workspaceRow(ws)).toMatchObject({ executionMode: "remote", agentPoolId: null, agentPoolName: null });
    expect((await owner.client.delete(`/agent-pools/${scoped.id}`)).status).toBe(204);
  });
});

describe("runs of agent-mode workspaces", () => {
  it("record their pool's name, which filter[agent_pool_names] matches on both run lists", async () => {
    const o = await createOrganization(owner.client);
    const pool = await createPool(owner.client, o, { name: unique("runners") });
    const agentWs = await createWorkspace(owner.client, o, unique("agent-ws"), { "execution-mode": "agent", "agent-pool-id": pool.id });
    const remoteWs = await createWorkspace(owner.client, o, unique("remote-ws"));
    await createConfigurationVersion(env.db, agentWs);
    await createConfigurationVersion(env.db, remoteWs);
    const agentRun = await owner.client.post("/runs", runBody(agentWs));
    const remoteRun = await owner.client.post("/runs", runBody(remoteWs));
    expect([agentRun.status, remoteRun.status]).toEqual([201, 201]);
    const row = await env.db.run.findUniqueOrThrow({ where: { id: agentRun.body.data.id }, select: { agentPoolName: true } });
    expect(row.agentPoolName).toBe(pool.attributes.name);

    const poolName = encodeURIComponent(pool.attributes.name);
    expect(ids(await owner.client.get(`/workspaces/${agentWs}/runs?filter[agent_pool_names]=${poolName},other`))).toEqual([agentRun.body.data.id]);
    expect(ids(await owner.client.get(`/organizations/${o}/runs?filter[agent_pool_names]=${poolName}`))).toEqual([agentRun.body.data.id]);
    expect(ids(await owner.client.get(`/workspaces/${remoteWs}/runs?filter[agent_pool_names]=${poolName}`))).toEqual([]);
    expect(ids(await owner.client.get(`/organizations/${o}/runs?filter[agent_pool_names]=nope`))).toEqual([]);
  });
});

describe("organizations with agent pools", () => {
  it("can be deleted while a workspace runs on one of their pools", async () => {
    const o = await createOrganization(owner.client);
    const pool = await createPool(owner.client, o);
    await createToken(owner.client, pool.id);
    await createWorkspace(owner.client, o, unique("ws"), { "execution-mode": "agent", "agent-pool-id": pool.id });
    expect((await owner.client.delete(`/organizations/${o}`)).status).toBe(204);
    expect(await env.db.agentPool.count({ where: { id: pool.id } })).toBe(0);
  });
});

describe("agent pool repository", () => {
  it("keeps agent tokens apart from API tokens: marking use and deleting the pool", async () => {
    const pool = await createPool(owner.client, org);
    const token = await createToken(owner.client, pool.id);
    const at = new Date();
    await agentPoolsRepo.markAgentTokenUsed(env.db, token.id, at);
    expect((await owner.client.get(`/authentication-tokens/${token.id}`)).body.data.attributes["last-used-at"]).toBe(at.toISOString());
    expect(await env.db.apiToken.count({ where: { id: token.id } })).toBe(0);
    expect((await owner.client.delete(`/agent-pools/${pool.id}`)).status).toBe(204);
    expect(await findAgentTokenByValue(env.db, token.attributes.token)).toBeNull();
  });
});
