import { mintRunTaskToken } from "@tarmac/contracts";
import { decryptValue } from "@tarmac/db";
import { addMembers, createOrganization, createTeam, createUser, createWorkspace, grantAccess, memberWithAccess, organizationToken, startApiTestEnv, teamToken, unique, type ApiTestEnv } from "./api-fixtures";
import { createConfigurationVersion, runBody } from "./run-fixtures";

const taskBody = (attributes: Record<string, unknown>) => ({ data: { type: "tasks", attributes } });
const workspaceTaskBody = (taskId: string, attributes: Record<string, unknown> = {}) => ({
  data: { type: "workspace-tasks", attributes, relationships: { task: { data: { type: "tasks", id: taskId } } } },
});

describe("run tasks API", () => {
  let env: ApiTestEnv;
  let org: string;
  let orgId: string;
  let workspaceId: string;

  beforeAll(async () => {
    env = await startApiTestEnv();
    org = await createOrganization(env.admin);
    orgId = (await env.db.organization.findUniqueOrThrow({ where: { name: org } })).id;
    workspaceId = await createWorkspace(env.admin, org);
  }, 120_000);
  afterAll(async () => {
    await env?.close();
  });

  async function createTask(attributes: Record<string, unknown> = {}): Promise<string> {
    const res = await env.admin.post(`/organizations/${org}/tasks`, taskBody({ name: unique("task"), url: "https://example.com/hook", ...attributes }));
    expect(res.status).toBe(201);
    return res.body.data.id as string;
  }

  /** A run created through the API on a workspace with an uploaded configuration. */
  async function createRun(wsId: string, attributes: Record<string, unknown> = {}): Promise<string> {
    const cvId = await createConfigurationVersion(env.db, wsId);
    const res = await env.admin.post("/runs", runBody(wsId, attributes, cvId));
    expect(res.status).toBe(201);
    return res.body.data.id as string;
  }

  it("creates, lists, reads, changes and deletes organization tasks whose HMAC key is write-only and encrypted", async () => {
    const created = await env.admin.post(`/organizations/${org}/tasks`, taskBody({ name: "scanner", url: "https://scan.example.com/run", description: "Scans", "hmac-key": "s3cret" }));
    expect(created.status).toBe(201);
    const id = created.body.data.id as string;
    expect(id).toMatch(/^task-[1-9A-HJ-NP-Za-km-z]{16}$/);
    expect(created.body.data).toMatchObject({
      type: "tasks",
      attributes: { name: "scanner", url: "https://scan.example.com/run", description: "Scans", category: "task", enabled: true, "hmac-key": null },
      relationships: { organization: { data: { type: "organizations", id: org } }, "workspace-tasks": { data: [] } },
      links: { self: `/api/v2/tasks/${id}` },
    });
    const row = await env.db.runTask.findUniqueOrThrow({ where: { id } });
    expect(row.hmacKeyEncrypted).not.toContain("s3cret");
    expect(decryptValue(row.hmacKeyEncrypted!, env.gateway.keys)).toBe("s3cret");

    const list = await env.admin.get(`/organizations/${org}/tasks`);
    expect(list.status).toBe(200);
    expect(list.body.data.map((t: { id: string }) => t.id)).toContain(id);
    expect(list.body.meta.pagination["total-count"]).toBeGreaterThanOrEqual(1);

    const wt = await env.admin.post(`/workspaces/${workspaceId}/tasks`, workspaceTaskBody(id));
    const read = await env.admin.get(`/tasks/${id}?include=workspace_tasks`);
    expect(read.body.data.relationships["workspace-tasks"].data).toEqual([{ type: "workspace-tasks", id: wt.body.data.id }]);
    expect(read.body.included.map((r: { type: string }) => r.type)).toEqual(["workspace-tasks"]);

    const changed = await env.admin.patch(`/tasks/${id}`, taskBody({ enabled: false, "hmac-key": null }));
    expect(changed.status).toBe(200);
    expect(changed.body.data.attributes.enabled).toBe(false);
    expect((await env.db.runTask.findUniqueOrThrow({ where: { id } })).hmacKeyEncrypted).toBeNull();

    expect((await env.admin.delete(`/tasks/${id}`)).status).toBe(204);
    expect((await env.admin.get(`/tasks/${id}`)).status).toBe(404);
    expect(await env.db.workspaceRunTask.count({ where: { taskId: id } })).toBe(0);
  });

  it("says run tasks are available: the entitlement, and owners' permission to manage them", async () => {
    expect((await env.admin.get(`/organizations/${org}/entitlement-set`)).body.data.attributes["run-tasks"]).toBe(true);
    const permissions = (await env.admin.get(`/organizations/${org}`)).body.data.attributes.permissions;
    expect(permissions).toMatchObject({ "can-manage-run-tasks": true, "can-read-run-tasks": true });
  });

  it("refuses bad task input with 422 and writes nothing", async () => {
    const before = await env.db.runTask.count();
    const cases = [
      taskBody({ url: "https://example.com" }),
      taskBody({ name: "ok", url: "not a url" }),
      taskBody({ name: "ok", url: "ftp://example.com/x" }),
      taskBody({ name: "bad name!", url: "https://example.com" }),
      taskBody({ name: "ok", url: "https://example.com", category: "other" }),
      { data: { type: "workspaces", attributes: { name: "ok", url: "https://example.com" } } },
    ];
    for (const body of cases) {
      const res = await env.admin.post(`/organizations/${org}/tasks`, body);
      expect(res.status).toBe(422);
      expect(res.body.errors[0].status).toBe("422");
    }
    const name = unique("dup");
    await createTask({ name });
    const dup = await env.admin.post(`/organizations/${org}/tasks`, taskBody({ name, url: "https://example.com" }));
    expect(dup.status).toBe(422);
    expect(await env.db.runTask.count()).toBe(before + 1);
  });

  it("lets members read tasks, only owners (of the teams without manage-run-tasks) manage them, and hides them from other organizations", async () => {
    const id = await createTask();
    const member = await createUser(env);
    const team = await createTeam(env.admin, org);
    await addMembers(env.admin, team, [member.id]);
    expect((await member.client.get(`/tasks/${id}`)).status).toBe(200);
    expect((await member.client.get(`/organizations/${org}/tasks`)).status).toBe(200);
    expect((await member.client.post(`/organizations/${org}/tasks`, taskBody({ name: "x", url: "https://example.com" }))).status).toBe(404);
    expect((await member.client.patch(`/tasks/${id}`, taskBody({ enabled: false }))).status).toBe(404);
    expect((await member.client.delete(`/tasks/${id}`)).status).toBe(404);

    const stranger = await createUser(env);
    expect((await stranger.client.get(`/tasks/${id}`)).status).toBe(404);
    expect((await stranger.client.get(`/organizations/${org}/tasks`)).status).toBe(404);
  });

  it("attaches tasks to workspaces for admins, with stages and enforcement levels as HCP writes them", async () => {
    const ws = await createWorkspace(env.admin, org);
    const task = await createTask();
    const created = await env.admin.post(`/workspaces/${ws}/tasks`, workspaceTaskBody(task, { "enforcement-level": "mandatory", stage: "pre_plan" }));
    expect(created.status).toBe(201);
    const id = created.body.data.id as string;
    expect(id).toMatch(/^wstask-/);
    expect(created.body.data).toMatchObject({
      type: "workspace-tasks",
      attributes: { "enforcement-level": "mandatory", stage: "pre_plan", stages: ["pre_plan"] },
      relationships: { task: { data: { type: "tasks", id: task } }, workspace: { data: { type: "workspaces", id: ws } } },
    });
    const defaults = await env.admin.post(`/workspaces/${ws}/tasks`, workspaceTaskBody(await createTask()));
    expect(defaults.body.data.attributes).toMatchObject({ "enforcement-level": "advisory", stages: ["post_plan"] });

    const changed = await env.admin.patch(`/workspaces/${ws}/tasks/${id}`, { data: { type: "workspace-tasks", attributes: { stages: ["pre_plan", "post_plan"], "enforcement-level": "advisory" } } });
    expect(changed.status).toBe(200);
    expect(changed.body.data.attributes).toMatchObject({ stages: ["pre_plan", "post_plan"], "enforcement-level": "advisory" });

    const list = await env.admin.get(`/workspaces/${ws}/tasks`);
    expect(list.body.data.map((w: { id: string }) => w.id)).toEqual([id, defaults.body.data.id]);

    // Bad input, duplicates and tasks of another organization change nothing.
    const count = await env.db.workspaceRunTask.count({ where: { workspaceId: ws } });
    expect((await env.admin.post(`/workspaces/${ws}/tasks`, workspaceTaskBody(task, { "enforcement-level": "soft" }))).status).toBe(422);
    const unknownStage = await env.admin.post(`/workspaces/${ws}/tasks`, workspaceTaskBody(await createTask(), { stages: ["during_apply"] }));
    expect(unknownStage.status).toBe(422);
    expect(unknownStage.body.errors[0].detail).toMatch(/pre_plan, post_plan, pre_apply, post_apply/);
    expect((await env.admin.post(`/workspaces/${ws}/tasks`, workspaceTaskBody(task))).status).toBe(422);
    const other = await createOrganization(env.admin);
    const foreign = await env.admin.post(`/organizations/${other}/tasks`, taskBody({ name: "f", url: "https://example.com" }));
    expect((await env.admin.post(`/workspaces/${ws}/tasks`, workspaceTaskBody(foreign.body.data.id))).status).toBe(404);
    expect(await env.db.workspaceRunTask.count({ where: { workspaceId: ws } })).toBe(count);

    // HCP's four stages are accepted, the apply's as well as the plan's (each runs: e2e run-tasks).
    const count2 = await env.db.workspaceRunTask.count({ where: { workspaceId: ws } });
    const around = await env.admin.post(`/workspaces/${ws}/tasks`, workspaceTaskBody(await createTask(), { stages: ["pre_apply", "post_apply"], "enforcement-level": "mandatory" }));
    expect(around.status).toBe(201);
    expect(around.body.data.attributes).toMatchObject({ stages: ["pre_apply", "post_apply"], stage: "pre_apply" });
    const deprecatedStage = await env.admin.post(`/workspaces/${ws}/tasks`, workspaceTaskBody(await createTask(), { stage: "post_apply" }));
    expect(deprecatedStage.body.data.attributes.stages).toEqual(["post_apply"]);
    const allFour = await env.admin.patch(`/workspaces/${ws}/tasks/${around.body.data.id}`, {
      data: { type: "workspace-tasks", attributes: { stages: ["pre_plan", "post_plan", "pre_apply", "post_apply"] } },
    });
    expect(allFour.status).toBe(200);
    expect(allFour.body.data.attributes.stages).toEqual(["pre_plan", "post_plan", "pre_apply", "post_apply"]);
    expect(await env.db.workspaceRunTask.count({ where: { workspaceId: ws } })).toBe(count2 + 2);

    // Readers see the attachments; only admins change them.
    const reader = await memberWithAccess(env, env.admin, org, ws, "read");
    expect((await reader.client.get(`/workspaces/${ws}/tasks/${id}`)).status).toBe(200);
    expect((await reader.client.post(`/workspaces/${ws}/tasks`, workspaceTaskBody(await createTask()))).status).toBe(404);
    expect((await reader.client.delete(`/workspaces/${ws}/tasks/${id}`)).status).toBe(404);
    const wsAdmin = await memberWithAccess(env, env.admin, org, ws, "admin");
    expect((await wsAdmin.client.delete(`/workspaces/${ws}/tasks/${id}`)).status).toBe(204);
    expect((await env.admin.get(`/workspaces/${ws}/tasks/${id}`)).status).toBe(404);
  });

  it("gives a new run its pending task stages, shown on the run and readable as the terraform CLI reads them", async () => {
    const ws = await createWorkspace(env.admin, org);
    const pre = await createTask();
    const post = await createTask();
    await env.admin.post(`/workspaces/${ws}/tasks`, workspaceTaskBody(pre, { stages: ["pre_plan"], "enforcement-level": "mandatory" }));
    await env.admin.post(`/workspaces/${ws}/tasks`, workspaceTaskBody(post, { stages: ["post_plan"] }));
    const runId = await createRun(ws);

    const run = await env.admin.get(`/runs/${runId}?include=task_stages`);
    expect(run.status).toBe(200);
    const stageIds = run.body.data.relationships["task-stages"].data.map((d: { id: string }) => d.id);
    expect(stageIds).toHaveLength(2);
    expect(run.body.included.filter((r: { type: string }) => r.type === "task-stages").map((s: { attributes: { stage: string; status: string } }) => [s.attributes.stage, s.attributes.status])).toEqual([
      ["pre_plan", "pending"],
      ["post_plan", "pending"],
    ]);

    const list = await env.admin.get(`/runs/${runId}/task-stages`);
    expect(list.body.data.map((s: { id: string }) => s.id)).toEqual(stageIds);
    expect(list.body.meta.pagination["total-count"]).toBe(2);

    const stage = await env.admin.get(`/task-stages/${stageIds[0]}?include=task_results,policy_evaluations`);
    expect(stage.status).toBe(200);
    expect(stage.body.data).toMatchObject({
      type: "task-stages",
      attributes: { stage: "pre_plan", status: "pending", actions: { "is-overridable": false } },
      relationships: { run: { data: { type: "runs", id: runId } }, "policy-evaluations": { data: [] } },
    });
    const [result] = stage.body.included;
    expect(result).toMatchObject({
      type: "task-results",
      attributes: { status: "pending", "task-id": pre, "workspace-task-enforcement-level": "mandatory", stage: "pre_plan", "is-speculative": false },
      relationships: { "task-stage": { data: { type: "task-stages", id: stageIds[0] } } },
    });
    expect((await env.admin.get(`/task-results/${result.id}`)).body.data.id).toBe(result.id);

    // Runs of workspaces without tasks keep an empty list.
    const plain = await createRun(workspaceId);
    expect((await env.admin.get(`/runs/${plain}`)).body.data.relationships["task-stages"].data).toEqual([]);
    // Invisible runs' stages are 404s, like the runs.
    const stranger = await createUser(env);
    expect((await stranger.client.get(`/task-stages/${stageIds[0]}`)).status).toBe(404);
    expect((await stranger.client.get(`/task-results/${result.id}`)).status).toBe(404);
    expect((await env.admin.get("/task-stages/ts-doesnotexist12345")).status).toBe(404);
  });

  it("records an integration's callback with its run-scoped token, once, and tells the scheduler", async () => {
    const ws = await createWorkspace(env.admin, org);
    await env.admin.post(`/workspaces/${ws}/tasks`, workspaceTaskBody(await createTask(), { stages: ["pre_plan"] }));
    const runId = await createRun(ws);
    const otherRun = await createRun(ws);
    const result = await env.db.taskResult.findFirstOrThrow({ where: { runId } });
    const token = mintRunTaskToken(env.gateway.keys, runId, new Date(Date.now() + 60_000));
    const integration = env.anonymous.withToken(token);
    const callback = `/task-results/${result.id}/callback`;
    const passed = {
      data: {
        type: "task-results",
        attributes: { status: "passed", message: "2 passed", url: "https://scan.example.com/r/1" },
        relationships: {
          outcomes: {
            data: [
              { type: "task-result-outcomes", attributes: { "outcome-id": "CHK-1", description: "Bucket is private", body: "# Fine", tags: { Severity: [{ label: "Low", level: "info" }] } } },
            ],
          },
        },
      },
    };

    expect((await env.anonymous.patch(callback, passed)).status).toBe(401);
    expect((await env.admin.patch(callback, passed)).status).toBe(401);
    expect((await env.anonymous.withToken(mintRunTaskToken(env.gateway.keys, runId, new Date(Date.now() - 1000))).patch(callback, passed)).status).toBe(401);
    expect((await env.anonymous.withToken(mintRunTaskToken({ current: "another-key-another-key-another-key-another", previous: [] }, runId, new Date(Date.now() + 60_000))).patch(callback, passed)).status).toBe(401);
    expect((await env.anonymous.withToken(mintRunTaskToken(env.gateway.keys, otherRun, new Date(Date.now() + 60_000))).patch(callback, passed)).status).toBe(404);
    const bad = await integration.patch(callback, { data: { type: "task-results", attributes: { status: "skipped" } } });
    expect(bad.status).toBe(422);
    expect((await integration.patch(callback, { data: { type: "task-results", attributes: { status: "passed", message: "a\u0000b" } } })).status).toBe(422);
    expect((await integration.request("PATCH", callback, "{not json")).status).toBe(422);
    expect((await env.db.taskResult.findUniqueOrThrow({ where: { id: result.id } })).status).toBe("pending");

    const running = await integration.patch(callback, { data: { type: "task-results", attributes: { status: "running", message: "Scanning" } } });
    expect(running.status).toBe(200);
    expect(await env.db.outboxEvent.count({ where: { msgId: { startsWith: `task-result:${result.id}` } } })).toBe(0);

    expect((await integration.patch(callback, passed)).status).toBe(200);
    const stored = await env.admin.get(`/task-results/${result.id}`);
    expect(stored.body.data.attributes).toMatchObject({ status: "passed", message: "2 passed", url: "https://scan.example.com/r/1", "task-result-outcomes-count": 1 });
    expect(Object.keys(stored.body.data.attributes["status-timestamps"])).toEqual(expect.arrayContaining(["pending-at", "running-at", "passed-at"]));
    const event = await env.db.outboxEvent.findFirstOrThrow({ where: { msgId: `task-result:${result.id}:passed` } });
    expect(event.payload).toMatchObject({ type: "task_stage.changed", runId, taskStageId: result.taskStageId, reason: "result" });

    const outcomes = await env.admin.get(`/task-results/${result.id}/outcomes`);
    expect(outcomes.body.data[0]).toMatchObject({
      type: "task-result-outcomes",
      attributes: { "outcome-id": "CHK-1", description: "Bucket is private", tags: [{ label: "Severity", value: [{ label: "Low", level: "info" }] }] },
    });
    const body = await env.admin.get(`/task-result-outcomes/${outcomes.body.data[0].id}/body`);
    expect(body.text).toBe("# Fine");

    // The same verdict again is answered as the first time; a different one is a conflict.
    expect((await integration.patch(callback, passed)).status).toBe(200);
    expect((await integration.patch(callback, { data: { type: "task-results", attributes: { status: "failed" } } })).status).toBe(409);
    expect((await env.db.taskResult.findUniqueOrThrow({ where: { id: result.id } })).status).toBe("passed");
  });

  it("lets the token read its own run's configuration and plan JSON, and nothing else", async () => {
    const ws = await createWorkspace(env.admin, org);
    const runId = await createRun(ws);
    const other = await createRun(ws);
    const run = await env.db.run.findUniqueOrThrow({ where: { id: runId } });
    const otherRun = await env.db.run.findUniqueOrThrow({ where: { id: other } });
    const integration = env.anonymous.withToken(mintRunTaskToken(env.gateway.keys, runId, new Date(Date.now() + 60_000)));
    // No archive was uploaded in this fixture: the run's own configuration is a 404 for want of one,
    // another run's is a 404 because the token does not grant it; the plan has no JSON yet (204).
    expect((await integration.get(`/configuration-versions/${run.configurationVersionId}/download`)).status).toBe(404);
    expect((await integration.get(`/configuration-versions/${otherRun.configurationVersionId}/download`)).status).toBe(404);
    expect((await integration.get(`/plans/plan-${runId.slice(4)}/json-output`)).status).toBe(204);
    expect((await integration.get(`/plans/plan-${other.slice(4)}/json-output`)).status).toBe(404);
    // The token is no API token anywhere else.
    expect((await integration.get(`/runs/${runId}`)).status).toBe(401);
  });

  it("overrides a stage awaiting an override for owners (not workspace admins), and only then", async () => {
    const ws = await createWorkspace(env.admin, org);
    await env.admin.post(`/workspaces/${ws}/tasks`, workspaceTaskBody(await createTask(), { stages: ["post_plan"], "enforcement-level": "mandatory" }));
    const runId = await createRun(ws);
    const stage = await env.db.taskStage.findFirstOrThrow({ where: { runId } });
    expect((await env.admin.post(`/task-stages/${stage.id}/actions/override`, {})).status).toBe(409);

    await env.db.taskStage.update({ where: { id: stage.id }, data: { status: "awaiting_override" } });
    const wsAdmin = await memberWithAccess(env, env.admin, org, ws, "admin");
    const shown = await wsAdmin.client.get(`/task-stages/${stage.id}`);
    expect(shown.body.data.attributes.permissions["can-override"]).toBe(false);
    expect((await wsAdmin.client.post(`/task-stages/${stage.id}/actions/override`, {})).status).toBe(403);
    const ownerView = await env.admin.get(`/task-stages/${stage.id}`);
    expect(ownerView.body.data.attributes.actions["is-overridable"]).toBe(true);

    const overridden = await env.admin.post(`/task-stages/${stage.id}/actions/override`, {});
    expect(overridden.status).toBe(200);
    expect(overridden.body.data.attributes.status).toBe("passed");
    expect(await env.db.outboxEvent.count({ where: { msgId: `task-stage-override:${stage.id}` } })).toBe(1);
    expect((await env.admin.post(`/task-stages/${stage.id}/actions/override`, {})).status).toBe(409);
    expect(orgId).toMatch(/^org-/);
  });

  describe("team organization access", () => {
    /** A user on a new team with these organization-access flags. */
    async function memberOfTeam(organizationAccess: Record<string, boolean>) {
      const user = await createUser(env);
      const teamId = await createTeam(env.admin, org, unique("team"), { "organization-access": organizationAccess });
      await addMembers(env.admin, teamId, [user.id]);
      return { ...user, teamId };
    }

    it("stores manage-run-tasks and manage-policy-overrides on teams, as HCP's organization-access", async () => {
      const created = await env.admin.post(`/organizations/${org}/teams`, {
        data: { type: "teams", attributes: { name: unique("team"), "organization-access": { "manage-run-tasks": true } } },
      });
      expect(created.status).toBe(201);
      const id = created.body.data.id as string;
      expect(created.body.data.attributes["organization-access"]).toMatchObject({ "manage-run-tasks": true, "manage-policy-overrides": false, "manage-workspaces": false });
      const changed = await env.admin.patch(`/teams/${id}`, {
        data: { type: "teams", attributes: { "organization-access": { "manage-run-tasks": false, "manage-policy-overrides": true } } },
      });
      expect(changed.status).toBe(200);
      expect(changed.body.data.attributes["organization-access"]).toMatchObject({ "manage-run-tasks": false, "manage-policy-overrides": true });
      expect(await env.db.team.findUniqueOrThrow({ where: { id } })).toMatchObject({ manageRunTasks: false, managePolicyOverrides: true });
      // A flag that is not a boolean is a 422 that changes nothing.
      const bad = await env.admin.patch(`/teams/${id}`, { data: { type: "teams", attributes: { "organization-access": { "manage-run-tasks": "yes" } } } });
      expect(bad.status).toBe(422);
      expect(await env.db.team.findUniqueOrThrow({ where: { id } })).toMatchObject({ manageRunTasks: false, managePolicyOverrides: true });
      // The owners team keeps every organization permission.
      const owners = await env.db.team.findFirstOrThrow({ where: { organizationId: orgId, isOwners: true } });
      const refused = await env.admin.patch(`/teams/${owners.id}`, { data: { type: "teams", attributes: { "organization-access": { "manage-run-tasks": false } } } });
      expect(refused.status).toBe(422);
    });

    it("lets members of a manage-run-tasks team manage the organization's tasks, and no other member", async () => {
      const manager = await memberOfTeam({ "manage-run-tasks": true });
      const plain = await memberOfTeam({ "manage-workspaces": true });
      expect((await manager.client.get(`/organizations/${org}`)).body.data.attributes.permissions).toMatchObject({ "can-manage-run-tasks": true, "can-read-run-tasks": true });
      expect((await plain.client.get(`/organizations/${org}`)).body.data.attributes.permissions).toMatchObject({ "can-manage-run-tasks": false, "can-read-run-tasks": true });

      const created = await manager.client.post(`/organizations/${org}/tasks`, taskBody({ name: unique("task"), url: "https://example.com/m" }));
      expect(created.status).toBe(201);
      const id = created.body.data.id as string;
      expect((await manager.client.patch(`/tasks/${id}`, taskBody({ description: "changed" }))).status).toBe(200);

      const before = await env.db.runTask.count({ where: { organizationId: orgId } });
      expect((await plain.client.post(`/organizations/${org}/tasks`, taskBody({ name: unique("task"), url: "https://example.com/p" }))).status).toBe(404);
      expect((await plain.client.patch(`/tasks/${id}`, taskBody({ description: "no" }))).status).toBe(404);
      expect((await plain.client.delete(`/tasks/${id}`)).status).toBe(404);
      expect((await plain.client.get(`/tasks/${id}`)).status).toBe(200);
      expect(await env.db.runTask.count({ where: { organizationId: orgId } })).toBe(before);
      expect((await env.db.runTask.findUniqueOrThrow({ where: { id } })).description).toBe("changed");

      // A team token of that team may too; an organization token manages them as an owner.
      const managerTeamToken = await teamToken(env.admin, manager.teamId);
      expect((await managerTeamToken.post(`/organizations/${org}/tasks`, taskBody({ name: unique("task"), url: "https://example.com/t" }))).status).toBe(201);
      const orgToken = await organizationToken(env.admin, org);
      expect((await orgToken.post(`/organizations/${org}/tasks`, taskBody({ name: unique("task"), url: "https://example.com/o" }))).status).toBe(201);

      // Attaching a task is the workspace's admins' (HCP's workspace run-tasks permission), not the organization flag's.
      const ws = await createWorkspace(env.admin, org);
      expect((await manager.client.post(`/workspaces/${ws}/tasks`, workspaceTaskBody(id))).status).toBe(404);
      await grantAccess(env.admin, manager.teamId, ws, "admin");
      expect((await manager.client.post(`/workspaces/${ws}/tasks`, workspaceTaskBody(id, { stages: ["pre_apply"] }))).status).toBe(201);

      expect((await manager.client.delete(`/tasks/${id}`)).status).toBe(204);
    });

    it("lets members of a manage-policy-overrides team override a stage awaiting an override", async () => {
      const ws = await createWorkspace(env.admin, org);
      await env.admin.post(`/workspaces/${ws}/tasks`, workspaceTaskBody(await createTask(), { stages: ["post_plan"], "enforcement-level": "mandatory" }));
      const runId = await createRun(ws);
      const stage = await env.db.taskStage.findFirstOrThrow({ where: { runId, stage: "post_plan" } });
      await env.db.taskStage.update({ where: { id: stage.id }, data: { status: "awaiting_override" } });

      const runTasksOnly = await memberOfTeam({ "manage-run-tasks": true });
      await grantAccess(env.admin, runTasksOnly.teamId, ws, "read");
      const overrider = await memberOfTeam({ "manage-policy-overrides": true });
      await grantAccess(env.admin, overrider.teamId, ws, "read");

      const refusedView = await runTasksOnly.client.get(`/task-stages/${stage.id}`);
      expect(refusedView.body.data.attributes.permissions["can-override"]).toBe(false);
      expect((await runTasksOnly.client.post(`/task-stages/${stage.id}/actions/override`, {})).status).toBe(403);
      expect((await env.db.taskStage.findUniqueOrThrow({ where: { id: stage.id } })).status).toBe("awaiting_override");

      const shown = await overrider.client.get(`/task-stages/${stage.id}`);
      expect(shown.body.data.attributes.permissions["can-override"]).toBe(true);
      expect(shown.body.data.attributes.actions["is-overridable"]).toBe(true);
      const overridden = await overrider.client.post(`/task-stages/${stage.id}/actions/override`, {});
      expect(overridden.status).toBe(200);
      expect(overridden.body.data.attributes.status).toBe("passed");
      expect((await env.db.taskStage.findUniqueOrThrow({ where: { id: stage.id } })).overriddenById).toBe(overrider.id);
    });
  });
});
