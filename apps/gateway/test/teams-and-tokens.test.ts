import {
  addMembers,
  createOrganization,
  createTeam,
  createUser,
  createWorkspace,
  grantAccess,
  organizationToken,
  startApiTestEnv,
  teamToken,
  unique,
  type ApiTestEnv,
  type TestUser,
} from "./api-fixtures";
import { hashSecret } from "@tarmac/db";

let env: ApiTestEnv;
let owner: TestUser;
let member: TestUser;
let outsider: TestUser;
let org: string;

beforeAll(async () => {
  env = await startApiTestEnv();
  owner = await createUser(env, unique("owner"));
  member = await createUser(env, unique("member"));
  outsider = await createUser(env, unique("outsider"));
  org = await createOrganization(owner.client);
}, 60_000);

afterAll(async () => {
  await env?.close();
});

describe("teams", () => {
  it("creates a team with visibility and organization access", async () => {
    const name = unique("platform");
    const res = await owner.client.post(`/organizations/${org}/teams`, {
      data: { type: "teams", attributes: { name, visibility: "organization", "organization-access": { "manage-workspaces": true } } },
    });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({
      type: "teams",
      attributes: { name, visibility: "organization", "users-count": 0, "organization-access": { "manage-workspaces": true, "manage-policies": false } },
      relationships: { organization: { data: { type: "organizations", id: org } }, users: { data: [] } },
    });
    expect(res.body.data.id).toMatch(/^team-/);
    const dup = await owner.client.post(`/organizations/${org}/teams`, { data: { type: "teams", attributes: { name } } });
    expect(dup.status).toBe(422);
    expect(dup.body.errors[0].detail).toBe("Name has already been taken");
  });

  it("rejects a bad visibility with 422 and a pointer", async () => {
    const res = await owner.client.post(`/organizations/${org}/teams`, { data: { type: "teams", attributes: { name: unique("t"), visibility: "public" } } });
    expect(res.status).toBe(422);
    expect(res.body.errors[0].source.pointer).toBe("/data/attributes/visibility");
  });

  it("lets only owners manage teams; members see organization-visible teams and their own", async () => {
    const secret = await createTeam(owner.client, org, unique("secret"));
    const visible = await createTeam(owner.client, org, unique("visible"), { visibility: "organization" });
    const mine = await createTeam(owner.client, org, unique("mine"));
    await addMembers(owner.client, mine, [member.id]);

    const listed = await member.client.get(`/organizations/${org}/teams?page[size]=100`);
    expect(listed.status).toBe(200);
    const ids = listed.body.data.map((t: any) => t.id);
    expect(ids).toEqual(expect.arrayContaining([visible, mine]));
    expect(ids).not.toContain(secret);
    expect((await member.client.get(`/teams/${secret}`)).status).toBe(404);
    expect((await member.client.get(`/teams/${visible}`)).status).toBe(200);

    expect((await member.client.post(`/organizations/${org}/teams`, { data: { type: "teams", attributes: { name: unique("x") } } })).status).toBe(404);
    expect((await member.client.patch(`/teams/${visible}`, { data: { type: "teams", attributes: { visibility: "secret" } } })).status).toBe(404);
    expect((await member.client.delete(`/teams/${visible}`)).status).toBe(404);
    expect((await outsider.client.get(`/teams/${visible}`)).status).toBe(404);
    expect((await outsider.client.get(`/organizations/${org}/teams`)).status).toBe(404);

    const renamed = unique("renamed");
    const upd = await owner.client.patch(`/teams/${visible}`, { data: { type: "teams", attributes: { name: renamed, visibility: "secret" } } });
    expect(upd.status).toBe(200);
    expect(upd.body.data.attributes).toMatchObject({ name: renamed, visibility: "secret" });
    expect((await owner.client.delete(`/teams/${visible}`)).status).toBe(204);
    expect((await owner.client.get(`/teams/${visible}`)).status).toBe(404);
  });

  it("filters teams by name", async () => {
    const name = unique("findme");
    const id = await createTeam(owner.client, org, name);
    const res = await owner.client.get(`/organizations/${org}/teams?filter[names]=${name}`);
    expect(res.body.data.map((t: any) => t.id)).toEqual([id]);
  });

  it("protects the owners team", async () => {
    const teams = await owner.client.get(`/organizations/${org}/teams?filter[names]=owners`);
    const owners = teams.body.data[0];
    expect(owners.attributes["organization-access"]["manage-workspaces"]).toBe(true);
    expect((await owner.client.delete(`/teams/${owners.id}`)).status).toBe(422);
    const rename = await owner.client.patch(`/teams/${owners.id}`, { data: { type: "teams", attributes: { name: "admins" } } });
    expect(rename.status).toBe(422);
    const emptied = await owner.client.request("DELETE", `/teams/${owners.id}/relationships/users`, { data: [{ type: "users", id: owner.id }] });
    expect(emptied.status).toBe(422);
    expect((await owner.client.get(`/organizations/${org}`)).status).toBe(200);
  });

  it("adds and removes members by id or username", async () => {
    const team = await createTeam(owner.client, org);
    const extra = await createUser(env);
    const add = await owner.client.post(`/teams/${team}/relationships/users`, {
      data: [
        { type: "users", id: member.id },
        { type: "users", id: extra.username },
      ],
    });
    expect(add.status).toBe(204);
    const got = await owner.client.get(`/teams/${team}?include=users`);
    expect(got.body.data.attributes["users-count"]).toBe(2);
    expect(got.body.included.map((u: any) => u.attributes.username).sort()).toEqual([member.username, extra.username].sort());
    expect(got.body.data.relationships.users.data.map((u: any) => u.id).sort()).toEqual([member.id, extra.id].sort());

    const unknown = await owner.client.post(`/teams/${team}/relationships/users`, { data: [{ type: "users", id: "user-doesnotexist" }] });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors[0].source.pointer).toBe("/data/0/id");
    const malformed = await owner.client.post(`/teams/${team}/relationships/users`, { data: { type: "users", id: member.id } });
    expect(malformed.status).toBe(422);

    const remove = await owner.client.request("DELETE", `/teams/${team}/relationships/users`, { data: [{ type: "users", id: extra.id }] });
    expect(remove.status).toBe(204);
    expect((await owner.client.get(`/teams/${team}`)).body.data.attributes["users-count"]).toBe(1);
    // The removed user no longer sees the organization.
    expect((await extra.client.get(`/organizations/${org}`)).status).toBe(404);
  });
});

describe("team workspace access", () => {
  it("grants, lists, changes and revokes a team's access to a workspace", async () => {
    const ws = await createWorkspace(owner.client, org);
    const team = await createTeam(owner.client, org);
    const tws = await grantAccess(owner.client, team, ws, "plan");
    expect(tws).toMatch(/^tws-/);

    const shown = await owner.client.get(`/team-workspaces/${tws}`);
    expect(shown.status).toBe(200);
    expect(shown.body.data).toMatchObject({
      type: "team-workspaces",
      attributes: { access: "plan", runs: "plan", variables: "read", "workspace-locking": false },
      relationships: { team: { data: { type: "teams", id: team } }, workspace: { data: { type: "workspaces", id: ws } } },
    });

    const listed = await owner.client.get(`/team-workspaces?filter[workspace][id]=${ws}`);
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((x: any) => x.id)).toEqual([tws]);
    expect(listed.body.meta.pagination["total-count"]).toBe(1);

    const dup = await owner.client.post("/team-workspaces", {
      data: {
        type: "team-workspaces",
        attributes: { access: "read" },
        relationships: { team: { data: { type: "teams", id: team } }, workspace: { data: { type: "workspaces", id: ws } } },
      },
    });
    expect(dup.status).toBe(422);

    const upd = await owner.client.patch(`/team-workspaces/${tws}`, { data: { type: "team-workspaces", attributes: { access: "write" } } });
    expect(upd.status).toBe(200);
    expect(upd.body.data.attributes).toMatchObject({ access: "write", runs: "apply", "workspace-locking": true });

    const bad = await owner.client.patch(`/team-workspaces/${tws}`, { data: { type: "team-workspaces", attributes: { access: "custom" } } });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].source.pointer).toBe("/data/attributes/access");

    expect((await owner.client.delete(`/team-workspaces/${tws}`)).status).toBe(204);
    expect((await owner.client.get(`/team-workspaces/${tws}`)).status).toBe(404);
  });

  it("requires filter[workspace][id] on the list", async () => {
    const res = await owner.client.get("/team-workspaces");
    expect(res.status).toBe(422);
    expect(res.body.errors[0].source.parameter).toBe("filter[workspace][id]");
  });

  it("lets only workspace admins manage access; others get 404", async () => {
    const ws = await createWorkspace(owner.client, org);
    const team = await createTeam(owner.client, org);
    await addMembers(owner.client, team, [member.id]);
    const tws = await grantAccess(owner.client, team, ws, "write");
    expect((await member.client.get(`/team-workspaces/${tws}`)).status).toBe(404);
    expect((await member.client.get(`/team-workspaces?filter[workspace][id]=${ws}`)).status).toBe(404);
    expect((await member.client.patch(`/team-workspaces/${tws}`, { data: { type: "team-workspaces", attributes: { access: "admin" } } })).status).toBe(404);
    expect((await outsider.client.delete(`/team-workspaces/${tws}`)).status).toBe(404);
    // A team of another organization cannot be granted access.
    const otherOrg = await createOrganization(owner.client);
    const foreignTeam = await createTeam(owner.client, otherOrg);
    const foreign = await owner.client.post("/team-workspaces", {
      data: {
        type: "team-workspaces",
        attributes: { access: "read" },
        relationships: { team: { data: { type: "teams", id: foreignTeam } }, workspace: { data: { type: "workspaces", id: ws } } },
      },
    });
    expect(foreign.status).toBe(404);
  });
});

describe("user tokens", () => {
  it("creates a token shown once, stores only its hash, and lists it without the value", async () => {
    const res = await member.client.post(`/users/${member.id}/authentication-tokens`, {
      data: { type: "authentication-tokens", attributes: { description: "ci" } },
    });
    expect(res.status).toBe(201);
    const value: string = res.body.data.attributes.token;
    expect(value).toMatch(/^[A-Za-z0-9_-]{14}\.atlasv1\.[A-Za-z0-9_-]{40,}$/);
    expect(res.body.data).toMatchObject({ type: "authentication-tokens", attributes: { description: "ci" } });
    const id: string = res.body.data.id;
    expect(id).toMatch(/^at-/);

    const row = await env.db.apiToken.findUniqueOrThrow({ where: { id } });
    expect(row.tokenHash).toBe(hashSecret(value));
    expect(JSON.stringify(row)).not.toContain(value);

    const me = await member.client.withToken(value).get("/account/details");
    expect(me.body.data.id).toBe(member.id);

    const shown = await member.client.get(`/authentication-tokens/${id}`);
    expect(shown.status).toBe(200);
    expect(shown.body.data.attributes.token).toBeNull();
    const listed = await member.client.get(`/users/${member.id}/authentication-tokens`);
    expect(listed.body.data.map((t: any) => t.id)).toContain(id);
    expect(listed.body.data.every((t: any) => t.attributes.token === null)).toBe(true);

    expect((await member.client.delete(`/authentication-tokens/${id}`)).status).toBe(204);
    expect((await member.client.withToken(value).get("/account/details")).status).toBe(401);
  });

  it("manages tokens only for yourself, or as a site admin", async () => {
    expect((await outsider.client.post(`/users/${member.id}/authentication-tokens`, {})).status).toBe(404);
    expect((await outsider.client.get(`/users/${member.id}/authentication-tokens`)).status).toBe(404);
    const mine = await member.client.post(`/users/${member.id}/authentication-tokens`, {});
    expect(mine.status).toBe(201);
    expect((await outsider.client.get(`/authentication-tokens/${mine.body.data.id}`)).status).toBe(404);
    expect((await outsider.client.delete(`/authentication-tokens/${mine.body.data.id}`)).status).toBe(404);
    expect((await env.admin.get(`/authentication-tokens/${mine.body.data.id}`)).status).toBe(200);
  });

  it("refuses an expiry in the past and honours one in the future", async () => {
    const past = await member.client.post(`/users/${member.id}/authentication-tokens`, {
      data: { type: "authentication-tokens", attributes: { "expired-at": "2001-01-01T00:00:00Z" } },
    });
    expect(past.status).toBe(422);
    expect(past.body.errors[0].source.pointer).toBe("/data/attributes/expired-at");
    const garbage = await member.client.post(`/users/${member.id}/authentication-tokens`, {
      data: { type: "authentication-tokens", attributes: { "expired-at": "tomorrow" } },
    });
    expect(garbage.status).toBe(422);
    const future = await member.client.post(`/users/${member.id}/authentication-tokens`, {
      data: { type: "authentication-tokens", attributes: { "expired-at": "2999-01-01T00:00:00Z" } },
    });
    expect(future.status).toBe(201);
    expect(future.body.data.attributes["expired-at"]).toBe("2999-01-01T00:00:00.000Z");
  });
});

describe("team and organization tokens", () => {
  it("replaces a team's token when a new one is created, and revokes it on delete", async () => {
    const team = await createTeam(owner.client, org);
    const first = await teamToken(owner.client, team);
    expect((await first.get(`/organizations/${org}`)).status).toBe(200);
    const second = await teamToken(owner.client, team);
    expect((await first.get(`/organizations/${org}`)).status).toBe(401);
    expect((await second.get(`/organizations/${org}`)).status).toBe(200);
    const meta = await owner.client.get(`/teams/${team}/authentication-token`);
    expect(meta.status).toBe(200);
    expect(meta.body.data.attributes.token).toBeNull();
    expect((await member.client.post(`/teams/${team}/authentication-token`, {})).status).toBe(404);
    expect((await owner.client.delete(`/teams/${team}/authentication-token`)).status).toBe(204);
    expect((await second.get(`/organizations/${org}`)).status).toBe(401);
    expect((await owner.client.delete(`/teams/${team}/authentication-token`)).status).toBe(404);
  });

  it("replaces the organization token and revokes it on delete; members cannot manage it", async () => {
    const team = await createTeam(owner.client, org);
    await addMembers(owner.client, team, [member.id]);
    expect((await member.client.post(`/organizations/${org}/authentication-token`, {})).status).toBe(404);
    const first = await organizationToken(owner.client, org);
    const second = await organizationToken(owner.client, org);
    expect((await first.get(`/organizations/${org}`)).status).toBe(401);
    expect((await second.get(`/organizations/${org}`)).status).toBe(200);
    expect((await owner.client.get(`/organizations/${org}/authentication-token`)).status).toBe(200);
    expect((await owner.client.delete(`/organizations/${org}/authentication-token`)).status).toBe(204);
    expect((await second.get(`/organizations/${org}`)).status).toBe(401);
  });

  it("gives owners-team and organization tokens owner powers, and a plain team token member powers", async () => {
    const teams = await owner.client.get(`/organizations/${org}/teams?filter[names]=owners`);
    const ownersToken = await teamToken(owner.client, teams.body.data[0].id);
    expect((await ownersToken.post(`/organizations/${org}/teams`, { data: { type: "teams", attributes: { name: unique("by-owners") } } })).status).toBe(201);
    const byOrgToken = await (await organizationToken(owner.client, org)).post(`/organizations/${org}/teams`, {
      data: { type: "teams", attributes: { name: unique("by-org-token") } },
    });
    expect(byOrgToken.status).toBe(201);
    const plain = await teamToken(owner.client, await createTeam(owner.client, org));
    expect((await plain.post(`/organizations/${org}/teams`, { data: { type: "teams", attributes: { name: unique("by-plain") } } })).status).toBe(404);
  });
});
