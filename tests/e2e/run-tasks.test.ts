import { createHmac } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { waitFor } from "@tarmac/testing";
import { NULL_RESOURCE, startStack, Tfe, type Stack } from "./stack";

/**
 * Run tasks end to end: real gateway, scheduler and worker processes, and integrations played by
 * an HTTP server of this test that receives HCP's request payload, checks its signature and
 * calls back with the access token it was sent, as a real integration would.
 */
const HMAC_KEY = "integration-secret";
const TASK_TIMEOUT_MS = 4_000;

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  payload: Record<string, any>;
  isSignatureValid: boolean | null;
  planJsonStatus?: number;
}

/**
 * Behaviour by path: /pass and /fail call back (running, then the verdict); /silent never does;
 * /hold waits for the test to call {@link Integration.release}.
 */
class Integration {
  readonly received: Received[] = [];
  private server!: Server;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        const signature = req.headers["x-tfc-task-signature"];
        const isSignatureValid = typeof signature === "string" ? signature === createHmac("sha512", HMAC_KEY).update(body).digest("hex") : null;
        const entry: Received = { path: req.url ?? "", headers: req.headers, body, payload: JSON.parse(body), isSignatureValid };
        this.received.push(entry);
        res.writeHead(200).end();
        void this.answer(entry);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private async answer(entry: Received): Promise<void> {
    const verdict = entry.path === "/pass" ? "passed" : entry.path === "/fail" ? "failed" : null;
    if (verdict) await this.report(entry, verdict);
  }

  /** Reports the verdict on every held request of the run (the integration finished its check). */
  async release(runId: string, verdict: "passed" | "failed"): Promise<void> {
    for (const entry of this.forRun(runId).filter((r) => r.path === "/hold")) await this.report(entry, verdict);
  }

  private async report(entry: Received, verdict: "passed" | "failed"): Promise<void> {
    const p = entry.payload;
    const auth = { Authorization: `Bearer ${p.access_token}`, "Content-Type": "application/vnd.api+json" };
    if (p.plan_json_api_url) entry.planJsonStatus = (await fetch(p.plan_json_api_url, { headers: { Authorization: `Bearer ${p.access_token}` } })).status;
    const patch = (attributes: Record<string, unknown>, outcomes?: unknown[]) =>
      fetch(p.task_result_callback_url, {
        method: "PATCH",
        headers: auth,
        body: JSON.stringify({ data: { type: "task-results", attributes, ...(outcomes ? { relationships: { outcomes: { data: outcomes } } } : {}) } }),
      });
    await patch({ status: "running", message: "Checking" });
    const outcome = { type: "task-result-outcomes", attributes: { "outcome-id": "CHK-1", description: `Check ${verdict}`, tags: { Status: [{ label: verdict, level: verdict === "passed" ? "info" : "error" }] } } };
    const res = await patch({ status: verdict, message: `1 ${verdict}`, url: "https://integration.example.com/r/1" }, [outcome]);
    if (res.status !== 200) throw new Error(`callback answered ${res.status}: ${await res.text()}`);
  }

  forRun(runId: string): Received[] {
    return this.received.filter((r) => r.payload.run_id === runId);
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let stack: Stack;
let tfe: Tfe;
const integration = new Integration();

beforeAll(async () => {
  await integration.start();
  stack = await startStack({ env: { TARMAC_RUN_TASK_TIMEOUT_MS: String(TASK_TIMEOUT_MS) } });
  tfe = new Tfe(stack.api);
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  await integration.close();
}, 60_000);

/** A workspace with tasks attached: `[path, stage, enforcement-level, signed]`. */
type Stage = "pre_plan" | "post_plan" | "pre_apply" | "post_apply";

async function workspaceWithTasks(
  tasks: [string, Stage, "mandatory" | "advisory", boolean][],
  workspaceAttributes: Record<string, unknown> = {},
): Promise<{ org: string; wsId: string }> {
  const ws = await tfe.createWorkspace(workspaceAttributes);
  for (const [i, [path, stage, level, signed]] of tasks.entries()) {
    const task = await stack.api.post(`/organizations/${ws.org}/tasks`, {
      data: { type: "tasks", attributes: { name: `task-${i}`, url: `${integration.url}${path}`, ...(signed ? { "hmac-key": HMAC_KEY } : {}) } },
    });
    expect(task.status).toBe(201);
    const attached = await stack.api.post(`/workspaces/${ws.wsId}/tasks`, {
      data: { type: "workspace-tasks", attributes: { stages: [stage], "enforcement-level": level }, relationships: { task: { data: { type: "tasks", id: task.body.data.id } } } },
    });
    expect(attached.status).toBe(201);
  }
  return ws;
}

async function stagesOf(runId: string): Promise<{ stage: string; status: string; results: { status: string; message: string | null }[]; id: string }[]> {
  const run = await stack.api.get(`/runs/${runId}?include=task_stages`);
  const out = [];
  for (const ref of run.body.data.relationships["task-stages"].data as { id: string }[]) {
    const stage = await stack.api.get(`/task-stages/${ref.id}?include=task_results,policy_evaluations`);
    out.push({
      id: ref.id,
      stage: stage.body.data.attributes.stage,
      status: stage.body.data.attributes.status,
      results: (stage.body.included ?? []).map((r: { attributes: { status: string; message: string | null } }) => ({ status: r.attributes.status, message: r.attributes.message })),
    });
  }
  return out;
}

describe("run tasks", () => {
  it("takes a run through pre-plan and post-plan tasks that pass, each sent HCP's signed payload", async () => {
    const { org, wsId } = await workspaceWithTasks([
      ["/pass", "pre_plan", "mandatory", true],
      ["/pass", "post_plan", "mandatory", true],
    ]);
    const cvId = await tfe.upload(wsId, { "main.tf": NULL_RESOURCE });
    const runId = await tfe.createRun(wsId, cvId);
    const run = await tfe.waitForStatus(runId, "post_plan_completed");
    const stamps = Object.keys(run.attributes["status-timestamps"]);
    expect(stamps).toEqual(expect.arrayContaining(["pre-plan-running-at", "pre-plan-completed-at", "post-plan-running-at", "post-plan-completed-at"]));
    expect(await stagesOf(runId)).toMatchObject([
      { stage: "pre_plan", status: "passed", results: [{ status: "passed", message: "1 passed" }] },
      { stage: "post_plan", status: "passed", results: [{ status: "passed", message: "1 passed" }] },
    ]);

    const [pre, post] = integration.forRun(runId);
    expect(integration.forRun(runId)).toHaveLength(2);
    for (const r of [pre!, post!]) {
      expect(r.isSignatureValid).toBe(true);
      expect(r.payload).toMatchObject({
        payload_version: 1,
        run_id: runId,
        workspace_id: wsId,
        organization_name: org,
        is_speculative: false,
        task_result_enforcement_level: "mandatory",
        configuration_version_id: cvId,
        configuration_version_download_url: `${stack.gateway.url}/api/v2/configuration-versions/${cvId}/download`,
        run_message: "e2e",
      });
      expect(r.payload.task_result_callback_url).toBe(`${stack.gateway.url}/api/v2/task-results/${r.payload.task_result_id}/callback`);
    }
    expect(pre!.payload.stage).toBe("pre_plan");
    expect(pre!.payload.plan_json_api_url).toBeUndefined();
    expect(post!.payload.stage).toBe("post_plan");
    expect(post!.payload.plan_json_api_url).toBe(`${stack.gateway.url}/api/v2/plans/plan-${runId.slice(4)}/json-output`);
    // The integration read the JSON plan with its token.
    await waitFor(() => post!.planJsonStatus, { timeoutMs: 5_000, what: "the integration's plan JSON read" });
    expect(post!.planJsonStatus).toBe(200);
    // The pre-plan request came before the plan started, the post-plan one after it finished.
    const plan = (await stack.api.get(`/runs/${runId}/plan`)).body.data.attributes["status-timestamps"];
    expect(Date.parse(run.attributes["status-timestamps"]["pre-plan-completed-at"])).toBeLessThanOrEqual(Date.parse(plan["started-at"]));
    expect(Date.parse(run.attributes["status-timestamps"]["post-plan-running-at"])).toBeGreaterThanOrEqual(Date.parse(plan["finished-at"]) - 1000);

    expect((await tfe.action(runId, "apply")).status).toBe(202);
    await tfe.waitForStatus(runId, "applied");
  }, 120_000);

  it("errors the run when a mandatory pre-plan task fails, before anything is planned", async () => {
    const { wsId } = await workspaceWithTasks([["/fail", "pre_plan", "mandatory", false]]);
    const runId = await tfe.createRun(wsId, await tfe.upload(wsId, { "main.tf": NULL_RESOURCE }));
    await tfe.waitForStatus(runId, "errored");
    expect(await stagesOf(runId)).toMatchObject([{ stage: "pre_plan", status: "failed", results: [{ status: "failed" }] }]);
    expect(integration.forRun(runId)[0]!.headers["x-tfc-task-signature"]).toBeUndefined();
    const plan = await stack.api.get(`/runs/${runId}/plan`);
    expect(plan.body.data.attributes.status).toBe("unreachable");
  }, 60_000);

  it("lets the run go on when only an advisory task fails", async () => {
    const { wsId } = await workspaceWithTasks([
      ["/fail", "pre_plan", "advisory", true],
      ["/pass", "pre_plan", "mandatory", true],
    ]);
    const runId = await tfe.createRun(wsId, await tfe.upload(wsId, { "main.tf": NULL_RESOURCE }));
    await tfe.waitForStatus(runId, "planned");
    expect(await stagesOf(runId)).toMatchObject([{ stage: "pre_plan", status: "passed", results: [{ status: "failed" }, { status: "passed" }] }]);
    expect((await tfe.action(runId, "discard")).status).toBe(202);
  }, 60_000);

  it("errors a task that never reports once its timeout passes, and the run with it when it is mandatory", async () => {
    const { wsId } = await workspaceWithTasks([["/silent", "pre_plan", "mandatory", true]]);
    const runId = await tfe.createRun(wsId, await tfe.upload(wsId, { "main.tf": NULL_RESOURCE }));
    await tfe.waitForStatus(runId, "pre_plan_running");
    const started = Date.now();
    await tfe.waitForStatus(runId, "errored", 30_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(TASK_TIMEOUT_MS - 1_000);
    const [stage] = await stagesOf(runId);
    expect(stage).toMatchObject({ stage: "pre_plan", status: "failed", results: [{ status: "errored" }] });
    expect(stage!.results[0]!.message).toMatch(/did not report a result within 4 seconds/);
    expect(integration.forRun(runId)).toHaveLength(1);
  }, 60_000);

  it("waits for an override when a mandatory post-plan task fails, then goes on once an owner overrides", async () => {
    const { wsId } = await workspaceWithTasks([["/fail", "post_plan", "mandatory", true]]);
    const runId = await tfe.createRun(wsId, await tfe.upload(wsId, { "main.tf": NULL_RESOURCE }));
    const awaiting = await waitFor(
      async () => {
        const [stage] = await stagesOf(runId);
        return stage?.status === "awaiting_override" ? stage : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 300, what: "the post-plan stage to await an override" },
    );
    expect(await tfe.status(runId)).toBe("post_plan_running");
    const shown = await stack.api.get(`/task-stages/${awaiting.id}`);
    expect(shown.body.data.attributes.actions["is-overridable"]).toBe(true);

    const overridden = await stack.api.post(`/task-stages/${awaiting.id}/actions/override`, {});
    expect(overridden.status).toBe(200);
    await tfe.waitForStatus(runId, "post_plan_completed");
    expect((await stagesOf(runId))[0]).toMatchObject({ status: "passed", results: [{ status: "failed" }] });
    expect((await tfe.action(runId, "apply")).status).toBe(202);
    await tfe.waitForStatus(runId, "applied");
  }, 90_000);

  it("errors a plan-only run on a failed mandatory post-plan task: it could never be applied", async () => {
    const { wsId } = await workspaceWithTasks([["/fail", "post_plan", "mandatory", false]]);
    const runId = await tfe.createRun(wsId, await tfe.upload(wsId, { "main.tf": NULL_RESOURCE }, { "auto-queue-runs": false, speculative: true }), { "plan-only": true });
    await tfe.waitForStatus(runId, "errored");
    expect(await stagesOf(runId)).toMatchObject([{ stage: "post_plan", status: "failed" }]);
    expect(integration.forRun(runId)[0]!.payload.is_speculative).toBe(true);
  }, 60_000);
});

/** The run's status timestamps in the order the run met them (by time, then by status order). */
function stampsInOrder(stamps: Record<string, string>, keys: string[]): string[] {
  return keys.filter((k) => stamps[k] !== undefined).sort((a, b) => Date.parse(stamps[a]!) - Date.parse(stamps[b]!) || keys.indexOf(a) - keys.indexOf(b));
}

const APPLY_STAMPS = [
  "confirmed-at",
  "pre-apply-running-at",
  "pre-apply-completed-at",
  "apply-queued-at",
  "applying-at",
  "post-apply-running-at",
  "post-apply-completed-at",
  "applied-at",
];

async function runEventsOf(runId: string): Promise<{ action: string; description: string }[]> {
  const res = await stack.api.get(`/runs/${runId}/run-events`);
  expect(res.status).toBe(200);
  return (res.body.data as { attributes: { action: string; description: string } }[]).map((e) => e.attributes);
}

describe("run tasks around the apply", () => {
  it("takes a confirmed run through pre-apply tasks that pass, applies it, then through post-apply tasks to applied", async () => {
    const { wsId } = await workspaceWithTasks([
      ["/pass", "pre_apply", "mandatory", true],
      ["/pass", "post_apply", "mandatory", true],
    ]);
    const runId = await tfe.createRun(wsId, await tfe.upload(wsId, { "main.tf": NULL_RESOURCE }));
    await tfe.waitForStatus(runId, "planned");
    expect(integration.forRun(runId)).toHaveLength(0);
    expect((await tfe.action(runId, "apply")).status).toBe(202);
    const run = await tfe.waitForStatus(runId, "applied");
    const stamps = run.attributes["status-timestamps"] as Record<string, string>;
    for (const key of APPLY_STAMPS) expect(stamps[key]).toBeDefined();
    expect(stampsInOrder(stamps, APPLY_STAMPS)).toEqual(APPLY_STAMPS);
    expect(await stagesOf(runId)).toMatchObject([
      { stage: "pre_apply", status: "passed", results: [{ status: "passed", message: "1 passed" }] },
      { stage: "post_apply", status: "passed", results: [{ status: "passed", message: "1 passed" }] },
    ]);

    const [pre, post] = integration.forRun(runId);
    expect(integration.forRun(runId)).toHaveLength(2);
    expect(pre!.payload).toMatchObject({ stage: "pre_apply", run_id: runId, task_result_enforcement_level: "mandatory" });
    expect(post!.payload).toMatchObject({ stage: "post_apply", run_id: runId });
    for (const r of [pre!, post!]) {
      expect(r.isSignatureValid).toBe(true);
      expect(r.payload.plan_json_api_url).toBe(`${stack.gateway.url}/api/v2/plans/plan-${runId.slice(4)}/json-output`);
    }
    await waitFor(() => pre!.planJsonStatus, { timeoutMs: 5_000, what: "the integration's plan JSON read" });
    expect(pre!.planJsonStatus).toBe(200);
    // The pre-apply tasks had passed before terraform applied; the post-apply ones ran after it finished.
    const apply = (await stack.api.get(`/runs/${runId}/apply`)).body.data.attributes["status-timestamps"];
    expect(Date.parse(stamps["pre-apply-completed-at"]!)).toBeLessThanOrEqual(Date.parse(apply["started-at"]));
    expect(Date.parse(stamps["post-apply-running-at"]!)).toBeGreaterThanOrEqual(Date.parse(apply["finished-at"]) - 1000);
    expect((await stack.api.get(`/workspaces/${wsId}/current-state-version`)).status).toBe(200);
  }, 90_000);

  it("runs pre-apply tasks for a saved plan once it is confirmed and takes the workspace", async () => {
    const { wsId } = await workspaceWithTasks([["/pass", "pre_apply", "mandatory", false]]);
    const runId = await tfe.createRun(wsId, await tfe.upload(wsId, { "main.tf": NULL_RESOURCE }), { "save-plan": true });
    await tfe.waitForStatus(runId, "planned_and_saved");
    expect(integration.forRun(runId)).toHaveLength(0);
    expect((await tfe.action(runId, "apply")).status).toBe(202);
    const run = await tfe.waitForStatus(runId, "applied");
    const stamps = run.attributes["status-timestamps"] as Record<string, string>;
    expect(stampsInOrder(stamps, ["confirmed-at", "pre-apply-running-at", "pre-apply-completed-at", "apply-queued-at", "applied-at"])).toEqual([
      "confirmed-at",
      "pre-apply-running-at",
      "pre-apply-completed-at",
      "apply-queued-at",
      "applied-at",
    ]);
    expect(integration.forRun(runId).map((r) => r.payload.stage)).toEqual(["pre_apply"]);
  }, 60_000);

  it("errors an auto-applied run before its apply when a mandatory pre-apply task fails", async () => {
    const { wsId } = await workspaceWithTasks([["/fail", "pre_apply", "mandatory", false]], { "auto-apply": true });
    const runId = await tfe.createRun(wsId, await tfe.upload(wsId, { "main.tf": NULL_RESOURCE }));
    const run = await tfe.waitForStatus(runId, "errored");
    expect(run.attributes["status-timestamps"]).toEqual(expect.objectContaining({ "confirmed-at": expect.any(String), "pre-apply-running-at": expect.any(String) }));
    expect(run.attributes["status-timestamps"]["apply-queued-at"]).toBeUndefined();
    expect(await stagesOf(runId)).toMatchObject([{ stage: "pre_apply", status: "failed", results: [{ status: "failed" }] }]);
    // No apply happened: the apply never ran and the workspace has no state.
    expect((await stack.api.get(`/runs/${runId}/apply`)).body.data.attributes.status).toBe("unreachable");
    expect((await stack.api.get(`/workspaces/${wsId}/current-state-version`)).status).toBe(404);
    const events = await runEventsOf(runId);
    expect(events).toContainEqual({ action: "errored", description: expect.stringMatching(/pre-apply run task "task-0" \(failed\)/), "created-at": expect.any(String) });
  }, 60_000);

  it("applies a run whose only failed pre-apply task is advisory", async () => {
    const { wsId } = await workspaceWithTasks([
      ["/fail", "pre_apply", "advisory", false],
      ["/pass", "pre_apply", "mandatory", false],
    ], { "auto-apply": true });
    const runId = await tfe.createRun(wsId, await tfe.upload(wsId, { "main.tf": NULL_RESOURCE }));
    await tfe.waitForStatus(runId, "applied");
    expect(await stagesOf(runId)).toMatchObject([{ stage: "pre_apply", status: "passed", results: [{ status: "failed" }, { status: "passed" }] }]);
  }, 60_000);

  it("cancels a run waiting for its pre-apply tasks (cancelable, not discardable, there)", async () => {
    const { wsId } = await workspaceWithTasks([["/hold", "pre_apply", "mandatory", false]], { "auto-apply": true });
    const runId = await tfe.createRun(wsId, await tfe.upload(wsId, { "main.tf": NULL_RESOURCE }));
    const waiting = await tfe.waitForStatus(runId, "pre_apply_running");
    expect(waiting.attributes.actions).toMatchObject({ "is-cancelable": true, "is-discardable": false, "is-confirmable": false });
    expect((await tfe.action(runId, "discard")).status).toBe(409);
    expect((await tfe.action(runId, "cancel")).status).toBe(202);
    await tfe.waitForStatus(runId, "canceled");
    expect(await stagesOf(runId)).toMatchObject([{ stage: "pre_apply", status: "canceled" }]);
    expect((await stack.api.get(`/runs/${runId}/apply`)).body.data.attributes.status).toBe("unreachable");
  }, 60_000);

  it("ends the run applied when a mandatory post-apply task fails: the apply cannot be undone", async () => {
    const { wsId } = await workspaceWithTasks([["/fail", "post_apply", "mandatory", false]], { "auto-apply": true });
    const runId = await tfe.createRun(wsId, await tfe.upload(wsId, { "main.tf": NULL_RESOURCE }));
    const run = await tfe.waitForStatus(runId, "applied");
    expect(run.attributes["status-timestamps"]["post-apply-completed-at"]).toBeDefined();
    expect(await stagesOf(runId)).toMatchObject([{ stage: "post_apply", status: "failed", results: [{ status: "failed" }] }]);
    expect((await stack.api.get(`/workspaces/${wsId}/current-state-version`)).status).toBe(200);
    const events = await runEventsOf(runId);
    expect(events.map((e) => e.description)).toContainEqual(expect.stringMatching(/post-apply run task "task-0" \(failed\) did not pass; the apply stands/));
  }, 60_000);

  it("holds the workspace while post-apply tasks run: the next run starts only once they finish", async () => {
    const { wsId } = await workspaceWithTasks([["/hold", "post_apply", "mandatory", false]], { "auto-apply": true });
    const first = await tfe.createRun(wsId, await tfe.upload(wsId, { "main.tf": NULL_RESOURCE }));
    const held = await tfe.waitForStatus(first, "post_apply_running");
    expect(held.attributes.actions).toMatchObject({ "is-cancelable": false, "is-discardable": false });
    expect((await tfe.action(first, "cancel")).status).toBe(409);
    const second = await tfe.createRun(wsId, await tfe.upload(wsId, { "main.tf": `${NULL_RESOURCE}resource "null_resource" "b" {}\n` }));
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await tfe.status(second)).toBe("pending");
    const ws = await stack.api.get(`/workspaces/${wsId}`);
    expect(ws.body.data.relationships["current-run"].data.id).toBe(first);

    await integration.release(first, "passed");
    await tfe.waitForStatus(first, "applied");
    await tfe.waitForStatus(second, "post_apply_running");
    const firstApplied = Date.parse((await tfe.run(first)).attributes["status-timestamps"]["applied-at"]);
    const secondStarted = (await tfe.run(second)).attributes["status-timestamps"];
    expect(Date.parse(secondStarted["plan-queued-at"] ?? secondStarted["queuing-at"])).toBeGreaterThanOrEqual(firstApplied);
    await integration.release(second, "passed");
    await tfe.waitForStatus(second, "applied");
  }, 90_000);
});
