import {
  createOrganization,
  createUser,
  createWorkspace,
  memberWithAccess,
  organizationToken,
  startApiTestEnv,
  unique,
  type ApiTestEnv,
  type TestUser,
} from "./api-fixtures";

let env: ApiTestEnv;
let owner: TestUser;
let org: string;

beforeAll(async () => {
  env = await startApiTestEnv();
  owner = await createUser(env, unique("owner"));
  org = await createOrganization(owner.client);
}, 60_000);

afterAll(async () => {
  await env?.close();
});

const bindingsOf = (res: { body: any }) => res.body.data.map((b: any) => [b.attributes.key, b.attributes.value]);
const tb = (key: string, value?: string) => ({ type: "tag-bindings", attributes: { key, ...(value !== undefined ? { value } : {}) } });

/** The body go-tfe sends for `cloud { workspaces { tags = [...] } }` (WorkspaceCreateOptions.Tags). */
function createWithTags(name: string, tags: string[]) {
  return { data: { type: "workspaces", attributes: { name }, relationships: { tags: { data: tags.map((t) => ({ type: "tags", attributes: { name: t } })) } } } };
}

async function listNames(query: string, client = owner.client): Promise<string[]> {
  const res = await client.get(`/organizations/${org}/workspaces?${query}`);
  expect(res.status).toBe(200);
  return res.body.data.map((w: any) => w.attributes.name).sort();
}

describe("flat tags from the CLI's tags mode", () => {
  it("creates a workspace with relationships.tags: tag-names and key-only bindings agree", async () => {
    const name = unique("tagged");
    const res = await owner.client.post(`/organizations/${org}/workspaces`, createWithTags(name, ["app", "Web"]));
    expect(res.status).toBe(201);
    expect(res.body.data.attributes["tag-names"]).toEqual(["app", "web"]);
    const id = res.body.data.id;
    // The CLI's workspaceTagsRequireUpdate: each tag in tag-names and as a binding key, or it rewrites them.
    expect(bindingsOf(await owner.client.get(`/workspaces/${id}/tag-bindings`))).toEqual([
      ["app", ""],
      ["web", ""],
    ]);
    expect(res.body.data.relationships["tag-bindings"]).toEqual({ links: { related: `/api/v2/workspaces/${id}/tag-bindings` } });
  });

  it("finds workspaces by search[tags] (all must match) and search[exclude-tags]", async () => {
    const a = unique("s-a");
    const b = unique("s-b");
    const c = unique("s-c");
    const tagA = unique("t").toLowerCase();
    const tagB = unique("t").toLowerCase();
    await owner.client.post(`/organizations/${org}/workspaces`, createWithTags(a, [tagA, tagB]));
    await owner.client.post(`/organizations/${org}/workspaces`, createWithTags(b, [tagA]));
    await owner.client.post(`/organizations/${org}/workspaces`, createWithTags(c, [tagB]));
    expect(await listNames(`search[tags]=${tagA}`)).toEqual([a, b].sort());
    expect(await listNames(`search[tags]=${tagA},${tagB}`)).toEqual([a]);
    expect(await listNames(`search[tags]=${tagA}&search[exclude-tags]=${tagB}`)).toEqual([b]);
    const total = await owner.client.get(`/organizations/${org}/workspaces?search[tags]=${tagA}&page[size]=1`);
    expect(total.body.meta.pagination["total-count"]).toBe(2);
  });

  it("refuses a bad tag name with 422 and writes nothing", async () => {
    const name = unique("bad");
    const res = await owner.client.post(`/organizations/${org}/workspaces`, createWithTags(name, ["ok", "has space"]));
    expect(res.status).toBe(422);
    expect(res.body.errors[0].source.pointer).toBe("/data/relationships/tags/data/1/attributes/name");
    expect((await owner.client.get(`/organizations/${org}/workspaces/${name}`)).status).toBe(404);
    expect(await env.db.workspace.count({ where: { name } })).toBe(0);
  });

  it("keeps tag-names in sync when the attribute is written", async () => {
    const id = await createWorkspace(owner.client, org, unique("attr"), { "tag-names": ["one", "two"] });
    await owner.client.patch(`/workspaces/${id}/tag-bindings`, { data: [tb("env", "prod")] });
    const res = await owner.client.patch(`/workspaces/${id}`, { data: { type: "workspaces", attributes: { "tag-names": ["two", "three"] } } });
    expect(res.status).toBe(200);
    expect(res.body.data.attributes["tag-names"]).toEqual(["two", "three"]);
    // Valued bindings are not flat tags: writing tag-names leaves them alone.
    expect(bindingsOf(await owner.client.get(`/workspaces/${id}/tag-bindings`))).toEqual([
      ["two", ""],
      ["env", "prod"],
      ["three", ""],
    ]);
  });
});

describe("key/value tag bindings", () => {
  it("creates with relationships.tag-bindings and filters with filter[tagged]", async () => {
    const w1 = unique("kv1");
    const w2 = unique("kv2");
    const key = unique("k");
    for (const [name, bindings] of [
      [w1, [tb(key, "v1"), tb(`${key}-2`, "a")]],
      [w2, [tb(`${key}-2`, "b")]],
    ] as const) {
      const res = await owner.client.post(`/organizations/${org}/workspaces`, {
        data: { type: "workspaces", attributes: { name }, relationships: { "tag-bindings": { data: bindings } } },
      });
      expect(res.status).toBe(201);
      // Valued tags are not flat tags.
      expect(res.body.data.attributes["tag-names"]).toEqual([]);
    }
    expect(await listNames(`filter[tagged][0][key]=${key}&filter[tagged][0][value]=v1`)).toEqual([w1]);
    expect(await listNames(`filter[tagged][0][key]=${key}-2`)).toEqual([w1, w2].sort());
    expect(await listNames(`filter[tagged][0][key]=${key}-2&filter[tagged][0][value]=b`)).toEqual([w2]);
    expect(await listNames(`filter[tagged][0][key]=${key}-2&filter[tagged][1][key]=${key}`)).toEqual([w1]);
    // The CLI's kvtags mode sends the keys as search[tags] too; they match keys whatever the value.
    expect(await listNames(`search[tags]=${key}&filter[tagged][0][key]=${key}&filter[tagged][0][value]=v1`)).toEqual([w1]);
  });

  it("treats a key-only binding as the lowercase flat tag, and search[tags] finds valued keys in any case", async () => {
    // The CLI's tags = ["App"] creates the flat tag "app", then adds the key-only binding "App" when it checks.
    const name = unique("case");
    const created = await owner.client.post(`/organizations/${org}/workspaces`, createWithTags(name, ["App"]));
    const id = created.body.data.id;
    await owner.client.patch(`/workspaces/${id}/tag-bindings`, { data: [tb("App"), tb("Env", "Prod")] });
    expect(bindingsOf(await owner.client.get(`/workspaces/${id}/tag-bindings`))).toEqual([
      ["app", ""],
      ["Env", "Prod"],
    ]);
    expect((await owner.client.get(`/workspaces/${id}`)).body.data.attributes["tag-names"]).toEqual(["app"]);
    // kvtags mode: search[tags]=Env (lowercased like every flat tag search) with filter[tagged] Env=Prod.
    expect(await listNames(`search[tags]=Env&filter[tagged][0][key]=Env&filter[tagged][0][value]=Prod`)).toEqual([name]);
    expect(await listNames(`filter[tagged][0][key]=Env&filter[tagged][0][value]=prod`)).toEqual([]);
  });

  it("PATCH /workspaces/:id/tag-bindings adds or updates by key and answers the whole list", async () => {
    const id = await createWorkspace(owner.client, org);
    const first = await owner.client.patch(`/workspaces/${id}/tag-bindings`, { data: [tb("foo", "bar"), tb("baz", "qux")] });
    expect(first.status).toBe(200);
    expect(first.body.data[0]).toMatchObject({ type: "tag-bindings", id: expect.stringMatching(/^tb-/), attributes: { key: "foo", value: "bar" } });
    const second = await owner.client.patch(`/workspaces/${id}/tag-bindings`, { data: [tb("foo", "changed"), tb("new")] });
    expect(bindingsOf(second)).toEqual([
      ["foo", "changed"],
      ["baz", "qux"],
      ["new", ""],
    ]);
    expect((await owner.client.get(`/workspaces/${id}`)).body.data.attributes["tag-names"]).toEqual(["new"]);
  });

  it("replaces every binding through PATCH /workspaces/:id (go-tfe DeleteAllTagBindings) and relationships/tag-bindings", async () => {
    const id = await createWorkspace(owner.client, org, unique("repl"), { "tag-names": ["flat"] });
    await owner.client.patch(`/workspaces/${id}/tag-bindings`, { data: [tb("a", "1")] });
    const replaced = await owner.client.patch(`/workspaces/${id}/relationships/tag-bindings`, { data: [tb("b", "2")] });
    expect(replaced.status).toBe(204);
    expect(bindingsOf(await owner.client.get(`/workspaces/${id}/relationships/tag-bindings`))).toEqual([["b", "2"]]);
    const added = await owner.client.post(`/workspaces/${id}/relationships/tag-bindings`, { data: [tb("c", "3")] });
    expect(added.status).toBe(204);
    expect(bindingsOf(await owner.client.get(`/workspaces/${id}/tag-bindings`))).toEqual([
      ["b", "2"],
      ["c", "3"],
    ]);
    const cleared = await owner.client.patch(`/workspaces/${id}`, { data: { type: "workspaces", relationships: { "tag-bindings": { data: [] } } } });
    expect(cleared.status).toBe(200);
    expect(cleared.body.data.attributes["tag-names"]).toEqual([]);
    expect((await owner.client.get(`/workspaces/${id}/tag-bindings`)).body.data).toEqual([]);
  });

  it("refuses bad bindings, duplicates and more than 10 per workspace with 422, writing nothing", async () => {
    const id = await createWorkspace(owner.client, org);
    await owner.client.patch(`/workspaces/${id}/tag-bindings`, { data: [tb("keep", "me")] });
    const cases = [
      { data: [tb("ok", "1"), tb("has space", "x")] },
      { data: [tb("", "x")] },
      { data: [tb("dup", "1"), tb("dup", "2")] },
      { data: [tb("k".repeat(129), "x")] },
      { data: [{ type: "tags", attributes: { key: "wrong-type" } }] },
      { data: Array.from({ length: 11 }, (_, i) => tb(`many-${i}`)) },
      { data: Array.from({ length: 10 }, (_, i) => tb(`more-${i}`)) }, // 11 with "keep"
    ];
    for (const body of cases) {
      const res = await owner.client.patch(`/workspaces/${id}/tag-bindings`, body);
      expect(res.status).toBe(422);
      expect(res.body.errors[0].status).toBe("422");
    }
    expect(bindingsOf(await owner.client.get(`/workspaces/${id}/tag-bindings`))).toEqual([["keep", "me"]]);
  });

  it("needs admin to write and read access to read; other organizations get 404", async () => {
    const id = await createWorkspace(owner.client, org);
    const reader = await memberWithAccess(env, owner.client, org, id, "read");
    expect((await reader.client.get(`/workspaces/${id}/tag-bindings`)).status).toBe(200);
    expect((await reader.client.get(`/workspaces/${id}/effective-tag-bindings`)).status).toBe(200);
    expect((await reader.client.patch(`/workspaces/${id}/tag-bindings`, { data: [tb("x", "y")] })).status).toBe(404);
    const stranger = await createUser(env);
    await createOrganization(stranger.client);
    expect((await stranger.client.get(`/workspaces/${id}/tag-bindings`)).status).toBe(404);
    expect((await stranger.client.patch(`/workspaces/${id}/tag-bindings`, { data: [tb("x", "y")] })).status).toBe(404);
    expect((await stranger.client.get(`/organizations/${org}/tags`)).status).toBe(404);
    expect(await env.db.workspaceTagBinding.count({ where: { workspaceId: id } })).toBe(0);
    const orgToken = await organizationToken(owner.client, org);
    expect((await orgToken.patch(`/workspaces/${id}/tag-bindings`, { data: [tb("x", "y")] })).status).toBe(200);
  });
});

describe("organization tags", () => {
  it("lists flat tags with their instance counts, filtered by q and excluding a workspace's own", async () => {
    const org2 = await createOrganization(owner.client);
    const w1 = await createWorkspace(owner.client, org2, unique("o1"), { "tag-names": ["alpha", "beta"] });
    await createWorkspace(owner.client, org2, unique("o2"), { "tag-names": ["alpha"] });
    const all = await owner.client.get(`/organizations/${org2}/tags`);
    expect(all.status).toBe(200);
    expect(all.body.data.map((t: any) => [t.type, t.id, t.attributes.name, t.attributes["instance-count"]])).toEqual([
      ["tags", "tag-alpha", "alpha", 2],
      ["tags", "tag-beta", "beta", 1],
    ]);
    expect((await owner.client.get(`/organizations/${org2}/tags?q=bet`)).body.data.map((t: any) => t.attributes.name)).toEqual(["beta"]);
    const other = await createWorkspace(owner.client, org2, unique("o3"), { "tag-names": ["beta"] });
    const excluding = await owner.client.get(`/organizations/${org2}/tags?filter[exclude][taggable][id]=${other}`);
    expect(excluding.body.data.map((t: any) => t.attributes.name)).toEqual(["alpha"]);
    // A workspace of another organization cannot be used to probe this one.
    expect((await owner.client.get(`/organizations/${org}/tags?filter[exclude][taggable][id]=${w1}`)).status).toBe(404);
  });
});
