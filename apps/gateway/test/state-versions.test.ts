import { createHash } from "node:crypto";
import { inTransaction, stateVersionsRepo } from "@tarmac/db";
import { createOrganization, createWorkspace, startDbFixturesEnv, teamToken, type DbFixturesEnv } from "./db-fixtures";

let env: DbFixturesEnv;
let org: { id: string; name: string };
let ws: { id: string; name: string };

beforeAll(async () => {
  env = await startDbFixturesEnv();
  org = await createOrganization(env.db);
  ws = await createWorkspace(env.db, org.id);
}, 120_000);

afterAll(async () => {
  await env?.close();
});

const LINEAGE = "3f1d2c9a-7b7e-4f4f-9a77-0c6a5d0f1e11";

function stateFile(serial: number, extra: { lineage?: string; outputs?: Record<string, unknown> } = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      version: 4,
      terraform_version: "1.9.4",
      serial,
      lineage: extra.lineage ?? LINEAGE,
      outputs: extra.outputs ?? {
        greeting: { value: "hello", type: "string" },
        password: { value: "hunter2", type: "string", sensitive: true },
        ports: { value: [80, 443], type: ["list", "number"] },
      },
      resources: [
        {
          mode: "managed",
          type: "null_resource",
          name: "a",
          provider: 'provider["registry.terraform.io/hashicorp/null"]',
          instances: [{ attributes: { id: "1" } }, { attributes: { id: "2" } }],
        },
        {
          module: "module.net",
          mode: "managed",
          type: "random_id",
          name: "b",
          provider: 'provider["registry.terraform.io/hashicorp/random"]',
          instances: [{ attributes: { id: "x" } }],
        },
        { mode: "data", type: "null_data_source", name: "d", provider: 'provider["registry.terraform.io/hashicorp/null"]', instances: [{}] },
      ],
    }),
  );
}

function createBody(state: Buffer, overrides: Record<string, unknown> = {}) {
  const parsed = JSON.parse(state.toString()) as { serial: number; lineage: string };
  return {
    data: {
      type: "state-versions",
      attributes: {
        serial: parsed.serial,
        md5: createHash("md5").update(state).digest("hex"),
        lineage: parsed.lineage,
        state: state.toString("base64"),
        ...overrides,
      },
    },
  };
}

describe("state versions", () => {
  let firstId: string;

  it("answers 404 for the current state version of a workspace without state", async () => {
    expect((await env.admin.get(`/workspaces/${ws.id}/current-state-version`)).status).toBe(404);
  });

  it("serves a state version recorded by createStateVersion: attributes, download and outputs", async () => {
    const state = stateFile(1);
    const created = await inTransaction(env.db, (tx) => stateVersionsRepo.createStateVersion(tx, { workspaceId: ws.id, state }));
    expect(created.created).toBe(true);
    firstId = created.id;

    const current = await env.admin.get(`/workspaces/${ws.id}/current-state-version`);
    expect(current.status).toBe(200);
    const sv = current.body.data;
    expect(sv).toMatchObject({ id: created.id, type: "state-versions" });
    expect(sv.attributes).toMatchObject({
      serial: 1,
      status: "finalized",
      size: state.length,
      "terraform-version": "1.9.4",
      "resources-processed": true,
      "state-version": 4,
      "hosted-json-state-download-url": null,
      "vcs-commit-sha": null,
      modules: { root: { null_resource: 2 }, "module.net": { random_id: 1 } },
      providers: {
        'provider["registry.terraform.io/hashicorp/null"]': { null_resource: 2 },
        'provider["registry.terraform.io/hashicorp/random"]': { random_id: 1 },
      },
    });
    expect(sv.attributes.resources).toEqual([
      { name: "a", type: "null_resource", count: 2, module: "root", provider: 'provider["registry.terraform.io/hashicorp/null"]' },
      { name: "b", type: "random_id", count: 1, module: "module.net", provider: 'provider["registry.terraform.io/hashicorp/random"]' },
    ]);
    expect(sv.attributes["hosted-state-download-url"]).toBe(`${env.gateway.url}/api/v2/state-versions/${created.id}/download`);
    expect(sv.relationships.workspace.data).toEqual({ type: "workspaces", id: ws.id });
    expect(sv.relationships.outputs.data).toHaveLength(3);
    const wsRow = await env.db.workspace.findUniqueOrThrow({ where: { id: ws.id } });
    expect(wsRow.resourceCount).toBe(3);

    const download = await fetch(sv.attributes["hosted-state-download-url"], {
      headers: { Authorization: `Bearer ${env.gateway.adminToken}`, Accept: "application/json" },
    });
    expect(download.status).toBe(200);
    expect(Buffer.from(await download.arrayBuffer()).equals(state)).toBe(true);
    // State download is an authenticated API call (notes §0.7), not a capability URL.
    expect((await fetch(sv.attributes["hosted-state-download-url"])).status).toBe(401);

    const outputs = await env.admin.get(`/state-versions/${created.id}/outputs`);
    expect(outputs.status).toBe(200);
    const byName = Object.fromEntries(outputs.body.data.map((o: { attributes: { name: string } }) => [o.attributes.name, o]));
    expect(byName.greeting).toMatchObject({ type: "state-version-outputs", attributes: { sensitive: false, type: "string", value: "hello" } });
    expect(byName.password.attributes).toMatchObject({ sensitive: true, value: null });
    expect(byName.ports.attributes).toMatchObject({ type: "list", "detailed-type": ["list", "number"], value: [80, 443] });
    const currentOutputs = await env.admin.get(`/workspaces/${ws.id}/current-state-version-outputs`);
    expect(currentOutputs.body.data.map((o: { id: string }) => o.id).sort()).toEqual(outputs.body.data.map((o: { id: string }) => o.id).sort());
    expect(JSON.stringify(currentOutputs.body)).not.toContain("hunter2");
  });

  it("frees a serial held by an unfinished version and discards the other pending ones, in the create's transaction", async () => {
    const other = await createWorkspace(env.db, org.id);
    const blob = await env.db.blob.create({ data: { id: "blob-stale-json", contentType: "application/json", size: 2, sha256: "x", data: Buffer.from("{}") } });
    await env.db.stateVersion.create({ data: { id: "sv-stale-5", workspaceId: other.id, serial: 5, status: "pending", jsonStateBlobId: blob.id } });
    await env.db.stateVersion.create({ data: { id: "sv-stale-9", workspaceId: other.id, serial: 9, status: "pending" } });
    const created = await inTransaction(env.db, (tx) => stateVersionsRepo.createStateVersion(tx, { workspaceId: other.id, state: stateFile(5), force: false }));
    expect(created.created).toBe(true);
    const versions = await env.db.stateVersion.findMany({ where: { workspaceId: other.id }, orderBy: { serial: "asc" }, select: { id: true, serial: true, status: true } });
    expect(versions).toEqual([
      { id: created.id, serial: 5, status: "finalized" },
      { id: "sv-stale-9", serial: 9, status: "discarded" },
    ]);
    expect(await env.db.blob.findUnique({ where: { id: blob.id } })).toBeNull();
    expect((await env.db.workspace.findUniqueOrThrow({ where: { id: other.id } })).currentStateVersionId).toBe(created.id);
    // The same bytes again are the version already recorded; other bytes with its serial a conflict.
    expect(await inTransaction(env.db, (tx) => stateVersionsRepo.createStateVersion(tx, { workspaceId: other.id, state: stateFile(5) }))).toEqual({ id: created.id, created: false });
    await expect(
      inTransaction(env.db, (tx) => stateVersionsRepo.createStateVersion(tx, { workspaceId: other.id, state: stateFile(5, { outputs: {} }) })),
    ).rejects.toThrow(/does not match what is currently known for the same serial number \(5\)/);
    await expect(inTransaction(env.db, (tx) => stateVersionsRepo.createStateVersion(tx, { workspaceId: "ws-missing", state: stateFile(1) }))).rejects.toMatchObject({ status: 404 });
  });

  it("creates a state version over the API, making it current", async () => {
    // HCP accepts state only from the holder of the workspace lock (state-version-uploads.test.ts tests the rule).
    expect((await env.admin.post(`/workspaces/${ws.id}/actions/lock`, { reason: "state" })).status).toBe(200);
    const state = stateFile(2);
    // go-tfe sends an unset force flag as null.
    const created = await env.admin.post(`/workspaces/${ws.id}/state-versions`, createBody(state, { force: null }));
    expect(created.status).toBe(201);
    expect(created.body.data.attributes.serial).toBe(2);
    const current = await env.admin.get(`/workspaces/${ws.id}/current-state-version`);
    expect(current.body.data.id).toBe(created.body.data.id);

    // A client retrying the same upload gets the version already recorded.
    const retry = await env.admin.post(`/workspaces/${ws.id}/state-versions`, createBody(state));
    expect(retry.status).toBe(200);
    expect(retry.body.data.id).toBe(created.body.data.id);
  });

  it("refuses a serial that is not above the current one, a bad md5, a mismatched serial and a foreign lineage", async () => {
    const sameSerial = stateFile(2, { outputs: {} });
    expect((await env.admin.post(`/workspaces/${ws.id}/state-versions`, createBody(sameSerial))).status).toBe(409);
    const older = stateFile(1, { outputs: { other: { value: 1, type: "number" } } });
    expect((await env.admin.post(`/workspaces/${ws.id}/state-versions`, createBody(older))).status).toBe(409);
    const next = stateFile(3);
    const badMd5 = await env.admin.post(`/workspaces/${ws.id}/state-versions`, createBody(next, { md5: "0".repeat(32) }));
    expect(badMd5.status).toBe(422);
    expect(badMd5.body.errors[0].source.pointer).toBe("/data/attributes/md5");
    expect((await env.admin.post(`/workspaces/${ws.id}/state-versions`, createBody(next, { serial: 7 }))).status).toBe(422);
    const foreign = stateFile(3, { lineage: "another-lineage" });
    expect((await env.admin.post(`/workspaces/${ws.id}/state-versions`, createBody(foreign))).status).toBe(409);
    expect((await env.admin.post(`/workspaces/${ws.id}/state-versions`, createBody(foreign, { force: null }))).status).toBe(409);
    expect((await env.admin.post(`/workspaces/${ws.id}/state-versions`, createBody(foreign, { force: true }))).status).toBe(201);
    const notJson = Buffer.from("not json");
    expect((await env.admin.post(`/workspaces/${ws.id}/state-versions`, createBody(Buffer.from(JSON.stringify({ serial: 9, lineage: LINEAGE })), { state: notJson.toString("base64"), md5: createHash("md5").update(notJson).digest("hex") }))).status).toBe(422);
    expect((await env.admin.post(`/workspaces/${ws.id}/actions/unlock`)).status).toBe(200);
  });

  it("lists versions newest first, by workspace id and by HCP's name filters", async () => {
    const byId = await env.admin.get(`/workspaces/${ws.id}/state-versions?page[size]=2`);
    expect(byId.status).toBe(200);
    expect(byId.body.data.map((s: { attributes: { serial: number } }) => s.attributes.serial)).toEqual([3, 2]);
    expect(byId.body.meta.pagination).toMatchObject({ "total-count": 3, "total-pages": 2, "next-page": 2 });

    const byName = await env.admin.get(`/state-versions?filter[workspace][name]=${ws.name}&filter[organization][name]=${org.name}`);
    expect(byName.status).toBe(200);
    expect(byName.body.data.map((s: { attributes: { serial: number } }) => s.attributes.serial)).toEqual([3, 2, 1]);
    expect((await env.admin.get(`/state-versions?filter[workspace][name]=${ws.name}`)).status).toBe(422);
    expect((await env.admin.get(`/state-versions?filter[workspace][name]=nope&filter[organization][name]=${org.name}`)).status).toBe(404);

    expect((await env.admin.get(`/state-versions/${firstId}`)).body.data.attributes.serial).toBe(1);
  });

  it("lets readers read state but only writers create it, and hides it from other organizations", async () => {
    const reader = env.admin.withToken(await teamToken(env.db, org.id, ws.id, "read"));
    expect((await reader.get(`/workspaces/${ws.id}/current-state-version`)).status).toBe(200);
    expect((await reader.get(`/state-versions/${firstId}/download`)).status).toBe(200);
    // The current state is the forced one, of another lineage.
    const next = stateFile(10, { lineage: "another-lineage" });
    expect((await reader.post(`/workspaces/${ws.id}/state-versions`, createBody(next))).status).toBe(404);
    const writer = env.admin.withToken(await teamToken(env.db, org.id, ws.id, "write"));
    expect((await writer.post(`/workspaces/${ws.id}/actions/lock`, {})).status).toBe(200);
    expect((await writer.post(`/workspaces/${ws.id}/state-versions`, createBody(next))).status).toBe(201);
    expect((await writer.post(`/workspaces/${ws.id}/actions/unlock`)).status).toBe(200);

    const other = await createOrganization(env.db);
    const otherWs = await createWorkspace(env.db, other.id);
    const outsider = env.admin.withToken(await teamToken(env.db, other.id, otherWs.id, "admin"));
    expect((await outsider.get(`/state-versions/${firstId}`)).status).toBe(404);
    expect((await outsider.get(`/state-versions/${firstId}/download`)).status).toBe(404);
    expect((await outsider.get(`/workspaces/${ws.id}/current-state-version`)).status).toBe(404);
  });
});
