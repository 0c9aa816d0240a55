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

/** Behaviour by path: /pass and /fail call back (running, then the verdict); /silent never does. */
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
    if (!verdict) return;
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
async function workspaceWithTasks(tasks: [string, "pre_plan" | "post_plan", "mandatory" | "advisory", boolean][]): Promise<{ org: string; wsId: string }> {
  const ws = await tfe.createWorkspace();
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
