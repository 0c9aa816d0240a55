import { createHash } from "node:crypto";
import { newId } from "@tarmac/domain";
import type { ApiClient } from "@tarmac/testing";
import { createOrganization, createWorkspace, memberWithAccess, startApiTestEnv, type ApiTestEnv } from "./api-fixtures";

/**
 * The two-step state version of terraform ≥ 1.6 (go-tfe StateVersions.Upload): create without
 * state while holding the workspace lock, PUT the raw state and the JSON state to the upload
 * URLs, unlock. Bodies and headers below are the ones terraform 1.11 (go-tfe 1.70) sends.
 */

let env: ApiTestEnv;
let org: string;

beforeAll(async () => {
  env = await startApiTestEnv();
  org = await createOrganization(env.admin);
}, 120_000);

afterAll(async () => {
  await env?.close();
});

const LINEAGE = "5b6e7f2a-9c1d-4e3f-8a2b-1c0d9e8f7a6b";

function rawState(serial: number, opts: { lineage?: string; value?: string } = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      version: 4,
      terraform_version: "1.11.4",
      serial,
      lineage: opts.lineage ?? LINEAGE,
      outputs: {
        greeting: { value: opts.value ?? "hello", type: "string" },
        secret: { value: "s3cr3t", type: "string", sensitive: true },
      },
      resources: [
        {
          mode: "managed",
          type: "terraform_data",
          name: "this",
          provider: 'provider["terraform.io/builtin/terraform"]',
          instances: [{ schema_version: 0, attributes: { id: "abc" } }],
        },
      ],
      check_results: null,
    }),
  );
}

const jsonState = Buffer.from(JSON.stringify({ format_version: "1.0", terraform_version: "1.11.4", values: { outputs: { greeting: { sensitive: false, value: "hello", type: "string" } }, root_module: {} } }));

const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");

/** Exactly what terraform 1.11 sends: no `state`, `force` false, outputs as base64 JSON. */
function uploadBody(state: Buffer, overrides: Record<string, unknown> = {}) {
  const parsed = JSON.parse(state.toString()) as { serial: number; lineage: string };
  return {
    data: {
      type: "state-versions",
      attributes: {
        force: false,
        "json-state-outputs": Buffer.from(JSON.stringify({ greeting: { sensitive: false, type: "string", value: "hello" } })).toString("base64"),
        lineage: parsed.lineage,
        md5: md5(state),
        serial: parsed.serial,
        ...overrides,
      },
    },
  };
}

/** go-tfe's doForeignPUTRequest: no bearer token, octet-stream. */
function put(url: string, body: Buffer): Promise<Response> {
  return fetch(url, { method: "PUT", headers: { "Content-Type": "application/octet-stream", Accept: "application/json, */*" }, body });
}

async function lock(client: ApiClient, wsId: string): Promise<void> {
  const res = await client.post(`/workspaces/${wsId}/actions/lock`, { reason: "Locked by Terraform" });
  if (res.status !== 200) throw new Error(`lock: ${res.status} ${res.text}`);
}

const countVersions = (wsId: string) => env.db.stateVersion.count({ where: { workspaceId: wsId } });

describe("state versions uploaded in two steps", () => {
  it("creates a pending version, takes both uploads at its capability URLs and makes it current", async () => {
    const wsId = await createWorkspace(env.admin, org);
    await lock(env.admin, wsId);
    const state = rawState(1);

    const created = await env.admin.post(`/workspaces/${wsId}/state-versions`, uploadBody(state));
    expect(created.status).toBe(201);
    expect(created.headers.get("content-type")).toContain("application/vnd.api+json");
    // terraform reads this to turn on intermediate snapshots (internal/cloud/state.go).
    expect(created.headers.get("x-terraform-snapshot-interval")).toBe("300");
    const sv = created.body.data;
    expect(sv.type).toBe("state-versions");
    expect(sv.id).toMatch(/^sv-/);
    expect(sv.attributes).toMatchObject({
      serial: 1,
      status: "pending",
      "hosted-state-download-url": null,
      "hosted-json-state-download-url": null,
      "resources-processed": false,
      "state-version": 4,
      size: null,
    });
    // Capability URLs: absolute, the secret in the path, never the state version's API path.
    const uploadUrl: string = sv.attributes["hosted-state-upload-url"];
    const jsonUploadUrl: string = sv.attributes["hosted-json-state-upload-url"];
    expect(uploadUrl).toMatch(new RegExp(`^${env.gateway.url}/_archivist/state-versions/${sv.id}/state/[0-9a-z]+\\.[A-Za-z0-9_-]{43}$`));
    expect(jsonUploadUrl).toMatch(new RegExp(`^${env.gateway.url}/_archivist/state-versions/${sv.id}/json-state/[0-9a-z]+\\.[A-Za-z0-9_-]{43}$`));
    // Write-only attributes are never sent back.
    expect(sv.attributes).not.toHaveProperty("md5");
    expect(sv.attributes).not.toHaveProperty("lineage");

    // A pending version never becomes current.
    expect((await env.admin.get(`/workspaces/${wsId}/current-state-version`)).status).toBe(404);

    // go-tfe PUTs both documents concurrently.
    const [jsonPut, statePut] = await Promise.all([put(jsonUploadUrl, jsonState), put(uploadUrl, state)]);
    expect(jsonPut.status).toBe(200);
    expect(statePut.status).toBe(200);

    const read = await env.admin.get(`/state-versions/${sv.id}`);
    expect(read.body.data.attributes).toMatchObject({
      status: "finalized",
      serial: 1,
      size: state.length,
      "terraform-version": "1.11.4",
      "resources-processed": true,
      "hosted-state-upload-url": null,
      "hosted-json-state-upload-url": null,
      "hosted-state-download-url": `${env.gateway.url}/api/v2/state-versions/${sv.id}/download`,
      "hosted-json-state-download-url": `${env.gateway.url}/api/v2/state-versions/${sv.id}/json-download`,
      modules: { root: { terraform_data: 1 } },
    });

    const current = await env.admin.get(`/workspaces/${wsId}/current-state-version`);
    expect(current.status).toBe(200);
    expect(current.body.data.id).toBe(sv.id);
    expect(current.headers.get("x-terraform-snapshot-interval")).toBe("300");

    // Downloads are authenticated API calls (go-tfe sends its bearer token to them).
    const auth = { headers: { Authorization: `Bearer ${env.gateway.adminToken}` } };
    const raw = await fetch(read.body.data.attributes["hosted-state-download-url"], auth);
    expect(Buffer.from(await raw.arrayBuffer()).equals(state)).toBe(true);
    const json = await fetch(read.body.data.attributes["hosted-json-state-download-url"], auth);
    expect(json.status).toBe(200);
    expect(Buffer.from(await json.arrayBuffer()).equals(jsonState)).toBe(true);
    expect((await fetch(read.body.data.attributes["hosted-json-state-download-url"])).status).toBe(401);

    // Outputs come from the uploaded state; a sensitive value only when read one at a time.
    const outputs = await env.admin.get(`/workspaces/${wsId}/current-state-version-outputs`);
    expect(outputs.status).toBe(200);
    const byName = Object.fromEntries(outputs.body.data.map((o: { attributes: { name: string } }) => [o.attributes.name, o]));
    expect(byName.greeting.attributes).toMatchObject({ value: "hello", sensitive: false, type: "string", "detailed-type": "string" });
    expect(byName.secret.attributes).toMatchObject({ value: null, sensitive: true });
    const secret = await env.admin.get(`/state-version-outputs/${byName.secret.id}`);
    expect(secret.body.data.attributes.value).toBe("s3cr3t");

    expect((await env.admin.post(`/workspaces/${wsId}/actions/unlock`)).status).toBe(200);
  });

  it("refuses an upload whose md5 differs from the create's with 422, keeping nothing and the version pending", async () => {
    const wsId = await createWorkspace(env.admin, org);
    await lock(env.admin, wsId);
    const state = rawState(1);
    const created = await env.admin.post(`/workspaces/${wsId}/state-versions`, uploadBody(state));
    const svId = created.body.data.id;
    const blobsBefore = await env.db.blob.count();

    const other = rawState(1, { value: "tampered" });
    const wrong = await put(created.body.data.attributes["hosted-state-upload-url"], other);
    expect(wrong.status).toBe(422);
    const doc = (await wrong.json()) as { errors: { status: string; detail: string }[] };
    expect(doc.errors[0]?.status).toBe("422");
    expect(doc.errors[0]?.detail).toMatch(/MD5/);
    expect(await env.db.blob.count()).toBe(blobsBefore);
    const row = await env.db.stateVersion.findUniqueOrThrow({ where: { id: svId } });
    expect(row).toMatchObject({ status: "pending", stateBlobId: null });
    expect(await env.db.stateVersionOutput.count({ where: { stateVersionId: svId } })).toBe(0);
    expect((await env.admin.get(`/workspaces/${wsId}/current-state-version`)).status).toBe(404);

    // A serial that differs from the declared one is refused the same way.
    const reserialed = rawState(2);
    const created2 = await env.admin.post(`/workspaces/${wsId}/state-versions`, uploadBody(state, { md5: md5(reserialed) }));
    expect((await put(created2.body.data.attributes["hosted-state-upload-url"], reserialed)).status).toBe(422);

    // The right bytes still finalize the (re-created) version.
    const retry = await env.admin.post(`/workspaces/${wsId}/state-versions`, uploadBody(state));
    expect(retry.status).toBe(201);
    expect((await put(retry.body.data.attributes["hosted-state-upload-url"], state)).status).toBe(200);
    expect((await env.admin.get(`/workspaces/${wsId}/current-state-version`)).body.data.id).toBe(retry.body.data.id);
  });

  it("refuses a create on an unlocked workspace with 409 and writes nothing", async () => {
    const wsId = await createWorkspace(env.admin, org);
    const state = rawState(1);
    for (const body of [uploadBody(state), uploadBody(state, { state: state.toString("base64") })]) {
      const res = await env.admin.post(`/workspaces/${wsId}/state-versions`, body);
      expect(res.status).toBe(409);
      expect(res.body.errors[0]).toMatchObject({ status: "409", detail: "This workspace is not locked and will only accept state uploads when locked." });
    }
    expect(await countVersions(wsId)).toBe(0);
  });

  it("refuses a create from anyone but the lock holder with 409 naming the holder", async () => {
    const wsId = await createWorkspace(env.admin, org);
    const alice = await memberWithAccess(env, env.admin, org, wsId, "write");
    const bob = await memberWithAccess(env, env.admin, org, wsId, "write");
    await lock(alice.client, wsId);
    const state = rawState(1);
    const res = await bob.client.post(`/workspaces/${wsId}/state-versions`, uploadBody(state));
    expect(res.status).toBe(409);
    expect(res.body.errors[0].detail).toBe(`This workspace is locked by User ${alice.username} and will only accept state uploads from them while locked.`);
    expect(await countVersions(wsId)).toBe(0);
    // The holder may.
    expect((await alice.client.post(`/workspaces/${wsId}/state-versions`, uploadBody(state))).status).toBe(201);
  });

  it("refuses a create while a run holds the workspace: the run's state arrives through its job URL", async () => {
    const wsId = await createWorkspace(env.admin, org);
    // A run written straight to the database (the engine is not running here), applying.
    const ws = await env.db.workspace.findUniqueOrThrow({ where: { id: wsId } });
    const cvId = newId("cv");
    await env.db.configurationVersion.create({ data: { id: cvId, workspaceId: wsId, status: "uploaded" } });
    const runId = newId("run");
    await env.db.run.create({
      data: { id: runId, organizationId: ws.organizationId, workspaceId: wsId, configurationVersionId: cvId, status: "applying", operation: "plan_and_apply", terraformVersion: "1.11.4" },
    });
    await env.db.workspace.update({ where: { id: wsId }, data: { currentRunId: runId } });
    const res = await env.admin.post(`/workspaces/${wsId}/state-versions`, uploadBody(rawState(1)));
    expect(res.status).toBe(409);
    expect(res.body.errors[0].detail).toBe(`This workspace is locked by Run ${runId} and will only accept state uploads from them while locked.`);
    expect(await countVersions(wsId)).toBe(0);
  });

  it("accepts one upload of each kind: a second is a 409, and a bad secret a 404", async () => {
    const wsId = await createWorkspace(env.admin, org);
    await lock(env.admin, wsId);
    const state = rawState(1);
    const created = await env.admin.post(`/workspaces/${wsId}/state-versions`, uploadBody(state));
    const { "hosted-state-upload-url": uploadUrl, "hosted-json-state-upload-url": jsonUrl } = created.body.data.attributes;
    expect((await put(uploadUrl, state)).status).toBe(200);
    expect((await put(uploadUrl, state)).status).toBe(409);
    expect((await put(jsonUrl, jsonState)).status).toBe(200);
    expect((await put(jsonUrl, jsonState)).status).toBe(409);
    expect((await put(jsonUrl.replace(/[^/]+$/, "not-the-secret"), jsonState)).status).toBe(404);
    // One capability does not open the other upload.
    const otherKind = uploadUrl.replace("/state/", "/json-state/");
    expect((await put(otherKind, jsonState)).status).toBe(404);
    expect((await put(`${env.gateway.url}/_archivist/state-versions/${created.body.data.id}/json-state/x`, Buffer.from("{}"))).status).toBe(404);
  });

  it("refuses to unlock while the latest version is pending (503, or 400 to terraform ≥ 1.10); force-unlock discards it", async () => {
    const wsId = await createWorkspace(env.admin, org);
    await lock(env.admin, wsId);
    const state = rawState(1);
    const created = await env.admin.post(`/workspaces/${wsId}/state-versions`, uploadBody(state));
    const svId = created.body.data.id;

    const old = await env.admin.request("POST", `/workspaces/${wsId}/actions/unlock`, undefined, { "Terraform-Version": "1.9.8" });
    expect(old.status).toBe(503);
    expect(old.body.errors[0].detail).toContain("latest state version is still pending");
    const modern = await env.admin.request("POST", `/workspaces/${wsId}/actions/unlock`, undefined, { "Terraform-Version": "1.11.4" });
    expect(modern.status).toBe(400);
    expect(modern.body.errors[0].detail).toContain("latest state version is still pending");
    expect((await env.admin.get(`/workspaces/${wsId}`)).body.data.attributes.locked).toBe(true);

    expect((await env.admin.post(`/workspaces/${wsId}/actions/force-unlock`)).status).toBe(200);
    expect((await env.admin.get(`/state-versions/${svId}`)).body.data.attributes).toMatchObject({
      status: "discarded",
      "hosted-state-upload-url": null,
      "hosted-json-state-upload-url": null,
    });
    expect((await put(created.body.data.attributes["hosted-state-upload-url"], state)).status).toBe(409);
    expect((await put(created.body.data.attributes["hosted-json-state-upload-url"], jsonState)).status).toBe(409);

    // The serial the abandoned version held is free again.
    await lock(env.admin, wsId);
    const again = await env.admin.post(`/workspaces/${wsId}/state-versions`, uploadBody(state));
    expect(again.status).toBe(201);
    expect((await put(again.body.data.attributes["hosted-state-upload-url"], state)).status).toBe(200);
    expect((await env.admin.post(`/workspaces/${wsId}/actions/unlock`)).status).toBe(200);
  });

  it("keeps the serial and lineage rules of the current state for two-step creates", async () => {
    const wsId = await createWorkspace(env.admin, org);
    await lock(env.admin, wsId);
    const first = rawState(3);
    const created = await env.admin.post(`/workspaces/${wsId}/state-versions`, uploadBody(first));
    expect((await put(created.body.data.attributes["hosted-state-upload-url"], first)).status).toBe(200);

    // A pending version never replaces the current one: readers keep the last finalized state.
    const pending = await env.admin.post(`/workspaces/${wsId}/state-versions`, uploadBody(rawState(4)));
    expect(pending.status).toBe(201);
    expect((await env.admin.get(`/workspaces/${wsId}/current-state-version`)).body.data.id).toBe(created.body.data.id);
    expect((await env.admin.get(`/workspaces/${wsId}/current-state-version-outputs`)).body.data).toHaveLength(2);

    expect((await env.admin.post(`/workspaces/${wsId}/state-versions`, uploadBody(rawState(3, { value: "x" })))).status).toBe(409);
    expect((await env.admin.post(`/workspaces/${wsId}/state-versions`, uploadBody(rawState(2)))).status).toBe(409);
    const foreign = rawState(4, { lineage: "another-lineage" });
    expect((await env.admin.post(`/workspaces/${wsId}/state-versions`, uploadBody(foreign))).status).toBe(409);
    // `terraform state push -force` replaces the state whatever its lineage.
    const forced = await env.admin.post(`/workspaces/${wsId}/state-versions`, uploadBody(foreign, { force: true }));
    expect(forced.status).toBe(201);
    expect((await put(forced.body.data.attributes["hosted-state-upload-url"], foreign)).status).toBe(200);
    expect((await env.admin.get(`/workspaces/${wsId}/current-state-version`)).body.data.id).toBe(forced.body.data.id);
    expect(await countVersions(wsId)).toBe(2);

    // `-force` also goes back to a serial the workspace already had (the pushed file's serial + 1).
    const older = rawState(3, { value: "restored" });
    const restored = await env.admin.post(`/workspaces/${wsId}/state-versions`, uploadBody(older, { force: true }));
    expect(restored.status).toBe(201);
    expect((await put(restored.body.data.attributes["hosted-state-upload-url"], older)).status).toBe(200);
    expect((await env.admin.get(`/workspaces/${wsId}/current-state-version`)).body.data.id).toBe(restored.body.data.id);
    const list = await env.admin.get(`/workspaces/${wsId}/state-versions`);
    expect(list.body.data.map((v: { id: string }) => v.id)).toEqual([restored.body.data.id, forced.body.data.id, created.body.data.id]);
  });

  it("stores inline JSON state sent with a one-step create", async () => {
    const wsId = await createWorkspace(env.admin, org);
    await lock(env.admin, wsId);
    const state = rawState(1);
    const created = await env.admin.post(
      `/workspaces/${wsId}/state-versions`,
      uploadBody(state, { state: state.toString("base64"), "json-state": jsonState.toString("base64") }),
    );
    expect(created.status).toBe(201);
    expect(created.body.data.attributes).toMatchObject({ status: "finalized", "hosted-state-upload-url": null, "hosted-json-state-upload-url": null });
    const json = await env.admin.get(`/state-versions/${created.body.data.id}/json-download`);
    expect(json.status).toBe(200);
    expect(json.text).toBe(jsonState.toString());
  });
});
