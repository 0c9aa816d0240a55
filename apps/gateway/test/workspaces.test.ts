import { subjectsFor } from "@tarmac/contracts";
import { inTransaction, outboxMessages, runsWrite } from "@tarmac/db";
import { newId, type RunStatus } from "@tarmac/domain";
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
let org: string;

beforeAll(async () => {
  env = await startApiTestEnv();
  owner = await createUser(env, unique("owner"));
  org = await createOrganization(owner.client);
}, 60_000);

afterAll(async () => {
  await env?.close();
});

/** A run written straight to the database, made the workspace's current run (the engine is not running here). */
async function holdWithRun(workspaceId: string, status: RunStatus, opts: { planOnly?: boolean } = {}): Promise<string> {
  const ws = await env.db.workspace.findUniqueOrThrow({ where: { id: workspaceId } });
  const cvId = newId("cv");
  await env.db.configurationVersion.create({ data: { id: cvId, workspaceId, status: "uploaded" } });
  const runId = newId("run");
  await env.db.run.create({
    data: {
      id: runId,
      organizationId: ws.organizationId,
      workspaceId,
      configurationVersionId: cvId,
      status,
      operation: opts.planOnly ? "plan_only" : "plan_and_apply",
      planOnly: opts.planOnly ?? false,
      terraformVersion: "1.9.4",
    },
  });
  await env.db.workspace.update({ where: { id: workspaceId }, data: { currentRunId: runId } });
  return runId;
}

async function lockEvents(workspaceId: string): Promise<{ subject: string; payload: any }[]> {
  const rows = await env.db.outboxEvent.findMany({ where: { subject: { contains: workspaceId } }, orderBy: { id: "asc" } });
  return rows.map((r) => ({ subject: r.subject, payload: r.payload }));
}

describe("workspace create and read", () => {
  it("creates a workspace with HCP's attributes, permissions and relationships", async () => {
    const name = unique("app");
    const res = await owner.client.post(`/organizations/${org}/workspaces`, {
      data: {
        type: "workspaces",
        attributes: { name, "auto-apply": true, "terraform-version": "1.9.4", "working-directory": "infra", description: "d", "tag-names": ["Prod", "web"] },
      },
    });
    expect(res.status).toBe(201);
    const ws = res.body.data;
    expect(ws.id).toMatch(/^ws-/);
    expect(ws.type).toBe("workspaces");
    expect(ws.attributes).toMatchObject({
      name,
      "auto-apply": true,
      "terraform-version": "1.9.4",
      "working-directory": "infra",
      description: "d",
      locked: false,
      "execution-mode": "remote",
      operations: true,
      "speculative-enabled": true,
      "queue-all-runs": false,
      "structured-run-output-enabled": false,
      source: "tfe-api",
      "tag-names": ["prod", "web"],
      "resource-count": 0,
      environment: "default",
      "vcs-repo": null,
      "apply-duration-average": null,
      "plan-duration-average": null,
      actions: { "is-destroyable": true },
    });
    expect(ws.attributes["created-at"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(ws.attributes.permissions).toMatchObject({ "can-update": true, "can-queue-run": true, "can-queue-apply": true, "can-lock": true, "can-force-unlock": true });
    expect(ws.relationships).toMatchObject({
      organization: { data: { type: "organizations", id: org } },
      "current-run": { data: null },
      "latest-run": { data: null },
      "current-configuration-version": { data: null },
      "current-state-version": { data: null },
      "locked-by": { data: null },
      // Every workspace is in a project: the organization's default one unless another is named.
      project: { data: { type: "projects", id: expect.stringMatching(/^prj-/) } },
    });
    expect(ws.links.self).toBe(`/api/v2/workspaces/${ws.id}`);
  });

  it("answers identically by id and by organization and name", async () => {
    const name = unique("same");
    const id = await createWorkspace(owner.client, org, name);
    const byId = await owner.client.get(`/workspaces/${id}`);
    const byName = await owner.client.get(`/organizations/${org}/workspaces/${name}`);
    expect(byId.status).toBe(200);
    expect(byName.status).toBe(200);
    expect(byName.body).toEqual(byId.body);
  });

  it("validates names: characters, length, duplicates (422 has already been taken)", async () => {
    const name = unique("dup");
    await createWorkspace(owner.client, org, name);
    const dup = await owner.client.post(`/organizations/${org}/workspaces`, { data: { type: "workspaces", attributes: { name } } });
    expect(dup.status).toBe(422);
    expect(dup.body.errors[0]).toMatchObject({ status: "422", detail: "Name has already been taken", source: { pointer: "/data/attributes/name" } });
    for (const bad of ["has space", "slash/name", "", "x".repeat(91), "dot.name"]) {
      const res = await owner.client.post(`/organizations/${org}/workspaces`, { data: { type: "workspaces", attributes: { name: bad } } });
      expect(res.status).toBe(422);
      expect(res.body.errors[0].source.pointer).toBe("/data/attributes/name");
    }
    const ok = await owner.client.post(`/organizations/${org}/workspaces`, { data: { type: "workspaces", attributes: { name: "A_b-9".padEnd(90, "x") } } });
    expect(ok.status).toBe(201);
    const noAttributes = await owner.client.patch(`/workspaces/${ok.body.data.id}`, { data: { type: "workspaces" } });
    expect(noAttributes.status).toBe(200);
    const wrongType = await owner.client.post(`/organizations/${org}/workspaces`, { data: { type: "workspaces", attributes: { name: unique("w"), "auto-apply": "yes" } } });
    expect(wrongType.status).toBe(422);
    expect(wrongType.body.errors[0].source.pointer).toBe("/data/attributes/auto-apply");
    const malformed = await owner.client.request("POST", `/organizations/${org}/workspaces`, "{not json");
    expect(malformed.status).toBe(422);
    const noData = await owner.client.post(`/organizations/${org}/workspaces`, { name: "x" });
    expect(noData.status).toBe(422);
    expect(noData.body.errors[0].source.pointer).toBe("/data");
  });

  it("includes the organization on request and ignores unknown includes", async () => {
    const id = await createWorkspace(owner.client, org);
    const res = await owner.client.get(`/workspaces/${id}?include=organization,readme,nonsense`);
    expect(res.status).toBe(200);
    expect(res.body.included).toEqual([expect.objectContaining({ type: "organizations", id: org })]);
  });
});

describe("workspace list", () => {
  let listOrg: string;
  beforeAll(async () => {
    listOrg = await createOrganization(owner.client);
    for (const n of ["alpha-web", "alpha-db", "beta-web"]) await createWorkspace(owner.client, listOrg, n, { "tag-names": n.endsWith("web") ? ["web"] : ["db"] });
  });

  it("paginates with totals, past the end and clamps page[size]", async () => {
    const p1 = await owner.client.get(`/organizations/${listOrg}/workspaces?page[size]=2`);
    expect(p1.status).toBe(200);
    expect(p1.body.data.map((w: any) => w.attributes.name)).toEqual(["alpha-db", "alpha-web"]);
    expect(p1.body.meta.pagination).toMatchObject({ "current-page": 1, "page-size": 2, "next-page": 2, "prev-page": null, "total-pages": 2, "total-count": 3 });
    const p2 = await owner.client.get(`/organizations/${listOrg}/workspaces?page[size]=2&page[number]=2`);
    expect(p2.body.data.map((w: any) => w.attributes.name)).toEqual(["beta-web"]);
    const past = await owner.client.get(`/organizations/${listOrg}/workspaces?page[number]=7`);
    expect(past.status).toBe(200);
    expect(past.body.data).toEqual([]);
    expect(past.body.meta.pagination["total-count"]).toBe(3);
    const big = await owner.client.get(`/organizations/${listOrg}/workspaces?page[size]=500`);
    expect(big.body.meta.pagination["page-size"]).toBe(100);
  });

  it("searches by name, wildcard and tags", async () => {
    const names = async (q: string) => (await owner.client.get(`/organizations/${listOrg}/workspaces?${q}`)).body.data.map((w: any) => w.attributes.name);
    expect(await names("search[name]=web")).toEqual(["alpha-web", "beta-web"]);
    expect(await names("search[wildcard-name]=alpha-*")).toEqual(["alpha-db", "alpha-web"]);
    expect(await names("search[tags]=db")).toEqual(["alpha-db"]);
    expect(await names("search[exclude-tags]=db")).toEqual(["alpha-web", "beta-web"]);
  });

  it("shows members only the workspaces their teams can access", async () => {
    const ws = await owner.client.get(`/organizations/${listOrg}/workspaces/beta-web`);
    const member = await memberWithAccess(env, owner.client, listOrg, ws.body.data.id, "read");
    const res = await member.client.get(`/organizations/${listOrg}/workspaces`);
    expect(res.status).toBe(200);
    expect(res.body.data.map((w: any) => w.attributes.name)).toEqual(["beta-web"]);
    expect(res.body.data[0].attributes.permissions).toMatchObject({ "can-read-run": true, "can-queue-run": false, "can-update": false });
    const outsider = await createUser(env);
    expect((await outsider.client.get(`/organizations/${listOrg}/workspaces`)).status).toBe(404);
  });
});

describe("workspace access by token kind and level", () => {
  it("answers 404 to a user with no team in the organization", async () => {
    const id = await createWorkspace(owner.client, org);
    const loner = await createUser(env);
    expect((await loner.client.get(`/workspaces/${id}`)).status).toBe(404);
    expect((await loner.client.patch(`/workspaces/${id}`, { data: { type: "workspaces", attributes: { "auto-apply": true } } })).status).toBe(404);
    expect((await loner.client.delete(`/workspaces/${id}`)).status).toBe(404);
    expect((await loner.client.post(`/workspaces/${id}/actions/lock`, {})).status).toBe(404);
    expect((await loner.client.get(`/workspaces/${id}/vars`)).status).toBe(404);
    expect((await loner.client.post(`/organizations/${org}/workspaces`, { data: { type: "workspaces", attributes: { name: unique("x") } } })).status).toBe(404);
  });

  it("answers 404 to a member whose teams have no access to the workspace", async () => {
    const id = await createWorkspace(owner.client, org);
    const other = await createWorkspace(owner.client, org);
    const member = await memberWithAccess(env, owner.client, org, other, "admin");
    expect((await member.client.get(`/workspaces/${id}`)).status).toBe(404);
    expect((await member.client.get(`/workspaces/${other}`)).status).toBe(200);
  });

  it("lets read see, write lock, and only admin update or delete", async () => {
    const id = await createWorkspace(owner.client, org);
    const reader = await memberWithAccess(env, owner.client, org, id, "read");
    const writer = await memberWithAccess(env, owner.client, org, id, "write");
    const admin = await memberWithAccess(env, owner.client, org, id, "admin");
    const patch = { data: { type: "workspaces", attributes: { "auto-apply": true } } };

    const read = await reader.client.get(`/workspaces/${id}`);
    expect(read.status).toBe(200);
    expect(read.body.data.attributes.permissions).toMatchObject({ "can-lock": false, "can-update": false, "can-queue-run": false });
    expect((await reader.client.patch(`/workspaces/${id}`, patch)).status).toBe(404);
    expect((await reader.client.post(`/workspaces/${id}/actions/lock`, {})).status).toBe(404);

    const w = await writer.client.get(`/workspaces/${id}`);
    expect(w.body.data.attributes.permissions).toMatchObject({ "can-lock": true, "can-queue-apply": true, "can-update": false, "can-force-unlock": false });
    expect((await writer.client.patch(`/workspaces/${id}`, patch)).status).toBe(404);
    expect((await writer.client.post(`/workspaces/${id}/actions/lock`, {})).status).toBe(200);
    expect((await writer.client.post(`/workspaces/${id}/actions/unlock`)).status).toBe(200);
    expect((await writer.client.delete(`/workspaces/${id}`)).status).toBe(404);

    const upd = await admin.client.patch(`/workspaces/${id}`, { data: { type: "workspaces", attributes: { "auto-apply": true, "terraform-version": "1.10.0", "execution-mode": "local" } } });
    expect(upd.status).toBe(200);
    expect(upd.body.data.attributes).toMatchObject({ "auto-apply": true, "terraform-version": "1.10.0", "execution-mode": "local", operations: false });
    expect((await admin.client.delete(`/workspaces/${id}`)).status).toBe(204);
    expect((await owner.client.get(`/workspaces/${id}`)).status).toBe(404);
  });

  it("accepts terraform versions and version constraints, and refuses anything else with a 422", async () => {
    const id = await createWorkspace(owner.client, org);
    for (const v of ["latest", "1.9.4", "0.11.1", "~> 1.9", ">= 1.5, < 2.0", "1.10.0-beta1"]) {
      const ok = await owner.client.patch(`/workspaces/${id}`, { data: { type: "workspaces", attributes: { "terraform-version": v } } });
      expect(ok.status).toBe(200);
      expect(ok.body.data.attributes["terraform-version"]).toBe(v);
    }
    for (const v of ["nonexisting", "1.x", "~>", "1.2.3 4"]) {
      const bad = await owner.client.patch(`/workspaces/${id}`, { data: { type: "workspaces", attributes: { "terraform-version": v } } });
      expect(bad.status).toBe(422);
    }
    const created = await owner.client.post(`/organizations/${org}/workspaces`, { data: { type: "workspaces", attributes: { name: `tv-${Date.now()}`, "terraform-version": "nonexisting" } } });
    expect(created.status).toBe(422);
    expect((await owner.client.get(`/workspaces/${id}`)).body.data.attributes["terraform-version"]).toBe("1.10.0-beta1");
  });

  it("gives team tokens their team's access", async () => {
    const id = await createWorkspace(owner.client, org);
    const team = await createTeam(owner.client, org);
    await grantAccess(owner.client, team, id, "plan");
    const token = await teamToken(owner.client, team);
    const res = await token.get(`/workspaces/${id}`);
    expect(res.status).toBe(200);
    expect(res.body.data.attributes.permissions).toMatchObject({ "can-queue-run": true, "can-queue-apply": false });
    expect((await token.post(`/workspaces/${id}/actions/lock`, {})).status).toBe(404);
  });

  it("lets organization tokens manage workspaces but not start runs", async () => {
    const token = await organizationToken(owner.client, org);
    const name = unique("by-org-token");
    const created = await token.post(`/organizations/${org}/workspaces`, { data: { type: "workspaces", attributes: { name } } });
    expect(created.status).toBe(201);
    expect(created.body.data.attributes.permissions).toMatchObject({ "can-update": true, "can-queue-run": false, "can-queue-apply": false, "can-queue-destroy": false });
    const renamed = unique("renamed");
    const upd = await token.patch(`/organizations/${org}/workspaces/${name}`, { data: { type: "workspaces", attributes: { name: renamed } } });
    expect(upd.status).toBe(200);
    expect(upd.body.data.attributes.name).toBe(renamed);
    expect((await token.delete(`/organizations/${org}/workspaces/${renamed}`)).status).toBe(204);
  });

  it("lets a manage-workspaces team create workspaces and administer all of them", async () => {
    const existing = await createWorkspace(owner.client, org);
    const member = await createUser(env);
    const team = await createTeam(owner.client, org, unique("managers"), { "organization-access": { "manage-workspaces": true } });
    await addMembers(owner.client, team, [member.id]);
    const created = await member.client.post(`/organizations/${org}/workspaces`, { data: { type: "workspaces", attributes: { name: unique("m") } } });
    expect(created.status).toBe(201);
    expect((await member.client.get(`/workspaces/${created.body.data.id}`)).status).toBe(200);
    const other = await member.client.get(`/workspaces/${existing}`);
    expect(other.body.data.attributes.permissions["can-update"]).toBe(true);
  });
});

describe("workspace tags", () => {
  it("lists, adds by name or id, and removes tags", async () => {
    const id = await createWorkspace(owner.client, org, unique("tagged"), { "tag-names": ["app"] });
    const add = await owner.client.post(`/workspaces/${id}/relationships/tags`, {
      data: [
        { type: "tags", attributes: { name: "Prod" } },
        { type: "tags", id: "tag-web" },
        { type: "tags", attributes: { name: "app" } },
      ],
    });
    expect(add.status).toBe(204);
    const listed = await owner.client.get(`/workspaces/${id}/relationships/tags`);
    expect(listed.status).toBe(200);
    expect(listed.body.data.map((t: any) => [t.type, t.attributes.name])).toEqual([
      ["tags", "app"],
      ["tags", "prod"],
      ["tags", "web"],
    ]);
    expect(listed.body.meta.pagination["total-count"]).toBe(3);
    const removed = await owner.client.request("DELETE", `/workspaces/${id}/relationships/tags`, { data: [{ type: "tags", attributes: { name: "app" } }] });
    expect(removed.status).toBe(204);
    expect((await owner.client.get(`/workspaces/${id}`)).body.data.attributes["tag-names"]).toEqual(["prod", "web"]);
    const bad = await owner.client.post(`/workspaces/${id}/relationships/tags`, { data: [{ type: "tags", attributes: { name: "has space" } }] });
    expect(bad.status).toBe(422);
    const reader = await memberWithAccess(env, owner.client, org, id, "read");
    expect((await reader.client.get(`/workspaces/${id}/relationships/tags`)).status).toBe(200);
    expect((await reader.client.post(`/workspaces/${id}/relationships/tags`, { data: [{ type: "tags", attributes: { name: "x" } }] })).status).toBe(404);
    // Flat tags are key-only tag bindings, as the CLI's tag check expects.
    const bindings = await owner.client.get(`/workspaces/${id}/tag-bindings`);
    expect(bindings.body.data.map((b: any) => [b.type, b.attributes.key, b.attributes.value])).toEqual([
      ["tag-bindings", "prod", ""],
      ["tag-bindings", "web", ""],
    ]);
    const effective = await owner.client.get(`/workspaces/${id}/effective-tag-bindings`);
    expect(effective.body.data.map((b: any) => b.attributes.key)).toEqual(["prod", "web"]);
  });
});

describe("workspace safe-delete", () => {
  it("deletes an empty workspace and refuses one that manages resources or is locked", async () => {
    const empty = unique("empty");
    await createWorkspace(owner.client, org, empty);
    expect((await owner.client.post(`/organizations/${org}/workspaces/${empty}/actions/safe-delete`)).status).toBe(204);
    expect((await owner.client.get(`/organizations/${org}/workspaces/${empty}`)).status).toBe(404);

    const busy = await createWorkspace(owner.client, org);
    await env.db.workspace.update({ where: { id: busy }, data: { resourceCount: 3 } });
    expect((await owner.client.post(`/workspaces/${busy}/actions/safe-delete`)).status).toBe(409);
    const locked = await createWorkspace(owner.client, org);
    await owner.client.post(`/workspaces/${locked}/actions/lock`);
    expect((await owner.client.post(`/workspaces/${locked}/actions/safe-delete`)).status).toBe(409);
    const writer = await memberWithAccess(env, owner.client, org, busy, "write");
    expect((await writer.client.post(`/workspaces/${busy}/actions/safe-delete`)).status).toBe(404);
    expect((await owner.client.get(`/workspaces/${busy}`)).status).toBe(200);
  });
});

describe("workspace locking", () => {
  it("locks with either body form, records the reason and emits an outbox event", async () => {
    const id = await createWorkspace(owner.client, org);
    const res = await owner.client.post(`/workspaces/${id}/actions/lock`, { data: { type: "", attributes: { reason: "Locked by Terraform" } } });
    expect(res.status).toBe(200);
    expect(res.body.data.attributes).toMatchObject({ locked: true, "locked-reason": "Locked by Terraform" });
    expect(res.body.data.relationships["locked-by"].data).toEqual({ type: "users", id: owner.id });
    const events = await lockEvents(id);
    expect(events).toEqual([
      { subject: `${env.prefix}.workspaces.${id}.lock`, payload: expect.objectContaining({ type: "workspace.lock_changed", workspaceId: id, locked: true, lockedBy: { type: "users", id: owner.id } }) },
    ]);

    const id2 = await createWorkspace(owner.client, org);
    const plain = await owner.client.post(`/workspaces/${id2}/actions/lock`, { reason: "maintenance" });
    expect(plain.body.data.attributes["locked-reason"]).toBe("maintenance");
    const bad = await owner.client.post(`/workspaces/${id2}/actions/unlock`, "not json{");
    expect(bad.status).toBe(422);
    expect((await owner.client.get(`/workspaces/${id2}`)).body.data.attributes.locked).toBe(true);
    const badReason = await owner.client.post(`/workspaces/${id2}/actions/lock`, { reason: 42 });
    expect(badReason.status).toBe(422);
    expect(badReason.body.errors[0].source.pointer).toBe("/reason");
  });

  it("answers 409 'workspace already locked' to a second lock", async () => {
    const id = await createWorkspace(owner.client, org);
    expect((await owner.client.post(`/workspaces/${id}/actions/lock`)).status).toBe(200);
    const again = await owner.client.post(`/workspaces/${id}/actions/lock`);
    expect(again.status).toBe(409);
    expect(again.body.errors[0].detail).toBe("workspace already locked");
  });

  it("refuses unlocking by someone else with 'is locked by User', and when not locked", async () => {
    const id = await createWorkspace(owner.client, org);
    const writer = await memberWithAccess(env, owner.client, org, id, "write");
    expect((await writer.client.post(`/workspaces/${id}/actions/lock`)).status).toBe(200);
    const byOwner = await owner.client.post(`/workspaces/${id}/actions/unlock`);
    expect(byOwner.status).toBe(409);
    expect(byOwner.body.errors[0].detail).toContain(`is locked by User ${writer.username}`);
    expect((await writer.client.post(`/workspaces/${id}/actions/unlock`)).status).toBe(200);
    const notLocked = await writer.client.post(`/workspaces/${id}/actions/unlock`);
    expect(notLocked.status).toBe(409);
    expect(notLocked.body.errors[0].detail).not.toContain("is locked by");
  });

  it("says 'is locked by Team' for a team token's lock, and only that team may unlock it", async () => {
    const id = await createWorkspace(owner.client, org);
    const team = await createTeam(owner.client, org, unique("lockers"));
    await grantAccess(owner.client, team, id, "write");
    const token = await teamToken(owner.client, team);
    const locked = await token.post(`/workspaces/${id}/actions/lock`);
    expect(locked.body.data.relationships["locked-by"].data).toEqual({ type: "teams", id: team });
    const other = await owner.client.post(`/workspaces/${id}/actions/unlock`);
    expect(other.status).toBe(409);
    expect(other.body.errors[0].detail).toContain("is locked by Team");
    expect((await token.post(`/workspaces/${id}/actions/unlock`)).status).toBe(200);
  });

  it("treats a workspace held by an active run as locked by that run", async () => {
    const id = await createWorkspace(owner.client, org);
    const runId = await holdWithRun(id, "planning");
    const ws = await owner.client.get(`/workspaces/${id}`);
    expect(ws.body.data.attributes.locked).toBe(true);
    expect(ws.body.data.relationships["locked-by"].data).toEqual({ type: "runs", id: runId });
    expect(ws.body.data.relationships["current-run"].data).toEqual({ type: "runs", id: runId });
    expect(ws.body.data.relationships["latest-run"].data).toEqual({ type: "runs", id: runId });
    const lock = await owner.client.post(`/workspaces/${id}/actions/lock`);
    expect(lock.status).toBe(409);
    expect(lock.body.errors[0].detail).toBe("workspace already locked");
    const unlock = await owner.client.post(`/workspaces/${id}/actions/unlock`);
    expect(unlock.status).toBe(409);
    expect(unlock.body.errors[0].detail).toContain(`is locked by Run ${runId}`);
    const force = await owner.client.post(`/workspaces/${id}/actions/force-unlock`);
    expect(force.status).toBe(409);
    const included = await owner.client.get(`/workspaces/${id}?include=current_run,locked_by`);
    expect(included.status).toBe(200);
    expect(included.body.included).toEqual([expect.objectContaining({ type: "runs", id: runId, attributes: expect.objectContaining({ status: "planning" }) })]);
  });

  it("does not count a finished or speculative current run as a lock", async () => {
    const id = await createWorkspace(owner.client, org);
    await holdWithRun(id, "applied");
    expect((await owner.client.get(`/workspaces/${id}`)).body.data.attributes.locked).toBe(false);
    const id2 = await createWorkspace(owner.client, org);
    await holdWithRun(id2, "planning", { planOnly: true });
    expect((await owner.client.get(`/workspaces/${id2}`)).body.data.attributes.locked).toBe(false);
    expect((await owner.client.post(`/workspaces/${id2}/actions/lock`)).status).toBe(200);
  });

  it("force-unlocks for admins only, and answers 409 when not locked", async () => {
    const id = await createWorkspace(owner.client, org);
    const writer = await memberWithAccess(env, owner.client, org, id, "write");
    expect((await writer.client.post(`/workspaces/${id}/actions/lock`)).status).toBe(200);
    expect((await writer.client.post(`/workspaces/${id}/actions/force-unlock`)).status).toBe(404);
    const forced = await owner.client.post(`/workspaces/${id}/actions/force-unlock`);
    expect(forced.status).toBe(200);
    expect(forced.body.data.attributes).toMatchObject({ locked: false });
    expect(forced.body.data.relationships["locked-by"].data).toBeNull();
    expect((await owner.client.post(`/workspaces/${id}/actions/force-unlock`)).status).toBe(409);
  });

  it("emits lock_changed and queue_changed on unlock, in order", async () => {
    const id = await createWorkspace(owner.client, org);
    await owner.client.post(`/workspaces/${id}/actions/lock`);
    await owner.client.post(`/workspaces/${id}/actions/unlock`);
    const events = await lockEvents(id);
    expect(events.map((e) => [e.subject, e.payload.type, e.payload.locked])).toEqual([
      [`${env.prefix}.workspaces.${id}.lock`, "workspace.lock_changed", true],
      [`${env.prefix}.workspaces.${id}.lock`, "workspace.lock_changed", false],
      [`${env.prefix}.workspaces.${id}.queue`, "workspace.queue_changed", undefined],
    ]);
  });

  it("writes the unlock's queue_changed event exactly as the run writer does, message id included", async () => {
    const id = await createWorkspace(owner.client, org);
    await owner.client.post(`/workspaces/${id}/actions/lock`);
    await owner.client.post(`/workspaces/${id}/actions/unlock`);
    const row = await env.db.outboxEvent.findFirstOrThrow({ where: { subject: `${env.prefix}.workspaces.${id}.queue` } });
    const payload = row.payload as { reason: string; at: string };
    const requestId = row.msgId.split(":").pop()!;
    const input = { workspaceId: id, reason: payload.reason, at: new Date(payload.at), requestId };
    expect({ subject: row.subject, payload: row.payload, msgId: row.msgId }).toEqual(
      outboxMessages.workspaceQueueChangedMessage(subjectsFor(env.prefix), input),
    );
    // The run writer's enqueueQueueChanged, given the same request, writes the very same message:
    // the outbox ignores it as a repeat.
    const before = await env.db.outboxEvent.count({ where: { subject: row.subject } });
    await inTransaction(env.db, (tx) => runsWrite.enqueueQueueChanged(tx, subjectsFor(env.prefix), input));
    expect(await env.db.outboxEvent.count({ where: { subject: row.subject } })).toBe(before);
  });

  it("writes nothing when a lock is refused", async () => {
    const id = await createWorkspace(owner.client, org);
    await owner.client.post(`/workspaces/${id}/actions/lock`);
    const before = await env.db.outboxEvent.count();
    expect((await owner.client.post(`/workspaces/${id}/actions/lock`)).status).toBe(409);
    expect(await env.db.outboxEvent.count()).toBe(before);
  });

  it("includes the locking user on request", async () => {
    const id = await createWorkspace(owner.client, org);
    await owner.client.post(`/workspaces/${id}/actions/lock`);
    const res = await owner.client.get(`/workspaces/${id}?include=locked_by`);
    expect(res.body.included).toEqual([expect.objectContaining({ type: "users", id: owner.id })]);
  });
});
