import { Redis } from "ioredis";
import { liveLogKey } from "@tarmac/contracts";
import { putBlob } from "@tarmac/db";
import { newId } from "@tarmac/domain";
import { ApiClient } from "@tarmac/testing";
import {
  createConfigurationVersion,
  createOrganization,
  createOrganizationToken,
  createWorkspace,
  runBody,
  setRunStatus,
  startRunsTestEnv,
  userWithAccess,
  type RunsTestEnv,
} from "./run-fixtures";

let env: RunsTestEnv;
let redis: Redis;
let org: { id: string; name: string };
let wsId: string;

beforeAll(async () => {
  env = await startRunsTestEnv();
  redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
  org = await createOrganization(env.db);
  wsId = (await createWorkspace(env.db, org.id)).id;
  await createConfigurationVersion(env.db, wsId);
}, 60_000);

afterAll(async () => {
  await redis?.quit();
  await env?.close();
});

async function newRun(): Promise<{ id: string; planId: string; applyId: string }> {
  const res = await env.admin.post("/runs", runBody(wsId));
  expect(res.status).toBe(201);
  const run = res.body.data;
  return { id: run.id, planId: run.relationships.plan.data.id, applyId: run.relationships.apply.data.id };
}

/** A log URL as a client would call it: the whole query replaced (notes §3.4). */
async function readLog(url: string, offset: number, limit: number): Promise<{ status: number; bytes: Buffer; type: string | null }> {
  const u = new URL(url);
  u.search = `limit=${limit}&offset=${offset}`;
  const res = await fetch(u);
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), type: res.headers.get("content-type") };
}

describe("plans and applies", () => {
  it("serves a plan by id and through its run, with an absolute log-read-url from creation", async () => {
    const run = await newRun();
    const byId = await env.admin.get(`/plans/${run.planId}`);
    expect(byId.status).toBe(200);
    const plan = byId.body.data;
    expect(plan).toMatchObject({
      id: run.planId,
      type: "plans",
      attributes: {
        status: "pending",
        "has-changes": false,
        "resource-additions": 0,
        "resource-changes": 0,
        "resource-destructions": 0,
        "resource-imports": 0,
        "execution-details": { mode: "remote" },
        "structured-run-output-enabled": false,
      },
      relationships: { "state-versions": { data: [] } },
      links: { self: `/api/v2/plans/${run.planId}`, "json-output": `/api/v2/plans/${run.planId}/json-output` },
    });
    expect(plan.attributes["log-read-url"]).toMatch(new RegExp(`^${env.gateway.url}/_archivist/logs/${run.planId}/[0-9a-z]+\\.[A-Za-z0-9_-]{43}$`));
    expect(plan.attributes["status-timestamps"]).toHaveProperty("pending-at");
    const viaRun = await env.admin.get(`/runs/${run.id}/plan`);
    // Each answer mints its own log URL, whose expiry moves with the clock's second.
    const { "log-read-url": viaRunLogUrl, ...viaRunRest } = viaRun.body.data.attributes;
    const { "log-read-url": _byIdLogUrl, ...byIdRest } = plan.attributes;
    expect({ ...viaRun.body.data, attributes: viaRunRest }).toEqual({ ...plan, attributes: byIdRest });
    expect(viaRunLogUrl).toMatch(new RegExp(`^${env.gateway.url}/_archivist/logs/${run.planId}/[0-9a-z]+\\.[A-Za-z0-9_-]{43}$`));
  });

  it("serves an apply by id and through its run, with the state versions it wrote", async () => {
    const run = await newRun();
    const sv = newId("sv");
    await env.db.stateVersion.create({ data: { id: sv, workspaceId: wsId, runId: run.id, serial: 1 } });
    await env.db.apply.update({ where: { id: run.applyId }, data: { status: "finished", resourceAdditions: 3 } });
    const res = await env.admin.get(`/applies/${run.applyId}`);
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      id: run.applyId,
      type: "applies",
      attributes: { status: "finished", "resource-additions": 3, "execution-details": { mode: "remote" } },
      relationships: { "state-versions": { data: [{ type: "state-versions", id: sv }] } },
    });
    expect(res.body.data.attributes["log-read-url"]).toContain(`/_archivist/logs/${run.applyId}/`);
    expect((await env.admin.get(`/runs/${run.id}/apply`)).body.data.id).toBe(run.applyId);
  });

  it("404s unknown plans and applies, malformed ids, and a reader of another organization", async () => {
    const run = await newRun();
    expect((await env.admin.get(`/plans/plan-doesNotExist12345`)).status).toBe(404);
    expect((await env.admin.get(`/plans/garbage`)).status).toBe(404);
    expect((await env.admin.get(`/applies/apply-doesNotExist12345`)).status).toBe(404);
    expect((await env.admin.get(`/runs/run-doesNotExist12345/plan`)).status).toBe(404);
    const other = await createOrganization(env.db);
    const outsider = await userWithAccess(env.db, other.id, (await createWorkspace(env.db, other.id)).id, "admin");
    expect((await new ApiClient(env.gateway.url, outsider.token).get(`/plans/${run.planId}`)).status).toBe(404);
    const reader = await userWithAccess(env.db, org.id, wsId, "read");
    expect((await new ApiClient(env.gateway.url, reader.token).get(`/applies/${run.applyId}`)).status).toBe(200);
  });

  it("answers 204 for the JSON plan until the plan has finished, then its bytes; admin only, organization tokens 404", async () => {
    const run = await newRun();
    expect((await env.admin.get(`/plans/${run.planId}/json-output`)).status).toBe(204);
    expect((await env.admin.get(`/runs/${run.id}/plan/json-output`)).status).toBe(204);
    const json = JSON.stringify({ format_version: "1.2", resource_changes: [] });
    const blobId = await putBlob(env.db, Buffer.from(json), "application/json");
    await env.db.plan.update({ where: { id: run.planId }, data: { status: "finished", jsonBlobId: blobId } });
    expect((await env.admin.get(`/plans/${run.planId}/json-output-redacted`)).status).toBe(200);
    for (const path of [`/plans/${run.planId}/json-output`, `/runs/${run.id}/plan/json-output`]) {
      const res = await env.admin.get(path);
      expect([path, res.status]).toEqual([path, 200]);
      expect(res.text).toBe(json);
      expect(res.headers.get("content-type")).toContain("application/json");
    }
    const writer = await userWithAccess(env.db, org.id, wsId, "write");
    expect((await new ApiClient(env.gateway.url, writer.token).get(`/plans/${run.planId}/json-output`)).status).toBe(404);
    expect((await new ApiClient(env.gateway.url, writer.token).get(`/plans/${run.planId}/json-output-redacted`)).status).toBe(200);
    const orgToken = await createOrganizationToken(env.db, org.id);
    expect((await new ApiClient(env.gateway.url, orgToken).get(`/plans/${run.planId}/json-output`)).status).toBe(404);
  });

  it("serves the redacted plan as terraform's jsonformat.Plan: 204 until finished, 422 without the schemas its changes need", async () => {
    const run = await newRun();
    expect((await env.admin.get(`/plans/${run.planId}/json-output-redacted`)).status).toBe(204);
    const provider = "registry.terraform.io/hashicorp/null";
    const plan = {
      format_version: "1.2",
      variables: { pw: { value: "s3cret" } },
      resource_changes: [
        {
          address: "null_resource.a",
          mode: "managed",
          type: "null_resource",
          name: "a",
          provider_name: provider,
          change: { actions: ["create"], before: null, after: { triggers: { pw: "s3cret" } }, after_unknown: { id: true }, before_sensitive: false, after_sensitive: { triggers: { pw: true } } },
        },
      ],
    };
    const jsonBlobId = await putBlob(env.db, Buffer.from(JSON.stringify(plan)), "application/json");
    await env.db.plan.update({ where: { id: run.planId }, data: { status: "finished", jsonBlobId } });
    const refused = await env.admin.get(`/plans/${run.planId}/json-output-redacted`);
    expect(refused.status).toBe(422);
    expect(refused.body.errors[0].detail).toContain("null_resource.a");

    const schemas = { format_version: "1.0", provider_schemas: { [provider]: { provider: { version: 0 }, resource_schemas: { null_resource: { version: 0, block: { attributes: { id: { type: "string", computed: true } } } } } } } };
    const providerSchemasBlobId = await putBlob(env.db, Buffer.from(JSON.stringify(schemas)), "application/json");
    await env.db.plan.update({ where: { id: run.planId }, data: { providerSchemasBlobId } });
    const res = await env.admin.get(`/plans/${run.planId}/json-output-redacted`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("application/json");
    expect(res.text).not.toContain("s3cret");
    expect(res.body).toEqual({
      plan_format_version: "1.2",
      resource_changes: [{ ...plan.resource_changes[0], change: { ...plan.resource_changes[0]!.change, after: { triggers: { pw: "(sensitive value, changed)" } } } }],
      provider_format_version: "1.0",
      provider_schemas: schemas.provider_schemas,
    });
  });
});

describe("log reads", () => {
  it("answers an empty 200 before any bytes exist, then serves offset/limit from Redis, then from the blob", async () => {
    const run = await newRun();
    const url = (await env.admin.get(`/plans/${run.planId}`)).body.data.attributes["log-read-url"] as string;
    const empty = await readLog(url, 0, 65536);
    expect(empty.status).toBe(200);
    expect(empty.bytes.length).toBe(0);
    expect(empty.type).toContain("text/plain");

    const live = Buffer.concat([Buffer.from([0x02]), Buffer.from("Terraform plan line 1\nline 2\n")]);
    await redis.set(liveLogKey(run.planId), live);
    try {
      expect((await readLog(url, 0, 65536)).bytes).toEqual(live);
      expect((await readLog(url, 1, 9)).bytes.toString()).toBe("Terraform");
      expect((await readLog(url, live.length, 100)).bytes.length).toBe(0);
      // Invalid numbers read as offset 0 and the default limit.
      const u = new URL(url);
      u.search = "offset=abc&limit=-4";
      expect(Buffer.from(await (await fetch(u)).arrayBuffer())).toEqual(live);

      const full = Buffer.concat([live, Buffer.from("done\n"), Buffer.from([0x03])]);
      const blobId = await putBlob(env.db, full, "text/plain");
      await env.db.plan.update({ where: { id: run.planId }, data: { logBlobId: blobId, status: "finished" } });
      const whole = await readLog(url, 0, 65536);
      expect(whole.bytes).toEqual(full);
      expect(whole.bytes[0]).toBe(0x02);
      expect(whole.bytes[whole.bytes.length - 1]).toBe(0x03);
      expect((await readLog(url, live.length, 5)).bytes.toString()).toBe("done\n");
      expect((await readLog(url, full.length - 1, 10)).bytes).toEqual(Buffer.from([0x03]));
      expect((await readLog(url, full.length + 10, 10)).bytes.length).toBe(0);
      const huge = await readLog(url, 99_999_999_999, 10);
      expect([huge.status, huge.bytes.length]).toEqual([200, 0]);
    } finally {
      await redis.del(liveLogKey(run.planId));
    }
  });

  it("needs no bearer token but 404s a wrong secret, a secret of another phase, and an unknown phase", async () => {
    const run = await newRun();
    const planUrl = (await env.admin.get(`/plans/${run.planId}`)).body.data.attributes["log-read-url"] as string;
    const applyUrl = (await env.admin.get(`/applies/${run.applyId}`)).body.data.attributes["log-read-url"] as string;
    expect((await readLog(applyUrl, 0, 10)).status).toBe(200);
    const secret = planUrl.split("/").pop()!;
    expect((await fetch(`${env.gateway.url}/_archivist/logs/${run.planId}/wrong-secret`)).status).toBe(404);
    expect((await fetch(`${env.gateway.url}/_archivist/logs/${run.applyId}/${secret}`)).status).toBe(404);
    expect((await fetch(`${env.gateway.url}/_archivist/logs/plan-doesNotExist12345/${secret}`)).status).toBe(404);
  });
});

describe("GET /runs/:id includes", () => {
  it("includes plan, apply, created_by, configuration_version, workspace; task_stages and unknown values are ignored", async () => {
    const run = await newRun();
    const res = await env.admin.get(
      `/runs/${run.id}?include=plan,apply,created_by,cost_estimate,configuration_version,configuration_version.ingress_attributes,workspace,task_stages,tf_policy_evaluations,nonsense`,
    );
    expect(res.status).toBe(200);
    const byType = Object.fromEntries(res.body.included.map((r: any) => [r.type, r]));
    expect(Object.keys(byType).sort()).toEqual(["applies", "configuration-versions", "plans", "users", "workspaces"]);
    expect(byType["configuration-versions"].relationships["ingress-attributes"].data).toBeNull();
    expect(byType.workspaces.attributes.permissions["can-queue-run"]).toBe(true);
    expect(byType.users.attributes.username).toBe("admin");
    expect(byType.users.attributes.email).toBe("admin@tarmac.local");
    const reader = await userWithAccess(env.db, org.id, wsId, "read");
    const asReader = await new ApiClient(env.gateway.url, reader.token).get(`/runs/${run.id}?include=created_by`);
    expect(asReader.body.included[0].attributes.email).toBeNull();
    expect(res.body.data.relationships["cost-estimate"].data).toBeNull();
  });

  it("shows and includes a cost estimate once one exists, and serves it", async () => {
    const run = await newRun();
    const ce = newId("ce");
    await env.db.costEstimate.create({
      data: { id: ce, runId: run.id, status: "finished", resourcesCount: 4, matchedResourcesCount: 3, unmatchedResourcesCount: 1, proposedMonthlyCost: "12.34", deltaMonthlyCost: "12.34" },
    });
    const res = await env.admin.get(`/runs/${run.id}?include=cost_estimate`);
    expect(res.body.data.relationships["cost-estimate"].data).toEqual({ type: "cost-estimates", id: ce });
    expect(res.body.included).toHaveLength(1);
    const got = await env.admin.get(`/cost-estimates/${ce}`);
    expect(got.status).toBe(200);
    expect(got.body.data).toMatchObject({
      id: ce,
      type: "cost-estimates",
      attributes: {
        status: "finished",
        "resources-count": 4,
        "matched-resources-count": 3,
        "unmatched-resources-count": 1,
        "prior-monthly-cost": "0.00",
        "proposed-monthly-cost": "12.34",
        "delta-monthly-cost": "12.34",
        "error-message": null,
      },
    });
    expect((await env.admin.get(`/cost-estimates/ce-doesNotExist12345`)).status).toBe(404);
  });

  it("404s an unknown run", async () => {
    expect((await env.admin.get(`/runs/run-doesNotExist12345`)).status).toBe(404);
  });
});

describe("run events, comments and task stages", () => {
  it("lists run events and serves one, with actor and comment includes", async () => {
    const run = await newRun();
    // A comment writes its event here; actions' events are the scheduler's (no scheduler runs here).
    expect((await env.admin.post(`/runs/${run.id}/comments`, { data: { type: "comments", attributes: { body: "nope" } } })).status).toBe(201);
    const list = await env.admin.get(`/runs/${run.id}/run-events?include=actor,comment`);
    expect(list.status).toBe(200);
    expect(list.body.data.map((e: any) => e.attributes.action)).toEqual(["created", "commented"]);
    expect(list.body.data[1]).toMatchObject({
      type: "run-events",
      attributes: { "created-at": expect.any(String) },
      relationships: { actor: { data: { type: "users" } }, comment: { data: { type: "comments" } } },
    });
    expect(list.body.meta.pagination["total-count"]).toBe(2);
    expect(list.body.included.map((r: any) => r.type).sort()).toEqual(["comments", "users"]);
    const one = await env.admin.get(`/run-events/${list.body.data[0].id}`);
    expect(one.status).toBe(200);
    expect(one.body.data.id).toBe(list.body.data[0].id);
    expect((await env.admin.get(`/run-events/re-doesNotExist12345`)).status).toBe(404);
  });

  it("creates comments with a commented event, lists and serves them; plan access needed", async () => {
    const run = await newRun();
    const res = await env.admin.post(`/runs/${run.id}/comments`, { data: { type: "comments", attributes: { body: "looks good" } } });
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ type: "comments", attributes: { body: "looks good" }, relationships: { "run-event": { data: { type: "run-events" } } } });
    const events = await env.admin.get(`/runs/${run.id}/run-events`);
    expect(events.body.data.map((e: any) => e.attributes.action)).toEqual(["created", "commented"]);
    const list = await env.admin.get(`/runs/${run.id}/comments`);
    expect(list.body.data.map((c: any) => c.id)).toEqual([res.body.data.id]);
    expect((await env.admin.get(`/comments/${res.body.data.id}`)).body.data.attributes.body).toBe("looks good");
    expect((await env.admin.get(`/comments/wsc-doesNotExist12345`)).status).toBe(404);
    expect((await env.admin.get(`/runs/${run.id}`)).body.data.relationships.comments.data).toHaveLength(1);

    expect((await env.admin.post(`/runs/${run.id}/comments`, { data: { attributes: { body: "" } } })).status).toBe(422);
    expect((await env.admin.post(`/runs/${run.id}/comments`, { data: { attributes: { body: 7 } } })).status).toBe(422);
    expect((await env.admin.post(`/runs/${run.id}/comments`, "nope")).status).toBe(422);
    const reader = await userWithAccess(env.db, org.id, wsId, "read");
    expect((await new ApiClient(env.gateway.url, reader.token).post(`/runs/${run.id}/comments`, { data: { attributes: { body: "hi" } } })).status).toBe(404);
    const planner = await userWithAccess(env.db, org.id, wsId, "plan");
    expect((await new ApiClient(env.gateway.url, planner.token).post(`/runs/${run.id}/comments`, { data: { attributes: { body: "hi" } } })).status).toBe(201);
  });

  it("answers an empty task-stage list with pagination and 404s any task stage", async () => {
    const run = await newRun();
    const res = await env.admin.get(`/runs/${run.id}/task-stages`);
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([]);
    expect(res.body.meta.pagination).toMatchObject({ "total-count": 0, "current-page": 1 });
    expect((await env.admin.get(`/task-stages/ts-doesNotExist12345`)).status).toBe(404);
    const checks = await env.admin.get(`/runs/${run.id}/policy-checks`);
    expect(checks.status).toBe(200);
    expect(checks.body.data).toEqual([]);
    expect((await env.admin.get(`/runs/run-doesNotExist12345/task-stages`)).status).toBe(404);
  });
});
