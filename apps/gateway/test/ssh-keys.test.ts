import { decryptValue } from "@tarmac/db";
import { createOrganization, createUser, createWorkspace, memberWithAccess, startApiTestEnv, type ApiTestEnv } from "./api-fixtures";

describe("SSH keys and workspace trigger prefixes", () => {
  let env: ApiTestEnv;
  let org: string;
  let workspaceId: string;

  beforeAll(async () => {
    env = await startApiTestEnv();
    org = await createOrganization(env.admin);
    workspaceId = await createWorkspace(env.admin, org);
  });
  afterAll(async () => {
    await env?.close();
  });

  it("creates, lists, reads, renames and deletes a key whose value is write-only and stored encrypted", async () => {
    const created = await env.admin.post(`/organizations/${org}/ssh-keys`, {
      data: { type: "ssh-keys", attributes: { name: "deploy", value: "-----BEGIN KEY-----secret" } },
    });
    expect(created.status).toBe(201);
    expect(created.body.data.type).toBe("ssh-keys");
    expect(created.body.data.id).toMatch(/^sshkey-[1-9A-HJ-NP-Za-km-z]{16}$/);
    expect(created.body.data.attributes).toEqual({ name: "deploy" });
    const id = created.body.data.id as string;
    const row = await env.db.sshKey.findUniqueOrThrow({ where: { id } });
    expect(row.value).not.toContain("secret");
    expect(decryptValue(row.value, env.gateway.keys)).toBe("-----BEGIN KEY-----secret");

    const list = await env.admin.get(`/organizations/${org}/ssh-keys`);
    expect(list.status).toBe(200);
    expect(list.body.data.map((k: { id: string }) => k.id)).toEqual([id]);
    expect(list.body.meta.pagination["total-count"]).toBe(1);

    const renamed = await env.admin.patch(`/ssh-keys/${id}`, { data: { type: "ssh-keys", attributes: { name: "deploy-2" } } });
    expect(renamed.body.data.attributes.name).toBe("deploy-2");
    expect((await env.admin.get(`/ssh-keys/${id}`)).body.data.attributes.name).toBe("deploy-2");
    expect((await env.admin.delete(`/ssh-keys/${id}`)).status).toBe(204);
    expect((await env.admin.get(`/ssh-keys/${id}`)).status).toBe(404);
  });

  it("assigns a key to a workspace and unassigns it, as go-tfe sends both", async () => {
    const key = await env.admin.post(`/organizations/${org}/ssh-keys`, { data: { type: "ssh-keys", attributes: { name: "k", value: "v" } } });
    const assigned = await env.admin.patch(`/workspaces/${workspaceId}/relationships/ssh-key`, {
      data: { type: "workspaces", attributes: { id: key.body.data.id } },
    });
    expect(assigned.status).toBe(200);
    expect(assigned.body.data.relationships["ssh-key"].data).toEqual({ type: "ssh-keys", id: key.body.data.id });
    const unassigned = await env.admin.patch(`/workspaces/${workspaceId}/relationships/ssh-key`, {
      data: { type: "workspaces", attributes: { id: null } },
    });
    expect(unassigned.status).toBe(200);
    expect(unassigned.body.data.relationships["ssh-key"].data).toBeNull();
  });

  it("refuses a key of another organization (422) and hides keys from non-members (404) and writes from members", async () => {
    const other = await createOrganization(env.admin);
    const foreign = await env.admin.post(`/organizations/${other}/ssh-keys`, { data: { type: "ssh-keys", attributes: { name: "f", value: "v" } } });
    const res = await env.admin.patch(`/workspaces/${workspaceId}/relationships/ssh-key`, {
      data: { type: "workspaces", attributes: { id: foreign.body.data.id } },
    });
    expect(res.status).toBe(422);
    const stranger = await createUser(env);
    expect((await stranger.client.get(`/ssh-keys/${foreign.body.data.id}`)).status).toBe(404);
    expect((await stranger.client.get(`/organizations/${other}/ssh-keys`)).status).toBe(404);
    const member = await memberWithAccess(env, env.admin, org, workspaceId, "read");
    expect((await member.client.get(`/organizations/${org}/ssh-keys`)).status).toBe(200);
    const refused = await member.client.post(`/organizations/${org}/ssh-keys`, { data: { type: "ssh-keys", attributes: { name: "m", value: "v" } } });
    expect(refused.status).toBe(404);
    const blank = await env.admin.post(`/organizations/${org}/ssh-keys`, { data: { type: "ssh-keys", attributes: { name: "b", value: "" } } });
    expect(blank.status).toBe(422);
  });

  it("stores and returns trigger-prefixes", async () => {
    const res = await env.admin.patch(`/workspaces/${workspaceId}`, {
      data: { type: "workspaces", attributes: { "trigger-prefixes": ["modules/", "shared/"] } },
    });
    expect(res.status).toBe(200);
    expect(res.body.data.attributes["trigger-prefixes"]).toEqual(["modules/", "shared/"]);
    expect((await env.admin.get(`/workspaces/${workspaceId}`)).body.data.attributes["trigger-prefixes"]).toEqual(["modules/", "shared/"]);
  });
});
