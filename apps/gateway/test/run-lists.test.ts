import { ApiClient } from "@tarmac/testing";
import {
  createConfigurationVersion,
  createOrganization,
  createOrganizationToken,
  createTeam,
  createWorkspace,
  runBody,
  setRunStatus,
  startRunsTestEnv,
  userWithAccess,
  type RunsTestEnv,
} from "./run-fixtures";

let env: RunsTestEnv;
let org: { id: string; name: string };
let wsA: { id: string; name: string };
let wsB: { id: string; name: string };
/** Runs of wsA, oldest first. */
const runsA: string[] = [];
let speculativeA: string;
let runB: string;

async function newRun(wsId: string, attrs: Record<string, unknown> = {}): Promise<string> {
  const res = await env.admin.post("/runs", runBody(wsId, attrs));
  expect(res.status).toBe(201);
  return res.body.data.id as string;
}

beforeAll(async () => {
  env = await startRunsTestEnv();
  org = await createOrganization(env.db);
  wsA = await createWorkspace(env.db, org.id, { name: "alpha" });
  wsB = await createWorkspace(env.db, org.id, { name: "beta" });
  await createConfigurationVersion(env.db, wsA.id);
  await createConfigurationVersion(env.db, wsB.id);
  for (let i = 0; i < 5; i++) runsA.push(await newRun(wsA.id, { message: `change number ${i}` }));
  speculativeA = await newRun(wsA.id, { "plan-only": true, message: "speculative" });
  runB = await newRun(wsB.id, { "is-destroy": true });
  await setRunStatus(env.db, runsA[0]!, "applied");
  await setRunStatus(env.db, runsA[1]!, "planned", { hasChanges: true, source: "tfe-ui", agentPoolName: "pool-1" });
  await setRunStatus(env.db, runsA[2]!, "errored", { vcsUsername: "Octocat", commitSha: "abc123def456" });
  await setRunStatus(env.db, runsA[3]!, "pending", { vcsUsername: "someone", commitSha: "fff000" });
}, 60_000);

afterAll(async () => {
  await env?.close();
});

const ids = (res: { body: { data: { id: string }[] } }) => res.body.data.map((r) => r.id);

describe("GET /workspaces/:id/runs", () => {
  it("lists newest first with totals and leaves out plan-only runs by default", async () => {
    const res = await env.admin.get(`/workspaces/${wsA.id}/runs`);
    expect(res.status).toBe(200);
    expect(ids(res)).toEqual([...runsA].reverse());
    expect(res.body.meta.pagination).toEqual({
      "current-page": 1,
      "page-size": 20,
      "prev-page": null,
      "next-page": null,
      "total-pages": 1,
      "total-count": 5,
    });
    expect(res.body.links.self).toContain(`${env.gateway.url}/api/v2/workspaces/${wsA.id}/runs?`);
    expect(res.body.data[0].attributes.permissions).toBeDefined();
  });

  it("includes plan-only runs when filter[operation] asks for them", async () => {
    const all = await env.admin.get(`/workspaces/${wsA.id}/runs?filter%5Boperation%5D=plan_only,plan_and_apply`);
    expect(ids(all)).toEqual([speculativeA, ...[...runsA].reverse()]);
    const only = await env.admin.get(`/workspaces/${wsA.id}/runs?filter[operation]=plan_only`);
    expect(ids(only)).toEqual([speculativeA]);
    const unknown = await env.admin.get(`/workspaces/${wsA.id}/runs?filter[operation]=nonsense`);
    expect(unknown.status).toBe(200);
    expect(ids(unknown)).toEqual([]);
  });

  it("paginates: page size, next/prev, a page past the end, and a size over 100 clamped", async () => {
    const p1 = await env.admin.get(`/workspaces/${wsA.id}/runs?page[size]=2`);
    expect(ids(p1)).toEqual([runsA[4], runsA[3]]);
    expect(p1.body.meta.pagination).toMatchObject({ "current-page": 1, "next-page": 2, "prev-page": null, "total-pages": 3, "total-count": 5 });
    const p3 = await env.admin.get(`/workspaces/${wsA.id}/runs?page[size]=2&page[number]=3`);
    expect(ids(p3)).toEqual([runsA[0]]);
    expect(p3.body.meta.pagination).toMatchObject({ "next-page": null, "prev-page": 2 });
    const past = await env.admin.get(`/workspaces/${wsA.id}/runs?page[size]=2&page[number]=9`);
    expect(past.status).toBe(200);
    expect(ids(past)).toEqual([]);
    expect(past.body.meta.pagination).toMatchObject({ "current-page": 9, "total-count": 5, "next-page": null });
    const big = await env.admin.get(`/workspaces/${wsA.id}/runs?page[size]=500`);
    expect(big.body.meta.pagination["page-size"]).toBe(100);
    const junk = await env.admin.get(`/workspaces/${wsA.id}/runs?page[size]=abc&page[number]=-1`);
    expect(junk.status).toBe(200);
    expect(junk.body.meta.pagination).toMatchObject({ "current-page": 1, "page-size": 20 });
  });

  it("filters by status, status group, source and agent pool", async () => {
    expect(ids(await env.admin.get(`/workspaces/${wsA.id}/runs?filter[status]=applied,errored`))).toEqual([runsA[2], runsA[0]]);
    expect(ids(await env.admin.get(`/workspaces/${wsA.id}/runs?filter[status]=bogus`))).toEqual([]);
    expect(ids(await env.admin.get(`/workspaces/${wsA.id}/runs?filter[status_group]=final`))).toEqual([runsA[2], runsA[0]]);
    expect(ids(await env.admin.get(`/workspaces/${wsA.id}/runs?filter[status_group]=discardable`))).toEqual([runsA[1]]);
    expect(ids(await env.admin.get(`/workspaces/${wsA.id}/runs?filter[status_group]=non_final`))).toEqual([runsA[4], runsA[3], runsA[1]]);
    expect(ids(await env.admin.get(`/workspaces/${wsA.id}/runs?filter[status_group]=weird`))).toEqual([]);
    expect(ids(await env.admin.get(`/workspaces/${wsA.id}/runs?filter[status_group]=final&filter[status]=applied,planned`))).toEqual([runsA[0]]);
    expect(ids(await env.admin.get(`/workspaces/${wsA.id}/runs?filter[source]=tfe-ui`))).toEqual([runsA[1]]);
    expect(ids(await env.admin.get(`/workspaces/${wsA.id}/runs?filter[source]=tfe-api`))).toHaveLength(4);
    expect(ids(await env.admin.get(`/workspaces/${wsA.id}/runs?filter[agent_pool_names]=pool-1,pool-2`))).toEqual([runsA[1]]);
  });

  it("searches by user, commit, and basic (run id, message, user, commit); user/commit win over basic", async () => {
    expect(ids(await env.admin.get(`/workspaces/${wsA.id}/runs?search[user]=octocat`))).toEqual([runsA[2]]);
    expect(ids(await env.admin.get(`/workspaces/${wsA.id}/runs?search[commit]=abc123`))).toEqual([runsA[2]]);
    expect(ids(await env.admin.get(`/workspaces/${wsA.id}/runs?search[basic]=number%203`))).toEqual([runsA[3]]);
    expect(ids(await env.admin.get(`/workspaces/${wsA.id}/runs?search[basic]=${runsA[4]}`))).toEqual([runsA[4]]);
    expect(ids(await env.admin.get(`/workspaces/${wsA.id}/runs?search[basic]=fff000`))).toEqual([runsA[3]]);
    expect(ids(await env.admin.get(`/workspaces/${wsA.id}/runs?search[basic]=SOMEONE`))).toEqual([runsA[3]]);
    expect(ids(await env.admin.get(`/workspaces/${wsA.id}/runs?search[basic]=number%203&search[user]=octocat`))).toEqual([runsA[2]]);
  });

  it("reports live positions in the queue for pending runs", async () => {
    const res = await env.admin.get(`/workspaces/${wsA.id}/runs`);
    const pos = Object.fromEntries(res.body.data.map((r: any) => [r.id, r.attributes["position-in-queue"]]));
    // Ahead of runsA[3]: runsA[1] (planned). Ahead of runsA[4]: runsA[1] and runsA[3].
    expect(pos[runsA[3]!]).toBe(1);
    expect(pos[runsA[4]!]).toBe(2);
    expect(pos[runsA[1]!]).toBe(0);
  });

  it("gives saved-plan runs no queue position and does not count an unconfirmed saved plan ahead", async () => {
    const ws = await createWorkspace(env.db, (await createOrganization(env.db)).id);
    await createConfigurationVersion(env.db, ws.id);
    const saved = await newRun(ws.id, { "save-plan": true });
    await setRunStatus(env.db, saved, "planned_and_saved", { hasChanges: true });
    const holder = await newRun(ws.id);
    await setRunStatus(env.db, holder, "applying");
    const savedPending = await newRun(ws.id, { "save-plan": true });
    const waiting = await newRun(ws.id);
    const res = await env.admin.get(`/workspaces/${ws.id}/runs`);
    const pos = Object.fromEntries(res.body.data.map((r: any) => [r.id, r.attributes["position-in-queue"]]));
    expect(pos).toEqual({ [saved]: 0, [holder]: 0, [savedPending]: 0, [waiting]: 1 });
  });

  it("includes related resources on lists and ignores unknown include values", async () => {
    const res = await env.admin.get(`/workspaces/${wsA.id}/runs?page[size]=2&include=plan,workspace,bogus`);
    expect(res.status).toBe(200);
    const types = res.body.included.map((r: any) => r.type).sort();
    expect(types).toEqual(["plans", "plans", "workspaces"]);
  });

  it("404s a workspace the token cannot read", async () => {
    const other = await createOrganization(env.db);
    const outsider = await userWithAccess(env.db, other.id, (await createWorkspace(env.db, other.id)).id, "admin");
    expect((await new ApiClient(env.gateway.url, outsider.token).get(`/workspaces/${wsA.id}/runs`)).status).toBe(404);
    expect((await env.admin.get(`/workspaces/ws-doesNotExist12345/runs`)).status).toBe(404);
  });
});

describe("GET /organizations/:name/runs", () => {
  it("lists every workspace's runs (plan-only included) without totals", async () => {
    const res = await env.admin.get(`/organizations/${org.name}/runs`);
    expect(res.status).toBe(200);
    expect(ids(res)).toEqual([runB, speculativeA, ...[...runsA].reverse()]);
    expect(res.body.meta.pagination).toEqual({ "current-page": 1, "page-size": 20, "prev-page": null, "next-page": null });
    expect(res.body.links).not.toHaveProperty("last");
  });

  it("pages with next/prev only", async () => {
    const p1 = await env.admin.get(`/organizations/${org.name}/runs?page[size]=3`);
    expect(ids(p1)).toEqual([runB, speculativeA, runsA[4]]);
    expect(p1.body.meta.pagination).toEqual({ "current-page": 1, "page-size": 3, "prev-page": null, "next-page": 2 });
    const p3 = await env.admin.get(`/organizations/${org.name}/runs?page[size]=3&page[number]=3`);
    expect(ids(p3)).toEqual([runsA[0]]);
    expect(p3.body.meta.pagination).toEqual({ "current-page": 3, "page-size": 3, "prev-page": 2, "next-page": null });
    expect(p3.body.links.next).toBeNull();
  });

  it("filters by workspace names, operation and status", async () => {
    expect(ids(await env.admin.get(`/organizations/${org.name}/runs?filter[workspace_names]=beta`))).toEqual([runB]);
    expect(ids(await env.admin.get(`/organizations/${org.name}/runs?filter[operation]=destroy`))).toEqual([runB]);
    expect(ids(await env.admin.get(`/organizations/${org.name}/runs?filter[status]=applied`))).toEqual([runsA[0]]);
    expect(ids(await env.admin.get(`/organizations/${org.name}/runs?search[user]=octo`))).toEqual([runsA[2]]);
  });

  it("shows a member only the workspaces its teams can read, with matching permissions", async () => {
    const reader = await userWithAccess(env.db, org.id, wsB.id, "read");
    const res = await new ApiClient(env.gateway.url, reader.token).get(`/organizations/${org.name}/runs`);
    expect(ids(res)).toEqual([runB]);
    expect(res.body.data[0].attributes.permissions["can-apply"]).toBe(false);
    const team = await createTeam(env.db, org.id, { access: [{ workspaceId: wsA.id, access: "write" }] });
    const asTeam = await new ApiClient(env.gateway.url, team.token).get(`/organizations/${org.name}/runs?filter[operation]=plan_only`);
    expect(ids(asTeam)).toEqual([speculativeA]);
    const nobody = await userWithAccess(env.db, org.id, wsB.id, "read");
    await env.db.teamWorkspaceAccess.deleteMany({ where: { team: { memberships: { some: { userId: nobody.userId } } } } });
    const empty = await new ApiClient(env.gateway.url, nobody.token).get(`/organizations/${org.name}/runs`);
    expect(empty.status).toBe(200);
    expect(ids(empty)).toEqual([]);
  });

  it("lets the organization token read every run but act on none", async () => {
    const token = await createOrganizationToken(env.db, org.id);
    const res = await new ApiClient(env.gateway.url, token).get(`/organizations/${org.name}/runs?page[size]=1`);
    expect(res.status).toBe(200);
    expect(res.body.data[0].attributes.permissions).toMatchObject({ "can-apply": false, "can-cancel": false, "can-discard": false });
  });

  it("404s an unknown organization and one the token is not part of", async () => {
    expect((await env.admin.get(`/organizations/no-such-org/runs`)).status).toBe(404);
    const other = await createOrganization(env.db);
    const outsider = await userWithAccess(env.db, other.id, (await createWorkspace(env.db, other.id)).id, "admin");
    expect((await new ApiClient(env.gateway.url, outsider.token).get(`/organizations/${org.name}/runs`)).status).toBe(404);
  });
});

describe("organization queue and capacity", () => {
  it("lists queued and running runs oldest first with positions, and counts capacity", async () => {
    const qOrg = await createOrganization(env.db);
    const ws1 = await createWorkspace(env.db, qOrg.id);
    const ws2 = await createWorkspace(env.db, qOrg.id);
    await createConfigurationVersion(env.db, ws1.id);
    await createConfigurationVersion(env.db, ws2.id);
    const running = await newRun(ws1.id);
    const queued1 = await newRun(ws2.id);
    const pending = await newRun(ws1.id);
    const queued2 = await newRun(ws2.id, { "plan-only": true });
    await setRunStatus(env.db, running, "planning");
    await setRunStatus(env.db, queued1, "plan_queued");
    await setRunStatus(env.db, queued2, "plan_queued");
    const res = await env.admin.get(`/organizations/${qOrg.name}/runs/queue`);
    expect(res.status).toBe(200);
    expect(ids(res)).toEqual([running, queued1, queued2]);
    expect(res.body.data.map((r: any) => r.attributes["position-in-queue"])).toEqual([0, 0, 1]);
    expect(res.body.meta.pagination).toMatchObject({ "total-count": 3, "total-pages": 1 });
    expect(ids(res)).not.toContain(pending);

    const cap = await env.admin.get(`/organizations/${qOrg.name}/capacity`);
    expect(cap.status).toBe(200);
    expect(cap.body.data).toEqual(
      expect.objectContaining({ id: qOrg.name, type: "organization-capacity", attributes: { pending: 2, running: 1 } }),
    );
    expect((await env.admin.get(`/organizations/nope-nope/capacity`)).status).toBe(404);
    expect((await env.admin.get(`/organizations/nope-nope/runs/queue`)).status).toBe(404);
  });
});
