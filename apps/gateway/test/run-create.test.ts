import { ApiClient } from "@tarmac/testing";
import {
  createConfigurationVersion,
  createOrganization,
  createOrganizationToken,
  createTeam,
  createWorkspace,
  runBody,
  startRunsTestEnv,
  userWithAccess,
  type RunsTestEnv,
} from "./run-fixtures";

let env: RunsTestEnv;
let org: { id: string; name: string };

beforeAll(async () => {
  env = await startRunsTestEnv();
  org = await createOrganization(env.db);
}, 60_000);

afterAll(async () => {
  await env?.close();
});

describe("POST /runs", () => {
  it("creates a pending run with the reference's defaults, its plan and apply, an event and an outbox message", async () => {
    const ws = await createWorkspace(env.db, org.id, { autoApply: true, terraformVersion: "1.8.1" });
    const cv = await createConfigurationVersion(env.db, ws.id);
    const res = await env.admin.post("/runs", runBody(ws.id, {}, cv));
    expect(res.status).toBe(201);
    expect(res.headers.get("content-type")).toContain("application/vnd.api+json");
    const run = res.body.data;
    expect(run.type).toBe("runs");
    expect(run.id).toMatch(/^run-[1-9A-HJ-NP-Za-km-z]{16}$/);
    expect(run.attributes).toMatchObject({
      status: "pending",
      message: "Queued manually via the Terraform Enterprise API",
      "auto-apply": true,
      "plan-only": false,
      "is-destroy": false,
      refresh: true,
      "refresh-only": false,
      "save-plan": false,
      "allow-empty-apply": false,
      "allow-config-generation": false,
      "debugging-mode": false,
      "has-changes": false,
      "terraform-version": "1.8.1",
      "trigger-reason": "manual",
      source: "tfe-api",
      "canceled-at": null,
      "target-addrs": null,
      "replace-addrs": null,
      variables: [],
      "position-in-queue": 0,
      actions: { "is-cancelable": true, "is-confirmable": false, "is-discardable": true, "is-force-cancelable": false },
      permissions: {
        "can-apply": true,
        "can-cancel": true,
        "can-comment": true,
        "can-discard": true,
        "can-force-execute": true,
        "can-force-cancel": true,
        "can-override-policy-check": false,
      },
    });
    expect(run.attributes).not.toHaveProperty("force-cancel-available-at");
    expect(run.attributes["status-timestamps"]).toEqual({ "plan-queueable-at": expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/) });
    expect(run.attributes["created-at"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const suffix = run.id.slice(4);
    expect(run.relationships).toMatchObject({
      workspace: { data: { type: "workspaces", id: ws.id } },
      plan: { data: { type: "plans", id: `plan-${suffix}` } },
      apply: { data: { type: "applies", id: `apply-${suffix}` } },
      "configuration-version": { data: { type: "configuration-versions", id: cv } },
      "created-by": { data: { type: "users" } },
      "confirmed-by": { data: null },
      "canceled-by": { data: null },
      "cost-estimate": { data: null },
      "policy-checks": { data: [] },
      "task-stages": { data: [] },
      "run-events": { data: [{ type: "run-events", id: expect.stringMatching(/^re-/) }] },
      comments: { data: [] },
    });
    expect(run.links.self).toBe(`/api/v2/runs/${run.id}`);

    const plan = await env.db.plan.findUnique({ where: { id: `plan-${suffix}` } });
    const apply = await env.db.apply.findUnique({ where: { id: `apply-${suffix}` } });
    expect(plan?.status).toBe("pending");
    expect(apply?.status).toBe("pending");
    const row = await env.db.run.findUniqueOrThrow({ where: { id: run.id } });
    expect(row.operation).toBe("plan_and_apply");
    const outbox = await env.db.outboxEvent.findMany({ where: { subject: `${env.prefix}.runs.${run.id}.created` } });
    expect(outbox).toHaveLength(1);
    expect(outbox[0]!.payload).toMatchObject({ type: "run.created", runId: run.id, workspaceId: ws.id, organizationId: org.id, speculative: false });
    const events = await env.db.runEvent.findMany({ where: { runId: run.id } });
    expect(events.map((e) => e.action)).toEqual(["created"]);
  });

  it("uses the workspace's latest configuration version when none or null is given, and records the one used as latest", async () => {
    const ws = await createWorkspace(env.db, org.id);
    const cv = await createConfigurationVersion(env.db, ws.id);
    const absent = await env.admin.post("/runs", runBody(ws.id));
    expect(absent.status).toBe(201);
    expect(absent.body.data.relationships["configuration-version"].data.id).toBe(cv);
    const explicitNull = await env.admin.post("/runs", runBody(ws.id, {}, null));
    expect(explicitNull.status).toBe(201);
    expect(explicitNull.body.data.relationships["configuration-version"].data.id).toBe(cv);

    // Promotion: a configuration version of another workspace of the organization.
    const other = await createWorkspace(env.db, org.id);
    const promoted = await createConfigurationVersion(env.db, other.id);
    const res = await env.admin.post("/runs", runBody(ws.id, {}, promoted));
    expect(res.status).toBe(201);
    const wsRow = await env.db.workspace.findUniqueOrThrow({ where: { id: ws.id } });
    expect(wsRow.latestConfigurationVersionId).toBe(promoted);
  });

  it("answers 422 'Configuration version is missing' on a workspace without one", async () => {
    const ws = await createWorkspace(env.db, org.id);
    const res = await env.admin.post("/runs", runBody(ws.id));
    expect(res.status).toBe(422);
    expect(res.body.errors[0]).toMatchObject({ status: "422", title: "unprocessable entity", detail: "Configuration version is missing" });
  });

  it("refuses a configuration version that is not uploaded, and one of another organization", async () => {
    const ws = await createWorkspace(env.db, org.id);
    const pending = await createConfigurationVersion(env.db, ws.id, { status: "pending" });
    const res = await env.admin.post("/runs", runBody(ws.id, {}, pending));
    expect(res.status).toBe(422);
    const otherOrg = await createOrganization(env.db);
    const foreignWs = await createWorkspace(env.db, otherOrg.id);
    const foreign = await createConfigurationVersion(env.db, foreignWs.id);
    expect((await env.admin.post("/runs", runBody(ws.id, {}, foreign))).status).toBe(404);
    expect(await env.db.run.count({ where: { workspaceId: ws.id } })).toBe(0);
  });

  it("takes plan-only from a speculative configuration version and allows terraform-version only on plan-only runs", async () => {
    const ws = await createWorkspace(env.db, org.id);
    const spec = await createConfigurationVersion(env.db, ws.id, { speculative: true });
    const res = await env.admin.post("/runs", runBody(ws.id, { "terraform-version": "1.10.0" }, spec));
    expect(res.status).toBe(201);
    expect(res.body.data.attributes).toMatchObject({ "plan-only": true, "terraform-version": "1.10.0" });
    const row = await env.db.run.findUniqueOrThrow({ where: { id: res.body.data.id } });
    expect(row.operation).toBe("plan_only");

    const normal = await createConfigurationVersion(env.db, ws.id);
    const refused = await env.admin.post("/runs", runBody(ws.id, { "terraform-version": "1.10.0" }, normal));
    expect(refused.status).toBe(422);
    expect(refused.body.errors[0].source.pointer).toBe("/data/attributes/terraform-version");
    const explicit = await env.admin.post("/runs", runBody(ws.id, { "terraform-version": "1.10.0", "plan-only": true }, normal));
    expect(explicit.status).toBe(201);
  });

  it("refuses a destroy plan on a workspace that does not allow them", async () => {
    const ws = await createWorkspace(env.db, org.id);
    await createConfigurationVersion(env.db, ws.id);
    await env.db.workspace.update({ where: { id: ws.id }, data: { allowDestroyPlan: false } });
    const res = await env.admin.post("/runs", runBody(ws.id, { "is-destroy": true }));
    expect(res.status).toBe(422);
    expect(res.body.errors[0].source.pointer).toBe("/data/attributes/is-destroy");
    expect((await env.admin.post("/runs", runBody(ws.id))).status).toBe(201);
  });

  it("stores every create option and derives the operation", async () => {
    const ws = await createWorkspace(env.db, org.id);
    await createConfigurationVersion(env.db, ws.id);
    const res = await env.admin.post(
      "/runs",
      runBody(ws.id, {
        "is-destroy": true,
        message: "tear it down",
        refresh: false,
        "target-addrs": ["aws_instance.a"],
        "replace-addrs": ["aws_instance.b"],
        "debugging-mode": true,
        "allow-config-generation": true,
        "auto-apply": false,
        variables: [
          { key: "name", value: '"ABCDE"' },
          { key: "count", value: "2" },
          { key: "tags", value: '{ env = "prod", ids = [1, 2] }' },
        ],
      }),
    );
    expect(res.status).toBe(201);
    expect(res.body.data.attributes).toMatchObject({
      "is-destroy": true,
      message: "tear it down",
      refresh: false,
      "target-addrs": ["aws_instance.a"],
      "replace-addrs": ["aws_instance.b"],
      "debugging-mode": true,
      "allow-config-generation": true,
      variables: [
        { key: "name", value: '"ABCDE"' },
        { key: "count", value: "2" },
        { key: "tags", value: '{ env = "prod", ids = [1, 2] }' },
      ],
    });
    const row = await env.db.run.findUniqueOrThrow({ where: { id: res.body.data.id } });
    expect(row.operation).toBe("destroy");
    for (const [attrs, op] of [
      [{ "refresh-only": true }, "refresh_only"],
      [{ "save-plan": true }, "save_plan"],
      [{ "allow-empty-apply": true }, "empty_apply"],
    ] as const) {
      const r = await env.admin.post("/runs", runBody(ws.id, attrs));
      expect(r.status).toBe(201);
      expect((await env.db.run.findUniqueOrThrow({ where: { id: r.body.data.id } })).operation).toBe(op);
    }
  });

  it.each([
    ["a body that is not JSON", "{not json", undefined],
    ["an empty object", {}, "/data"],
    ["a missing workspace relationship", { data: { type: "runs", attributes: {} } }, "/data/relationships"],
    ["a wrong type", { data: { type: "workspaces", relationships: { workspace: { data: { id: "ws-x" } } } } }, "/data/type"],
    ["a string where a bool belongs", "BOOL", "/data/attributes/is-destroy"],
    ["a number as message", "MSG", "/data/attributes/message"],
    ["target-addrs that are not strings", "TARGETS", "/data/attributes/target-addrs/0"],
    ["a variable without a key", "VARKEY", "/data/attributes/variables/0/key"],
    ["a variable value that is not an HCL literal", "VARVAL", "/data/attributes/variables/1/value"],
    ["is-destroy with refresh-only", "DESTROYREFRESH", "/data/attributes/refresh-only"],
    ["a malformed terraform-version", "TFVERSION", "/data/attributes/terraform-version"],
    ["a null data", { data: null }, "/data"],
    ["an array body", [1, 2], "/data"],
  ])("answers 422 with a pointer for %s", async (_name, body, pointer) => {
    const ws = await createWorkspace(env.db, org.id);
    await createConfigurationVersion(env.db, ws.id);
    const bodies: Record<string, unknown> = {
      BOOL: runBody(ws.id, { "is-destroy": "yes" }),
      MSG: runBody(ws.id, { message: 42 }),
      TARGETS: runBody(ws.id, { "target-addrs": [1] }),
      VARKEY: runBody(ws.id, { variables: [{ value: "1" }] }),
      VARVAL: runBody(ws.id, { variables: [{ key: "ok", value: "1" }, { key: "bad", value: "var.other" }] }),
      DESTROYREFRESH: runBody(ws.id, { "is-destroy": true, "refresh-only": true }),
      TFVERSION: runBody(ws.id, { "terraform-version": "banana", "plan-only": true }),
    };
    const payload = typeof body === "string" && bodies[body] !== undefined ? bodies[body] : body;
    const res = await env.admin.post("/runs", payload);
    expect(res.status).toBe(422);
    expect(res.body.errors[0].status).toBe("422");
    if (pointer !== undefined) expect(res.body.errors[0].source.pointer).toBe(pointer);
    expect(await env.db.run.count({ where: { workspaceId: ws.id } })).toBe(0);
  });

  describe("permissions", () => {
    let ws: { id: string; name: string };
    beforeAll(async () => {
      ws = await createWorkspace(env.db, org.id);
      await createConfigurationVersion(env.db, ws.id);
    });

    it("404s an unknown workspace", async () => {
      const res = await env.admin.post("/runs", runBody("ws-doesNotExist12345"));
      expect(res.status).toBe(404);
    });

    it("404s a user with read access and accepts plan, write and admin", async () => {
      for (const [level, status] of [["read", 404], ["plan", 201], ["write", 201], ["admin", 201]] as const) {
        const { token } = await userWithAccess(env.db, org.id, ws.id, level);
        const res = await new ApiClient(env.gateway.url, token).post("/runs", runBody(ws.id));
        expect([level, res.status]).toEqual([level, status]);
      }
    });

    it("never auto-applies a run queued by someone who cannot apply", async () => {
      const autoWs = await createWorkspace(env.db, org.id, { autoApply: true });
      await createConfigurationVersion(env.db, autoWs.id);
      const planner = await userWithAccess(env.db, org.id, autoWs.id, "plan");
      const asPlanner = new ApiClient(env.gateway.url, planner.token);
      expect((await asPlanner.post("/runs", runBody(autoWs.id))).body.data.attributes["auto-apply"]).toBe(false);
      expect((await asPlanner.post("/runs", runBody(autoWs.id, { "auto-apply": true }))).body.data.attributes["auto-apply"]).toBe(false);
      const writer = await userWithAccess(env.db, org.id, autoWs.id, "write");
      expect((await new ApiClient(env.gateway.url, writer.token).post("/runs", runBody(autoWs.id))).body.data.attributes["auto-apply"]).toBe(true);
    });

    it("404s a user of another organization and an organization token; accepts team tokens with plan access", async () => {
      const other = await createOrganization(env.db);
      const outsider = await userWithAccess(env.db, other.id, (await createWorkspace(env.db, other.id)).id, "admin");
      expect((await new ApiClient(env.gateway.url, outsider.token).post("/runs", runBody(ws.id))).status).toBe(404);
      const orgToken = await createOrganizationToken(env.db, org.id);
      expect((await new ApiClient(env.gateway.url, orgToken).post("/runs", runBody(ws.id))).status).toBe(404);
      const team = await createTeam(env.db, org.id, { access: [{ workspaceId: ws.id, access: "plan" }] });
      const res = await new ApiClient(env.gateway.url, team.token).post("/runs", runBody(ws.id));
      expect(res.status).toBe(201);
      expect(res.body.data.relationships["created-by"].data).toBeNull();
      expect(res.body.data.attributes.permissions["can-apply"]).toBe(false);
      expect(res.body.data.attributes.permissions["can-comment"]).toBe(true);
    });

    it("401s without a token", async () => {
      expect((await new ApiClient(env.gateway.url).post("/runs", runBody(ws.id))).status).toBe(401);
    });
  });
});
