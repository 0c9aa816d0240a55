import { addMembers, createOrganization, createTeam, createUser, startApiTestEnv, teamToken, unique, type ApiTestEnv, type TestUser } from "./api-fixtures";

let env: ApiTestEnv;
let owner: TestUser;

beforeAll(async () => {
  env = await startApiTestEnv();
  owner = await createUser(env, unique("owner"));
}, 60_000);

afterAll(async () => {
  await env?.close();
});

async function setup() {
  const org = await createOrganization(owner.client);
  const project = (await owner.client.post(`/organizations/${org}/projects`, { data: { type: "projects", attributes: { name: unique("prj") } } })).body.data.id;
  const ws = await owner.client.post(`/organizations/${org}/workspaces`, {
    data: { type: "workspaces", attributes: { name: unique("ws") }, relationships: { project: { data: { type: "projects", id: project } } } },
  });
  const outside = (await owner.client.post(`/organizations/${org}/workspaces`, { data: { type: "workspaces", attributes: { name: unique("out") } } })).body.data.id;
  const member = await createUser(env);
  const team = await createTeam(owner.client, org);
  await addMembers(owner.client, team, [member.id]);
  return { org, project, workspaceId: ws.body.data.id as string, outside: outside as string, member, team };
}

const grantBody = (team: string, project: string, access: string, extra: Record<string, unknown> = {}) => ({
  data: {
    type: "team-projects",
    attributes: { access, ...extra },
    relationships: { team: { data: { type: "teams", id: team } }, project: { data: { type: "projects", id: project } } },
  },
});

describe("team project access", () => {
  it("grants a team access to every workspace of the project, and only those", async () => {
    const { project, workspaceId, outside, member, team } = await setup();
    expect((await member.client.get(`/workspaces/${workspaceId}`)).status).toBe(404);
    const created = await owner.client.post("/team-projects", grantBody(team, project, "write"));
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({
      type: "team-projects",
      id: expect.stringMatching(/^tprj-/),
      attributes: { access: "write", "workspace-access": { runs: "apply", locking: true } },
      relationships: { team: { data: { type: "teams", id: team } }, project: { data: { type: "projects", id: project } } },
    });
    const read = await member.client.get(`/workspaces/${workspaceId}`);
    expect(read.status).toBe(200);
    expect(read.body.data.attributes.permissions).toMatchObject({ "can-queue-apply": true, "can-update": false });
    expect((await member.client.get(`/workspaces/${outside}`)).status).toBe(404);
    expect((await member.client.get(`/projects/${project}`)).status).toBe(200);
    const org = read.body.data.relationships.organization.data.id;
    const listed = await member.client.get(`/organizations/${org}/workspaces`);
    expect(listed.body.data.map((w: any) => w.id)).toEqual([workspaceId]);

    // maintain gives admin on the workspaces; deleting the grant takes everything back.
    const upd = await owner.client.patch(`/team-projects/${created.body.data.id}`, { data: { type: "team-projects", attributes: { access: "maintain" } } });
    expect(upd.status).toBe(200);
    expect((await member.client.get(`/workspaces/${workspaceId}`)).body.data.attributes.permissions["can-update"]).toBe(true);
    expect((await owner.client.delete(`/team-projects/${created.body.data.id}`)).status).toBe(204);
    expect((await member.client.get(`/workspaces/${workspaceId}`)).status).toBe(404);
  });

  it("derives a custom grant's workspace level from its runs permission", async () => {
    const { project, workspaceId, team } = await setup();
    const tok = await teamToken(owner.client, team);
    const created = await owner.client.post("/team-projects", grantBody(team, project, "custom", { "workspace-access": { runs: "plan" } }));
    expect(created.status).toBe(201);
    expect(created.body.data.attributes["workspace-access"]).toMatchObject({ runs: "plan", create: false });
    const perms = (await tok.get(`/workspaces/${workspaceId}`)).body.data.attributes.permissions;
    expect(perms).toMatchObject({ "can-queue-run": true, "can-queue-apply": false });
  });

  it("lets maintain and admin grants create workspaces in their project, and only there", async () => {
    const { org, project, member, team } = await setup();
    const body = (projectId?: string) => ({
      data: {
        type: "workspaces",
        attributes: { name: unique("by-member") },
        ...(projectId ? { relationships: { project: { data: { type: "projects", id: projectId } } } } : {}),
      },
    });
    const grant = await owner.client.post("/team-projects", grantBody(team, project, "write"));
    expect((await member.client.post(`/organizations/${org}/workspaces`, body(project))).status).toBe(404);
    await owner.client.patch(`/team-projects/${grant.body.data.id}`, { data: { type: "team-projects", attributes: { access: "maintain" } } });
    const created = await member.client.post(`/organizations/${org}/workspaces`, body(project));
    expect(created.status).toBe(201);
    expect(created.body.data.relationships.project.data.id).toBe(project);
    expect(created.body.data.attributes.permissions["can-update"]).toBe(true);
    expect((await member.client.post(`/organizations/${org}/workspaces`, body())).status).toBe(404);
    const defaultId = (await owner.client.get(`/organizations/${org}`)).body.data.relationships["default-project"].data.id;
    const refused = body(defaultId);
    expect((await member.client.post(`/organizations/${org}/workspaces`, refused)).status).toBe(404);
    expect((await owner.client.get(`/organizations/${org}/workspaces/${refused.data.attributes.name}`)).status).toBe(404);
    // maintain creates but does not move workspaces out of the project.
    const moved = await member.client.patch(`/workspaces/${created.body.data.id}`, {
      data: { type: "workspaces", relationships: { project: { data: { type: "projects", id: defaultId } } } },
    });
    expect(moved.status).toBe(404);
  });

  it("lists by project, refuses duplicates and bad input with nothing written, and hides grants from non-owners", async () => {
    const { org, project, team, member } = await setup();
    await owner.client.post("/team-projects", grantBody(team, project, "read"));
    const list = await owner.client.get(`/team-projects?filter[project][id]=${project}`);
    expect(list.status).toBe(200);
    expect(list.body.data.map((g: any) => g.attributes.access)).toEqual(["read"]);
    expect((await owner.client.get("/team-projects")).status).toBe(400);
    expect((await owner.client.post("/team-projects", grantBody(team, project, "write"))).status).toBe(422);
    expect((await owner.client.post("/team-projects", grantBody(team, project, "superuser"))).status).toBe(422);
    const other = await createTeam(owner.client, org);
    expect((await owner.client.post("/team-projects", grantBody(other, project, "read", { "workspace-access": { runs: "apply" } }))).status).toBe(422);
    expect((await owner.client.get(`/team-projects?filter[project][id]=${project}`)).body.data).toHaveLength(1);
    expect((await member.client.get(`/team-projects?filter[project][id]=${project}`)).status).toBe(404);
    expect((await member.client.post("/team-projects", grantBody(team, project, "admin"))).status).toBe(404);
    // A team of another organization cannot be granted this project.
    const foreignOrg = await createOrganization(owner.client);
    const foreignTeam = await createTeam(owner.client, foreignOrg);
    expect((await owner.client.post("/team-projects", grantBody(foreignTeam, project, "read"))).status).toBe(404);
    const stranger = await createUser(env);
    expect((await stranger.client.get(`/team-projects/${list.body.data[0].id}`)).status).toBe(404);
    expect((await stranger.client.delete(`/team-projects/${list.body.data[0].id}`)).status).toBe(404);
    expect((await owner.client.get(`/team-projects/${list.body.data[0].id}`)).status).toBe(200);
  });
});
