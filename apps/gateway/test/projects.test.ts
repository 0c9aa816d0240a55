import {
  addMembers,
  createOrganization,
  createTeam,
  createUser,
  createWorkspace,
  grantAccess,
  memberWithAccess,
  organizationToken,
  startApiTestEnv,
  teamToken,
  unique,
  type ApiTestEnv,
  type TestUser,
} from "./api-fixtures";

let env: ApiTestEnv;
let owner: TestUser;

beforeAll(async () => {
  env = await startApiTestEnv();
  owner = await createUser(env, unique("owner"));
}, 60_000);

afterAll(async () => {
  await env?.close();
});

const projectBody = (name: string, extra: Record<string, unknown> = {}) => ({ data: { type: "projects", attributes: { name, ...extra } } });

async function createProject(org: string, name = unique("prj")): Promise<string> {
  const res = await owner.client.post(`/organizations/${org}/projects`, projectBody(name));
  expect(res.status).toBe(201);
  return res.body.data.id as string;
}

describe("the default project", () => {
  it("comes with every organization and holds workspaces created without a project", async () => {
    const org = await createOrganization(owner.client);
    const shown = await owner.client.get(`/organizations/${org}`);
    const defaultId = shown.body.data.relationships["default-project"].data.id;
    expect(defaultId).toMatch(/^prj-/);
    const list = await owner.client.get(`/organizations/${org}/projects`);
    expect(list.status).toBe(200);
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0]).toMatchObject({ id: defaultId, type: "projects", attributes: { name: "Default Project" } });
    const ws = await createWorkspace(owner.client, org);
    const read = await owner.client.get(`/workspaces/${ws}`);
    expect(read.body.data.relationships.project.data).toEqual({ type: "projects", id: defaultId });
    expect((await owner.client.get(`/projects/${defaultId}`)).body.data.attributes["workspace-count"]).toBe(1);
  });

  it("cannot be deleted", async () => {
    const org = await createOrganization(owner.client);
    const list = await owner.client.get(`/organizations/${org}/projects`);
    const res = await owner.client.delete(`/projects/${list.body.data[0].id}`);
    expect(res.status).toBe(422);
    expect((await owner.client.get(`/projects/${list.body.data[0].id}`)).status).toBe(200);
  });
});

describe("projects API", () => {
  it("creates and reads a project with HCP's wire shape", async () => {
    const org = await createOrganization(owner.client);
    const name = unique("Team A");
    const res = await owner.client.post(`/organizations/${org}/projects`, projectBody(name, { description: "things" }));
    expect(res.status).toBe(201);
    const p = res.body.data;
    expect(p.type).toBe("projects");
    expect(p.id).toMatch(/^prj-/);
    expect(p.attributes).toMatchObject({
      name,
      description: "things",
      "workspace-count": 0,
      "default-execution-mode": "remote",
      "auto-destroy-activity-duration": null,
      "setting-overwrites": { "default-execution-mode": false, "default-agent-pool": false },
      permissions: { "can-read": true, "can-update": true, "can-destroy": true, "can-create-workspace": true },
    });
    expect(p.attributes["created-at"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(p.relationships.organization.data).toEqual({ type: "organizations", id: org });
    expect(p.links.self).toBe(`/api/v2/projects/${p.id}`);
    expect((await owner.client.get(`/projects/${p.id}`)).body.data).toEqual(p);
  });

  it("lists with pagination, filter[names] (any of, exact) and q", async () => {
    const org = await createOrganization(owner.client);
    await createProject(org, "alpha-one");
    await createProject(org, "beta two");
    await createProject(org, "alpha");
    const names = async (q: string) => (await owner.client.get(`/organizations/${org}/projects?${q}`)).body.data.map((p: any) => p.attributes.name);
    const byName = await names("");
    expect([...byName].sort()).toEqual(["Default Project", "alpha", "alpha-one", "beta two"]);
    expect(await names("filter[names]=alpha")).toEqual(["alpha"]);
    expect(await names(`filter[names]=${encodeURIComponent("alpha,beta two")}`)).toEqual(["alpha", "beta two"]);
    expect(await names("q=ALPHA")).toEqual(["alpha", "alpha-one"]);
    expect(await names("q=Default")).toEqual(["Default Project"]);
    expect(await names("sort=-name")).toEqual([...byName].reverse());
    expect((await owner.client.get(`/organizations/${org}/projects?sort=created-at`)).status).toBe(400);
    const page = await owner.client.get(`/organizations/${org}/projects?page[size]=2&page[number]=2`);
    expect(page.body.data).toHaveLength(2);
    expect(page.body.meta.pagination).toMatchObject({ "current-page": 2, "total-count": 4, "total-pages": 2 });
  });

  it("refuses bad names and taken names with 422, writing nothing", async () => {
    const org = await createOrganization(owner.client);
    await createProject(org, "taken");
    for (const name of ["ab", "x".repeat(41), " leading", "trailing ", "bad/char", ""]) {
      const res = await owner.client.post(`/organizations/${org}/projects`, projectBody(name));
      expect(res.status).toBe(422);
      expect(res.body.errors[0].source.pointer).toBe("/data/attributes/name");
    }
    const dup = await owner.client.post(`/organizations/${org}/projects`, projectBody("taken"));
    expect(dup.status).toBe(422);
    expect(dup.body.errors[0].detail).toBe("Name has already been taken");
    expect((await owner.client.get(`/organizations/${org}/projects`)).body.meta.pagination["total-count"]).toBe(2);
  });

  it("updates name and description; deletes only when empty", async () => {
    const org = await createOrganization(owner.client);
    const id = await createProject(org);
    const upd = await owner.client.patch(`/projects/${id}`, { data: { type: "projects", attributes: { name: "renamed", description: "d" } } });
    expect(upd.status).toBe(200);
    expect(upd.body.data.attributes).toMatchObject({ name: "renamed", description: "d" });
    const ws = await owner.client.post(`/organizations/${org}/workspaces`, {
      data: { type: "workspaces", attributes: { name: unique("inprj") }, relationships: { project: { data: { type: "projects", id } } } },
    });
    expect(ws.status).toBe(201);
    expect(ws.body.data.relationships.project.data).toEqual({ type: "projects", id });
    const refused = await owner.client.delete(`/projects/${id}`);
    expect(refused.status).toBe(422);
    expect((await owner.client.get(`/projects/${id}`)).status).toBe(200);
    // Move the workspace back to the default project, then the project can go.
    const defaultId = (await owner.client.get(`/organizations/${org}`)).body.data.relationships["default-project"].data.id;
    const moved = await owner.client.patch(`/workspaces/${ws.body.data.id}`, {
      data: { type: "workspaces", relationships: { project: { data: { type: "projects", id: defaultId } } } },
    });
    expect(moved.status).toBe(200);
    expect(moved.body.data.relationships.project.data.id).toBe(defaultId);
    expect((await owner.client.delete(`/projects/${id}`)).status).toBe(204);
    expect((await owner.client.get(`/projects/${id}`)).status).toBe(404);
    expect((await owner.client.delete(`/projects/${id}`)).status).toBe(404);
  });

  it("filters workspaces by filter[project][id] and includes the project", async () => {
    const org = await createOrganization(owner.client);
    const id = await createProject(org);
    const name = unique("w");
    await owner.client.post(`/organizations/${org}/workspaces`, {
      data: { type: "workspaces", attributes: { name }, relationships: { project: { data: { type: "projects", id } } } },
    });
    await createWorkspace(owner.client, org);
    const list = await owner.client.get(`/organizations/${org}/workspaces?filter[project][id]=${id}&include=project`);
    expect(list.body.data.map((w: any) => w.attributes.name)).toEqual([name]);
    expect(list.body.included).toEqual([expect.objectContaining({ type: "projects", id })]);
  });
});

describe("project refusals and isolation", () => {
  it("a workspace naming an unknown or foreign project is refused and not created", async () => {
    const org = await createOrganization(owner.client);
    const otherOrg = await createOrganization(owner.client);
    const foreign = await createProject(otherOrg);
    for (const id of ["prj-doesnotexist0000", foreign]) {
      const name = unique("nope");
      const res = await owner.client.post(`/organizations/${org}/workspaces`, {
        data: { type: "workspaces", attributes: { name }, relationships: { project: { data: { type: "projects", id } } } },
      });
      expect(res.status).toBe(404);
      expect((await owner.client.get(`/organizations/${org}/workspaces/${name}`)).status).toBe(404);
    }
    const ws = await createWorkspace(owner.client, org);
    const move = await owner.client.patch(`/workspaces/${ws}`, {
      data: { type: "workspaces", attributes: { description: "changed" }, relationships: { project: { data: { type: "projects", id: foreign } } } },
    });
    expect(move.status).toBe(404);
    const after = (await owner.client.get(`/workspaces/${ws}`)).body.data;
    expect(after.attributes.description).toBeNull();
    expect(after.relationships.project.data.id).not.toBe(foreign);
  });

  it("other organizations see 404; members see only projects of workspaces they can access; only owners manage", async () => {
    const org = await createOrganization(owner.client);
    const hidden = await createProject(org);
    const shared = await createProject(org);
    const ws = await owner.client.post(`/organizations/${org}/workspaces`, {
      data: { type: "workspaces", attributes: { name: unique("shared") }, relationships: { project: { data: { type: "projects", id: shared } } } },
    });
    const member = await memberWithAccess(env, owner.client, org, ws.body.data.id, "write");
    const seen = await member.client.get(`/organizations/${org}/projects`);
    expect(seen.status).toBe(200);
    expect(seen.body.data.map((p: any) => p.id)).toEqual([shared]);
    expect(seen.body.data[0].attributes.permissions).toMatchObject({ "can-update": false, "can-destroy": false });
    expect((await member.client.get(`/projects/${hidden}`)).status).toBe(404);
    expect((await member.client.patch(`/projects/${shared}`, projectBody("stolen"))).status).toBe(404);
    expect((await member.client.delete(`/projects/${shared}`)).status).toBe(404);
    expect((await member.client.post(`/organizations/${org}/projects`, projectBody("mine"))).status).toBe(404);

    const stranger = await createUser(env);
    await createOrganization(stranger.client);
    expect((await stranger.client.get(`/organizations/${org}/projects`)).status).toBe(404);
    expect((await stranger.client.get(`/projects/${shared}`)).status).toBe(404);
    expect((await stranger.client.patch(`/projects/${shared}`, projectBody("stolen"))).status).toBe(404);
    expect((await stranger.client.delete(`/projects/${hidden}`)).status).toBe(404);
    expect((await owner.client.get(`/projects/${shared}`)).body.data.attributes.name).not.toBe("stolen");

    // A manage-workspaces team reads every project; organization tokens manage them.
    const managerTeam = await createTeam(owner.client, org, unique("mgr"), { "organization-access": { "manage-workspaces": true, "manage-projects": true } });
    const manager = await teamToken(owner.client, managerTeam);
    expect((await manager.get(`/organizations/${org}/projects`)).body.data).toHaveLength(3);
    const orgToken = await organizationToken(owner.client, org);
    expect((await orgToken.post(`/organizations/${org}/projects`, projectBody(unique("by-token")))).status).toBe(201);
  });

  it("a team granted access later sees the project through its workspace", async () => {
    const org = await createOrganization(owner.client);
    const id = await createProject(org);
    const ws = await owner.client.post(`/organizations/${org}/workspaces`, {
      data: { type: "workspaces", attributes: { name: unique("later") }, relationships: { project: { data: { type: "projects", id } } } },
    });
    const user = await createUser(env);
    const team = await createTeam(owner.client, org);
    await addMembers(owner.client, team, [user.id]);
    expect((await user.client.get(`/projects/${id}`)).status).toBe(404);
    await grantAccess(owner.client, team, ws.body.data.id, "read");
    expect((await user.client.get(`/projects/${id}`)).status).toBe(200);
  });
});

describe("project tag bindings", () => {
  it("are set on create, merged by PATCH …/tag-bindings and inherited by the project's workspaces", async () => {
    const org = await createOrganization(owner.client);
    const res = await owner.client.post(`/organizations/${org}/projects`, {
      data: { type: "projects", attributes: { name: unique("tagged") }, relationships: { "tag-bindings": { data: [{ type: "tag-bindings", attributes: { key: "team", value: "core" } }] } } },
    });
    expect(res.status).toBe(201);
    const id = res.body.data.id;
    const merged = await owner.client.patch(`/projects/${id}/tag-bindings`, { data: [{ type: "tag-bindings", attributes: { key: "env", value: "prod" } }] });
    expect(merged.body.data.map((b: any) => [b.attributes.key, b.attributes.value])).toEqual([
      ["team", "core"],
      ["env", "prod"],
    ]);
    const ws = await owner.client.post(`/organizations/${org}/workspaces`, {
      data: {
        type: "workspaces",
        attributes: { name: unique("child") },
        relationships: { project: { data: { type: "projects", id } }, "tag-bindings": { data: [{ type: "tag-bindings", attributes: { key: "env", value: "dev" } }] } },
      },
    });
    const wsId = ws.body.data.id;
    const effective = await owner.client.get(`/workspaces/${wsId}/effective-tag-bindings`);
    expect(effective.body.data.map((b: any) => [b.type, b.attributes.key, b.attributes.value, b.links?.["inherited-from"] ?? null])).toEqual([
      ["effective-tag-bindings", "env", "dev", null],
      ["effective-tag-bindings", "team", "core", `/api/v2/projects/${id}`],
    ]);
    expect(effective.body.data[1].relationships["inherited-from"].data).toEqual({ type: "projects", id });
    // Inherited tags count for the workspace list filter.
    const found = await owner.client.get(`/organizations/${org}/workspaces?filter[tagged][0][key]=team&filter[tagged][0][value]=core`);
    expect(found.body.data.map((w: any) => w.id)).toEqual([wsId]);
    const included = await owner.client.get(`/organizations/${org}/workspaces?include=effective_tag_bindings`);
    const row = included.body.data.find((w: any) => w.id === wsId);
    expect(row.relationships["effective-tag-bindings"].data).toHaveLength(2);
    expect(included.body.included.filter((r: any) => r.type === "effective-tag-bindings")).toHaveLength(2);
    const projects = await owner.client.get(`/organizations/${org}/projects?filter[tagged][0][key]=team`);
    expect(projects.body.data.map((p: any) => p.id)).toEqual([id]);
    // DeleteAllTagBindings: PATCH the project with an empty relationship.
    expect((await owner.client.patch(`/projects/${id}`, { data: { type: "projects", relationships: { "tag-bindings": { data: [] } } } })).status).toBe(200);
    expect((await owner.client.get(`/projects/${id}/tag-bindings`)).body.data).toEqual([]);
  });
});
