import { createOrganization, createTeam, createUser, createWorkspace, startApiTestEnv, type ApiTestEnv, type TestUser } from "./api-fixtures";

let env: ApiTestEnv;
let owner: TestUser;
let org: string;
let ws: string;
let team: string;

beforeAll(async () => {
  env = await startApiTestEnv();
  owner = await createUser(env);
  org = await createOrganization(owner.client);
  ws = await createWorkspace(owner.client, org);
  team = await createTeam(owner.client, org);
}, 60_000);

afterAll(async () => {
  await env?.close();
});

describe("hostile input", () => {
  it("answers 404, never 500, to NUL characters in path parameters", async () => {
    const paths = [
      "/workspaces/%00",
      "/organizations/%00",
      `/organizations/${org}/workspaces/a%00b`,
      "/teams/%00",
      "/users/%00",
      "/authentication-tokens/%00",
      "/team-workspaces/%00",
      `/workspaces/${ws}/vars/%00`,
      `/organizations/${org}%00/entitlement-set`,
    ];
    for (const p of paths) {
      const res = await owner.client.get(p);
      expect({ p, status: res.status }).toEqual({ p, status: 404 });
    }
  });

  it("answers 422, never 500, to NUL characters in queries and bodies, and changes nothing", async () => {
    for (const p of [`/organizations/${org}/workspaces?search[name]=%00`, "/organizations?q=a%00", `/organizations/${org}/teams?filter[names]=%00`]) {
      const res = await owner.client.get(p);
      expect({ p, status: res.status }).toEqual({ p, status: 422 });
    }
    const before = await env.db.workspace.count();
    const created = await owner.client.post(`/organizations/${org}/workspaces`, { data: { type: "workspaces", attributes: { name: "nul-desc", description: "a\u0000b" } } });
    expect(created.status).toBe(422);
    expect(created.body.errors[0].source.pointer).toBe("/data/attributes/description");
    expect(await env.db.workspace.count()).toBe(before);
    const lock = await owner.client.post(`/workspaces/${ws}/actions/lock`, { reason: "a\u0000b" });
    expect(lock.status).toBe(422);
    expect((await owner.client.get(`/workspaces/${ws}`)).body.data.attributes.locked).toBe(false);
    const variable = await owner.client.post(`/workspaces/${ws}/vars`, { data: { type: "vars", attributes: { key: "k", value: "\u0000", category: "env" } } });
    expect(variable.status).toBe(422);
  });

  it("refuses page numbers too large for an offset with 422 and keeps large ones working", async () => {
    const huge = await owner.client.get("/organizations?page[number]=99999999999999999999");
    expect(huge.status).toBe(422);
    expect(huge.body.errors[0].source.parameter).toBe("page[number]");
    const large = await owner.client.get(`/organizations/${org}/workspaces?page[number]=1000000`);
    expect(large.status).toBe(200);
    expect(large.body.data).toEqual([]);
  });

  it("answers 422 to out-of-range numbers, overlong strings and wrong JSON shapes", async () => {
    const cases: [string, string, unknown][] = [
      ["PATCH", `/organizations/${org}`, { data: { type: "organizations", attributes: { "session-timeout": 1e12 } } }],
      ["PATCH", `/organizations/${org}`, { data: { type: "organizations", attributes: { email: `${"a".repeat(300)}@example.com` } } }],
      ["POST", "/organizations", []],
      ["POST", "/organizations", "null"],
      ["POST", "/organizations", { data: [] }],
      ["POST", `/organizations/${org}/workspaces`, { data: { type: "workspaces", attributes: { name: ["x"] } } }],
      ["POST", `/organizations/${org}/workspaces`, { data: { type: "workspaces", attributes: { name: "ok-tags", "tag-names": "web" } } }],
      ["POST", `/organizations/${org}/teams`, { data: { type: "teams", attributes: { name: "t", "organization-access": { "manage-workspaces": "yes" } } } }],
      ["POST", `/teams/${team}/relationships/users`, { data: [] }],
      ["POST", "/team-workspaces", { data: { type: "team-workspaces", attributes: { access: "read" } } }],
      ["POST", `/users/${owner.id}/authentication-tokens`, { data: { type: "authentication-tokens", attributes: { description: 5 } } }],
      ["POST", `/workspaces/${ws}/vars`, { data: { type: "vars", attributes: { key: "k", value: { nested: true }, category: "env" } } }],
      ["POST", `/workspaces/${ws}/actions/lock`, { data: { attributes: { reason: ["x"] } } }],
    ];
    for (const [method, path, body] of cases) {
      const res = await owner.client.request(method, path, body);
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 422 });
      expect(res.body.errors[0].status).toBe("422");
    }
  });

  it("accepts number and boolean variable values as their text, as HCP does", async () => {
    const res = await owner.client.post(`/workspaces/${ws}/vars`, { data: { type: "vars", attributes: { key: "count", value: 3, category: "terraform" } } });
    expect(res.status).toBe(201);
    expect(res.body.data.attributes.value).toBe("3");
  });
});
