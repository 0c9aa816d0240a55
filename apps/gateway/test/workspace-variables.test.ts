import { decryptValue } from "@tarmac/db";
import { createOrganization, createUser, createWorkspace, memberWithAccess, organizationToken, startApiTestEnv, unique, type ApiTestEnv, type TestUser } from "./api-fixtures";

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

const varBody = (attributes: Record<string, unknown>) => ({ data: { type: "vars", attributes } });

describe("workspace variables", () => {
  it("creates, lists, updates and deletes variables", async () => {
    const ws = await createWorkspace(owner.client, org);
    const created = await owner.client.post(`/workspaces/${ws}/vars`, varBody({ key: "region", value: "eu-west-1", category: "terraform", description: "where", hcl: false }));
    expect(created.status).toBe(201);
    expect(created.body.data).toMatchObject({
      type: "vars",
      attributes: { key: "region", value: "eu-west-1", category: "terraform", description: "where", hcl: false, sensitive: false },
      relationships: { configurable: { data: { type: "workspaces", id: ws } } },
    });
    const id = created.body.data.id;
    expect(id).toMatch(/^var-/);

    const env2 = await owner.client.post(`/workspaces/${ws}/vars`, varBody({ key: "TF_LOG", value: "info", category: "env" }));
    expect(env2.status).toBe(201);
    const listed = await owner.client.get(`/workspaces/${ws}/vars`);
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((v: any) => v.attributes.key)).toEqual(["region", "TF_LOG"]);

    const upd = await owner.client.patch(`/workspaces/${ws}/vars/${id}`, varBody({ value: "us-east-1", hcl: true }));
    expect(upd.status).toBe(200);
    expect(upd.body.data.attributes).toMatchObject({ key: "region", value: "us-east-1", hcl: true });

    expect((await owner.client.delete(`/workspaces/${ws}/vars/${id}`)).status).toBe(204);
    expect((await owner.client.get(`/workspaces/${ws}/vars`)).body.data.map((v: any) => v.attributes.key)).toEqual(["TF_LOG"]);
    expect((await owner.client.delete(`/workspaces/${ws}/vars/${id}`)).status).toBe(404);
  });

  it("never returns a sensitive value and stores it encrypted", async () => {
    const ws = await createWorkspace(owner.client, org);
    const secret = "s3cr3t-value-" + unique("x");
    const created = await owner.client.post(`/workspaces/${ws}/vars`, varBody({ key: "db_password", value: secret, category: "terraform", sensitive: true }));
    expect(created.status).toBe(201);
    expect(created.body.data.attributes.value).toBeNull();
    expect(created.text).not.toContain(secret);
    const listed = await owner.client.get(`/workspaces/${ws}/vars`);
    expect(listed.text).not.toContain(secret);
    expect(listed.body.data[0].attributes).toMatchObject({ sensitive: true, value: null });

    const row = await env.db.workspaceVariable.findUniqueOrThrow({ where: { id: created.body.data.id } });
    expect(row.value).not.toContain(secret);
    expect(decryptValue(row.value, env.gateway.keys)).toBe(secret);

    const renamed = await owner.client.patch(`/workspaces/${ws}/vars/${created.body.data.id}`, varBody({ description: "rotated" }));
    expect(renamed.status).toBe(200);
    expect(renamed.body.data.attributes.value).toBeNull();
    const kept = await env.db.workspaceVariable.findUniqueOrThrow({ where: { id: created.body.data.id } });
    expect(decryptValue(kept.value, env.gateway.keys)).toBe(secret);

    const unsensitive = await owner.client.patch(`/workspaces/${ws}/vars/${created.body.data.id}`, varBody({ sensitive: false }));
    expect(unsensitive.status).toBe(422);
    expect(env.gateway.process.output()).not.toContain(secret);
  });

  it("encrypts an existing value when a variable becomes sensitive", async () => {
    const ws = await createWorkspace(owner.client, org);
    const created = await owner.client.post(`/workspaces/${ws}/vars`, varBody({ key: "token", value: "plain-now", category: "env" }));
    const upd = await owner.client.patch(`/workspaces/${ws}/vars/${created.body.data.id}`, varBody({ sensitive: true }));
    expect(upd.status).toBe(200);
    expect(upd.body.data.attributes).toMatchObject({ sensitive: true, value: null });
    const row = await env.db.workspaceVariable.findUniqueOrThrow({ where: { id: created.body.data.id } });
    expect(decryptValue(row.value, env.gateway.keys)).toBe("plain-now");
  });

  it("rejects duplicate keys within a category, bad categories and bad keys with 422", async () => {
    const ws = await createWorkspace(owner.client, org);
    expect((await owner.client.post(`/workspaces/${ws}/vars`, varBody({ key: "dup", value: "1", category: "terraform" }))).status).toBe(201);
    const dup = await owner.client.post(`/workspaces/${ws}/vars`, varBody({ key: "dup", value: "2", category: "terraform" }));
    expect(dup.status).toBe(422);
    expect(dup.body.errors[0]).toMatchObject({ detail: "Key has already been taken", source: { pointer: "/data/attributes/key" } });
    // The same key in the other category is a different variable.
    expect((await owner.client.post(`/workspaces/${ws}/vars`, varBody({ key: "dup", value: "3", category: "env" }))).status).toBe(201);
    const badCat = await owner.client.post(`/workspaces/${ws}/vars`, varBody({ key: "k", value: "v", category: "policy-set" }));
    expect(badCat.status).toBe(422);
    expect(badCat.body.errors[0].source.pointer).toBe("/data/attributes/category");
    const noKey = await owner.client.post(`/workspaces/${ws}/vars`, varBody({ value: "v", category: "env" }));
    expect(noKey.status).toBe(422);
    expect(noKey.body.errors[0].source.pointer).toBe("/data/attributes/key");
    const badKey = await owner.client.post(`/workspaces/${ws}/vars`, varBody({ key: "has space", value: "v", category: "env" }));
    expect(badKey.status).toBe(422);
    const malformed = await owner.client.request("POST", `/workspaces/${ws}/vars`, "{");
    expect(malformed.status).toBe(422);
    expect((await owner.client.get(`/workspaces/${ws}/vars`)).body.data).toHaveLength(2);
  });

  it("lets read access list, write access change; others get 404", async () => {
    const ws = await createWorkspace(owner.client, org);
    const created = await owner.client.post(`/workspaces/${ws}/vars`, varBody({ key: "a", value: "1", category: "terraform" }));
    const reader = await memberWithAccess(env, owner.client, org, ws, "read");
    const writer = await memberWithAccess(env, owner.client, org, ws, "write");
    const stranger = await createUser(env);

    expect((await reader.client.get(`/workspaces/${ws}/vars`)).status).toBe(200);
    expect((await reader.client.post(`/workspaces/${ws}/vars`, varBody({ key: "b", value: "2", category: "terraform" }))).status).toBe(404);
    expect((await reader.client.patch(`/workspaces/${ws}/vars/${created.body.data.id}`, varBody({ value: "x" }))).status).toBe(404);
    expect((await reader.client.delete(`/workspaces/${ws}/vars/${created.body.data.id}`)).status).toBe(404);
    expect((await stranger.client.get(`/workspaces/${ws}/vars`)).status).toBe(404);

    expect((await writer.client.post(`/workspaces/${ws}/vars`, varBody({ key: "b", value: "2", category: "terraform" }))).status).toBe(201);
    expect((await writer.client.patch(`/workspaces/${ws}/vars/${created.body.data.id}`, varBody({ value: "x" }))).status).toBe(200);

    const orgToken = await organizationToken(owner.client, org);
    expect((await orgToken.post(`/workspaces/${ws}/vars`, varBody({ key: "c", value: "3", category: "env" }))).status).toBe(201);
  });

  it("answers 404 for a variable of another workspace", async () => {
    const ws1 = await createWorkspace(owner.client, org);
    const ws2 = await createWorkspace(owner.client, org);
    const created = await owner.client.post(`/workspaces/${ws1}/vars`, varBody({ key: "a", value: "1", category: "terraform" }));
    expect((await owner.client.patch(`/workspaces/${ws2}/vars/${created.body.data.id}`, varBody({ value: "x" }))).status).toBe(404);
    expect((await owner.client.delete(`/workspaces/${ws2}/vars/${created.body.data.id}`)).status).toBe(404);
  });
});
