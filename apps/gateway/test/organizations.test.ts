import { createUser, createOrganization, startApiTestEnv, unique, type ApiTestEnv, type TestUser, createTeam, addMembers, teamToken, organizationToken } from "./api-fixtures";

let env: ApiTestEnv;
let alice: TestUser;
let bob: TestUser;

beforeAll(async () => {
  env = await startApiTestEnv();
  alice = await createUser(env, unique("alice"));
  bob = await createUser(env, unique("bob"));
}, 60_000);

afterAll(async () => {
  await env?.close();
});

describe("account details", () => {
  it("describes the user behind a user token", async () => {
    const res = await alice.client.get("/account/details");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/vnd.api+json");
    expect(res.body.data).toMatchObject({
      id: alice.id,
      type: "users",
      attributes: { username: alice.username, email: `${alice.username}@example.com`, "is-service-account": false },
    });
    expect(res.body.data.attributes.permissions["can-create-organization"]).toBe(true);
  });

  it("describes a service account for team and organization tokens", async () => {
    const org = await createOrganization(alice.client);
    const team = await createTeam(alice.client, org);
    const byTeam = await (await teamToken(alice.client, team)).get("/account/details");
    expect(byTeam.status).toBe(200);
    expect(byTeam.body.data.attributes["is-service-account"]).toBe(true);
    const byOrg = await (await organizationToken(alice.client, org)).get("/account/details");
    expect(byOrg.status).toBe(200);
    expect(byOrg.body.data.attributes["is-service-account"]).toBe(true);
  });

  it("answers 401 to a missing or unknown token", async () => {
    expect((await alice.client.withToken("nope.atlasv1.nope").get("/account/details")).status).toBe(401);
    const anonymous = await fetch(`${env.gateway.url}/api/v2/account/details`);
    expect(anonymous.status).toBe(401);
  });
});

describe("organizations", () => {
  it("lets any user create an organization and makes them its owner", async () => {
    const name = unique("acme");
    const res = await alice.client.post("/organizations", {
      data: { type: "organizations", attributes: { name, email: "ops@acme.test", "cost-estimation-enabled": true, "tarmac-run-concurrency": 3 } },
    });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({
      id: name,
      type: "organizations",
      attributes: { name, email: "ops@acme.test", "cost-estimation-enabled": true, "tarmac-run-concurrency": 3 },
    });
    expect(res.body.data.attributes["external-id"]).toMatch(/^org-/);
    expect(res.body.data.attributes.permissions).toMatchObject({ "can-update": true, "can-destroy": true, "can-create-team": true, "can-create-workspace": true });

    const teams = await alice.client.get(`/organizations/${name}/teams`);
    expect(teams.status).toBe(200);
    const owners = teams.body.data.find((t: any) => t.attributes.name === "owners");
    expect(owners.relationships.users.data).toEqual([{ type: "users", id: alice.id }]);
  });

  it("turns cost estimation on by default, as HCP does, unless the request turns it off", async () => {
    const on = unique("est");
    const created = await alice.client.post("/organizations", { data: { type: "organizations", attributes: { name: on, email: "ops@acme.test" } } });
    expect(created.status).toBe(201);
    expect(created.body.data.attributes["cost-estimation-enabled"]).toBe(true);
    expect((await alice.client.get(`/organizations/${on}`)).body.data.attributes["cost-estimation-enabled"]).toBe(true);
    const off = unique("noest");
    const refused = await alice.client.post("/organizations", {
      data: { type: "organizations", attributes: { name: off, email: "ops@acme.test", "cost-estimation-enabled": false } },
    });
    expect(refused.body.data.attributes["cost-estimation-enabled"]).toBe(false);
    expect((await alice.client.get(`/organizations/${off}/entitlement-set`)).body.data.attributes["cost-estimation"]).toBe(false);
  });

  it("refuses organization creation to team and organization tokens with a 404", async () => {
    const org = await createOrganization(alice.client);
    const team = await createTeam(alice.client, org);
    const body = { data: { type: "organizations", attributes: { name: unique("x"), email: "x@example.com" } } };
    expect((await (await teamToken(alice.client, team)).post("/organizations", body)).status).toBe(404);
    expect((await (await organizationToken(alice.client, org)).post("/organizations", body)).status).toBe(404);
  });

  it("validates names, emails and duplicates with 422 and a pointer", async () => {
    const name = await createOrganization(alice.client);
    const dup = await bob.client.post("/organizations", { data: { type: "organizations", attributes: { name, email: "a@b.test" } } });
    expect(dup.status).toBe(422);
    expect(dup.body.errors[0]).toMatchObject({ status: "422", detail: "Name has already been taken", source: { pointer: "/data/attributes/name" } });

    const badName = await bob.client.post("/organizations", { data: { type: "organizations", attributes: { name: "no spaces", email: "a@b.test" } } });
    expect(badName.status).toBe(422);
    expect(badName.body.errors[0].source.pointer).toBe("/data/attributes/name");

    const badEmail = await bob.client.post("/organizations", { data: { type: "organizations", attributes: { name: unique("ok"), email: "nope" } } });
    expect(badEmail.status).toBe(422);
    expect(badEmail.body.errors[0].source.pointer).toBe("/data/attributes/email");

    const wrongType = await bob.client.post("/organizations", { data: { type: "workspaces", attributes: { name: unique("ok"), email: "a@b.test" } } });
    expect(wrongType.status).toBe(422);
    expect(wrongType.body.errors[0].source.pointer).toBe("/data/type");
  });

  it("answers 422 to malformed JSON and changes nothing", async () => {
    const before = await env.db.organization.count();
    const res = await alice.client.request("POST", "/organizations", '{"data": {"type": "organizations",');
    expect(res.status).toBe(422);
    expect(res.body.errors[0].status).toBe("422");
    expect(await env.db.organization.count()).toBe(before);
  });

  it("hides organizations from non-members with a 404, on every endpoint", async () => {
    const org = await createOrganization(alice.client);
    expect((await bob.client.get(`/organizations/${org}`)).status).toBe(404);
    expect((await bob.client.get(`/organizations/${org}/entitlement-set`)).status).toBe(404);
    expect((await bob.client.patch(`/organizations/${org}`, { data: { type: "organizations", attributes: { email: "h@x.test" } } })).status).toBe(404);
    expect((await bob.client.delete(`/organizations/${org}`)).status).toBe(404);
    expect((await bob.client.get(`/organizations/${unique("missing")}`)).status).toBe(404);
    const listed = await bob.client.get("/organizations?page[size]=100");
    expect(listed.body.data.map((o: any) => o.id)).not.toContain(org);
  });

  it("lets members read but not manage, and owners update, rename and delete", async () => {
    const org = await createOrganization(alice.client);
    const team = await createTeam(alice.client, org);
    await addMembers(alice.client, team, [bob.id]);

    const read = await bob.client.get(`/organizations/${org}`);
    expect(read.status).toBe(200);
    expect(read.body.data.attributes.permissions).toMatchObject({ "can-update": false, "can-destroy": false, "can-create-workspace": false });
    expect((await bob.client.patch(`/organizations/${org}`, { data: { type: "organizations", attributes: { email: "h@x.test" } } })).status).toBe(404);
    expect((await bob.client.delete(`/organizations/${org}`)).status).toBe(404);

    const renamed = unique("renamed");
    const upd = await alice.client.patch(`/organizations/${org}`, {
      data: { type: "organizations", attributes: { name: renamed, "cost-estimation-enabled": true, "session-timeout": 20160 } },
    });
    expect(upd.status).toBe(200);
    expect(upd.body.data).toMatchObject({ id: renamed, attributes: { name: renamed, "cost-estimation-enabled": true, "session-timeout": 20160 } });
    expect((await alice.client.get(`/organizations/${org}`)).status).toBe(404);

    const bad = await alice.client.patch(`/organizations/${renamed}`, { data: { type: "organizations", attributes: { "tarmac-run-concurrency": 0 } } });
    expect(bad.status).toBe(422);
    expect(bad.body.errors[0].source.pointer).toBe("/data/attributes/tarmac-run-concurrency");

    expect((await alice.client.delete(`/organizations/${renamed}`)).status).toBe(204);
    expect((await alice.client.get(`/organizations/${renamed}`)).status).toBe(404);
  });

  it("serves the entitlement set the CLI needs", async () => {
    const org = await createOrganization(alice.client);
    const res = await alice.client.get(`/organizations/${org}/entitlement-set`);
    expect(res.status).toBe(200);
    const id = (await alice.client.get(`/organizations/${org}`)).body.data.attributes["external-id"];
    expect(res.body.data).toMatchObject({
      id,
      type: "entitlement-sets",
      attributes: { operations: true, "state-storage": true, teams: true, "cost-estimation": true, sentinel: false, "private-module-registry": false },
    });
  });

  it("paginates the organization list with HCP's meta and links", async () => {
    const carol = await createUser(env, unique("carol"));
    const names: string[] = [];
    for (let i = 0; i < 3; i++) names.push(await createOrganization(carol.client));
    const first = await carol.client.get("/organizations?page[size]=2");
    expect(first.status).toBe(200);
    expect(first.body.data).toHaveLength(2);
    expect(first.body.meta.pagination).toMatchObject({ "current-page": 1, "page-size": 2, "prev-page": null, "next-page": 2, "total-pages": 2, "total-count": 3 });
    expect(first.body.links.next).toContain("page%5Bnumber%5D=2");
    const second = await carol.client.get("/organizations?page[size]=2&page[number]=2");
    expect(second.body.data).toHaveLength(1);
    expect(second.body.meta.pagination["next-page"]).toBeNull();
    const past = await carol.client.get("/organizations?page[size]=2&page[number]=9");
    expect(past.status).toBe(200);
    expect(past.body.data).toEqual([]);
    const clamped = await carol.client.get("/organizations?page[size]=500");
    expect(clamped.body.meta.pagination["page-size"]).toBe(100);
    expect([...first.body.data, ...second.body.data].map((o: any) => o.id).sort()).toEqual([...names].sort());
  });

  it("shows team and organization tokens only their own organization", async () => {
    const org = await createOrganization(alice.client);
    await createOrganization(alice.client);
    const team = await createTeam(alice.client, org);
    for (const client of [await teamToken(alice.client, team), await organizationToken(alice.client, org)]) {
      const res = await client.get("/organizations");
      expect(res.status).toBe(200);
      expect(res.body.data.map((o: any) => o.id)).toEqual([org]);
    }
  });

  it("tells an organization token it may not destroy its organization, as the delete answers", async () => {
    const org = await createOrganization(alice.client);
    const client = await organizationToken(alice.client, org);
    const shown = await client.get(`/organizations/${org}`);
    expect(shown.body.data.attributes.permissions).toMatchObject({ "can-update": true, "can-destroy": false });
    expect((await client.get("/organizations")).body.data[0].attributes.permissions["can-destroy"]).toBe(false);
    expect((await client.delete(`/organizations/${org}`)).status).toBe(404);
    expect((await alice.client.get(`/organizations/${org}`)).body.data.attributes.permissions["can-destroy"]).toBe(true);
  });
});

describe("users", () => {
  it("lets only site admins create users", async () => {
    const body = { data: { type: "users", attributes: { username: unique("eve"), email: `${unique("eve")}@example.com` } } };
    expect((await alice.client.post("/admin/users", body)).status).toBe(404);
    const created = await env.admin.post("/admin/users", body);
    expect(created.status).toBe(201);
    expect(created.body.data.id).toMatch(/^user-/);
    const dup = await env.admin.post("/admin/users", body);
    expect(dup.status).toBe(422);
    expect(dup.body.errors[0].source.pointer).toBe("/data/attributes/username");
  });

  it("shows a user to themself, to admins and to users sharing an organization; 404 otherwise", async () => {
    const dave = await createUser(env, unique("dave"));
    expect((await dave.client.get(`/users/${dave.id}`)).body.data.attributes.email).toBe(`${dave.username}@example.com`);
    expect((await env.admin.get(`/users/${dave.id}`)).status).toBe(200);
    expect((await bob.client.get(`/users/${dave.id}`)).status).toBe(404);
    const org = await createOrganization(dave.client);
    const team = await createTeam(dave.client, org);
    await addMembers(dave.client, team, [bob.id]);
    const seen = await bob.client.get(`/users/${dave.id}`);
    expect(seen.status).toBe(200);
    expect(seen.body.data.attributes.username).toBe(dave.username);
    expect(seen.body.data.attributes.email).toBeNull();
  });
});
