import { randomBytes } from "node:crypto";
import { waitFor } from "@tarmac/testing";
import { NULL_RESOURCE, plansMarked, startOtlpReceiver, startStack, Tfe, type OtlpReceiver, type Stack } from "./stack";

/**
 * The run engine end to end: real gateway, scheduler and worker processes on the machine's
 * PostgreSQL, Redis and NATS, driven only through the TFE API (terraform is the test double).
 */
let stack: Stack;
let otlp: OtlpReceiver;
let tfe: Tfe;

beforeAll(async () => {
  otlp = await startOtlpReceiver();
  stack = await startStack({
    env: {
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
      // Spans leave each process within a fraction of a second instead of the default 5 s.
      OTEL_BSP_SCHEDULE_DELAY: "200",
    },
  });
  tfe = new Tfe(stack.api);
}, 240_000);

afterAll(async () => {
  await stack?.stop();
  await otlp?.close();
}, 60_000);

const hex = (n: number) => randomBytes(n).toString("hex");
const resources = (...names: string[]) => names.map((n) => `resource "null_resource" "${n}" {}\n`).join("");
const slowPlan = (seconds: number, ignoreInterruptSeconds = 0) =>
  JSON.stringify({ plan: { seconds, ignore_interrupt_seconds: ignoreInterruptSeconds } });

describe("one trace", () => {
  it("follows a run from the POST /runs request through the scheduler to the worker's terraform commands", async () => {
    const { wsId } = await tfe.createWorkspace();
    const cvId = await tfe.upload(wsId, { "main.tf": NULL_RESOURCE });
    const traceId = hex(16);
    const runId = await tfe.createRun(wsId, cvId, {}, { traceparent: `00-${traceId}-${hex(8)}-01` });
    await tfe.waitForStatus(runId, "planned");

    const inTrace = () => otlp.spans.filter((s) => s.traceId === traceId);
    const spans = await waitFor(
      () => {
        const found = inTrace();
        const has = (service: string, name: RegExp) => found.some((s) => s.service === service && name.test(s.name));
        // Every span hangs off another span of the trace, except the gateway's request span (its
        // parent is the client's): the context crossed each hop, none started a trace of its own.
        const ids = new Set(found.map((s) => s.spanId));
        const isConnected = found.every((s) => ids.has(s.parentSpanId) || s.service === "tarmac-gateway");
        const hasAll = has("tarmac-gateway", /POST/) && has("tarmac-scheduler", /./) && has("tarmac-worker", /^terraform plan$/) && has("tarmac-worker", /^terraform show$/);
        return hasAll && isConnected ? found : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: `gateway, scheduler and worker spans in trace ${traceId}` },
    ).catch((err: Error) => {
      const seen = inTrace().map((s) => `${s.service}: ${s.name}`);
      throw new Error(`${err.message}\nspans in the trace: ${JSON.stringify(seen)}\nunreadable bodies: ${otlp.unreadable}`);
    });
    const services = new Set(spans.map((s) => s.service));
    expect(services).toEqual(new Set(["tarmac-gateway", "tarmac-scheduler", "tarmac-worker"]));
    expect(spans.filter((s) => s.service === "tarmac-worker").map((s) => s.name)).toEqual(expect.arrayContaining(["terraform init", "terraform plan", "terraform show"]));
    // Each hop's first span is a child of the previous process's span: NATS headers, then the BullMQ job's traceparent.
    const serviceOf = (spanId: string) => spans.find((s) => s.spanId === spanId)?.service;
    const runCreated = spans.find((s) => s.service === "tarmac-scheduler" && s.name.includes("run-created"));
    expect(runCreated && serviceOf(runCreated.parentSpanId)).toBe("tarmac-gateway");
    const planJob = spans.find((s) => s.service === "tarmac-worker" && s.name === "plan job");
    expect(planJob && serviceOf(planJob.parentSpanId)).toBe("tarmac-scheduler");
    expect((await tfe.action(runId, "discard")).status).toBe(202);
  }, 60_000);
});

const isAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const at = (run: { attributes: Record<string, any> }, key: string) => {
  const value = run.attributes["status-timestamps"]?.[key] as string | undefined;
  if (!value) throw new Error(`no ${key} in ${JSON.stringify(run.attributes["status-timestamps"])}`);
  return Date.parse(value);
};

describe("one workspace's runs", () => {
  it("run one at a time in creation order: the second waits for the first's confirmation, a discard lets the third plan", async () => {
    const { wsId } = await tfe.createWorkspace();
    const cv1 = await tfe.upload(wsId, { "main.tf": resources("a") });
    const cv2 = await tfe.upload(wsId, { "main.tf": resources("a", "b") });
    const cv3 = await tfe.upload(wsId, { "main.tf": resources("a", "b", "c") });
    const run1 = await tfe.createRun(wsId, cv1);
    const run2 = await tfe.createRun(wsId, cv2);
    const run3 = await tfe.createRun(wsId, cv3);

    await tfe.waitForStatus(run1, "planned");
    expect(await tfe.status(run2)).toBe("pending");
    expect(await tfe.status(run3)).toBe("pending");

    expect((await tfe.action(run1, "apply", "ship it")).status).toBe(202);
    // The scheduler carries the action out before the gateway answers: the next read shows it.
    expect(["confirmed", "apply_queued", "applying", "applied"]).toContain(await tfe.status(run1));
    const applied1 = await tfe.waitForStatus(run1, "applied");
    const planned2 = await tfe.waitForStatus(run2, "planned");
    expect(planned2.attributes["has-changes"]).toBe(true);
    expect(await tfe.status(run3)).toBe("pending");
    expect(at(planned2, "plan-queued-at")).toBeGreaterThanOrEqual(at(applied1, "applied-at"));

    expect((await tfe.action(run2, "discard", "not this one")).status).toBe(202);
    expect(await tfe.status(run2)).toBe("discarded");
    const discarded2 = await tfe.waitForStatus(run2, "discarded");
    const planned3 = await tfe.waitForStatus(run3, "planned");
    expect(at(planned3, "plan-queued-at")).toBeGreaterThanOrEqual(at(discarded2, "discarded-at"));
    // run2 never applied: run3 still has both b and c to add.
    const plan3 = await stack.api.get(`/plans/${planned3.relationships.plan.data.id}`);
    expect(plan3.body.data.attributes["resource-additions"]).toBe(2);

    expect((await tfe.action(run3, "apply")).status).toBe(202);
    await tfe.waitForStatus(run3, "applied");
    const applies = await Promise.all([run1, run3].map(async (id) => (await stack.api.get(`/runs/${id}/apply`)).body.data.attributes));
    expect(applies.map((a) => a["resource-additions"])).toEqual([1, 2]);

    // The same configuration again: terraform finds nothing to do, the run needs no confirmation.
    const again = await tfe.createRun(wsId, cv3);
    const unchanged = await tfe.waitForStatus(again, "planned_and_finished");
    expect(unchanged.attributes["has-changes"]).toBe(false);
    const plan = await stack.api.get(`/plans/${unchanged.relationships.plan.data.id}`);
    expect(plan.body.data.attributes).toMatchObject({ status: "finished", "resource-additions": 0, "resource-changes": 0, "resource-destructions": 0 });
  }, 120_000);

  it("force-execute discards the run awaiting confirmation and plans the pending one at once", async () => {
    const { wsId } = await tfe.createWorkspace();
    const cvId = await tfe.upload(wsId, { "main.tf": NULL_RESOURCE });
    const first = await tfe.createRun(wsId, cvId);
    const second = await tfe.createRun(wsId, cvId);
    await tfe.waitForStatus(first, "planned");
    expect(await tfe.status(second)).toBe("pending");

    expect((await tfe.action(second, "force-execute")).status).toBe(202);
    await tfe.waitForStatus(first, "discarded");
    await tfe.waitForStatus(second, "planned");
    expect((await tfe.action(second, "discard")).status).toBe(202);
  }, 60_000);

  it("an errored plan ends its run errored with terraform's message in the log, and the next run plans", async () => {
    const { wsId } = await tfe.createWorkspace();
    const failing = await tfe.upload(wsId, { "main.tf": NULL_RESOURCE, "terraform-double.json": JSON.stringify({ plan: { fail: true } }) });
    const fine = await tfe.upload(wsId, { "main.tf": NULL_RESOURCE });
    const broken = await tfe.createRun(wsId, failing);
    const next = await tfe.createRun(wsId, fine);

    const errored = await tfe.waitForStatus(broken, "errored");
    const plan = await stack.api.get(`/plans/${errored.relationships.plan.data.id}`);
    expect(plan.body.data.attributes.status).toBe("errored");
    const log = await waitFor(async () => {
      const text = await tfe.readLog(plan.body.data.attributes["log-read-url"] as string);
      return text.endsWith("\x03") ? text : undefined;
    }, { timeoutMs: 10_000, what: "the errored plan's final log" });
    expect(log).toContain("Scripted plan failure");
    await tfe.waitForStatus(next, "planned");
    expect((await tfe.action(next, "discard")).status).toBe(202);
  }, 60_000);
});

describe("auto-apply and auto-queue", () => {
  it("queues a run when a configuration is uploaded, and applies it without confirmation on an auto-apply workspace", async () => {
    const { wsId } = await tfe.createWorkspace({ "auto-apply": true });
    const cvId = await tfe.upload(wsId, { "main.tf": NULL_RESOURCE }, {});
    const queued = await waitFor(async () => {
      const list = await stack.api.get(`/workspaces/${wsId}/runs`);
      return (list.body.data as Array<{ id: string; relationships: any }>).find((r) => r.relationships["configuration-version"].data.id === cvId);
    }, { timeoutMs: 15_000, what: "the run queued by the upload" });
    const applied = await tfe.waitForStatus(queued.id, "applied");
    expect(applied.attributes).toMatchObject({ source: "tfe-configuration-version", "auto-apply": true });
    expect(applied.attributes["status-timestamps"]["applied-at"]).toBeDefined();
    const state = await stack.api.get(`/workspaces/${wsId}/current-state-version`);
    expect(state.status).toBe(200);
  }, 60_000);
});

describe("cancel", () => {
  it("streams a slow plan's live log, runs a speculative plan beside it, and cancels it while planning", async () => {
    const { wsId } = await tfe.createWorkspace();
    const slow = await tfe.upload(wsId, { "main.tf": NULL_RESOURCE, "terraform-double.json": slowPlan(30) });
    const runId = await tfe.createRun(wsId, slow);
    const planning = await tfe.waitForStatus(runId, "planning");
    const plan = await stack.api.get(`/plans/${planning.relationships.plan.data.id}`);
    const logUrl = plan.body.data.attributes["log-read-url"] as string;
    const live = await waitFor(async () => {
      const text = await tfe.readLog(`${logUrl}?offset=0&limit=65536`);
      return text.includes("Still planning") ? text : undefined;
    }, { timeoutMs: 15_000, intervalMs: 200, what: "live plan log lines" });
    expect(live.startsWith("\x02")).toBe(true);
    expect(live.endsWith("\x03")).toBe(false);

    // A speculative plan (an auto-queued upload of a speculative version) needs no turn in the workspace.
    const speculativeCv = await tfe.upload(wsId, { "main.tf": resources("a", "b") }, { speculative: true });
    const speculative = await waitFor(async () => {
      // Workspace run lists leave plan-only runs out unless asked for them (as HCP does).
      const list = await stack.api.get(`/workspaces/${wsId}/runs?filter[operation]=plan_only`);
      return (list.body.data as Array<{ id: string; relationships: any }>).find((r) => r.relationships["configuration-version"].data.id === speculativeCv);
    }, { timeoutMs: 15_000, what: "the speculative run" });
    const finished = await tfe.waitForStatus(speculative.id, "planned_and_finished");
    expect(finished.attributes["plan-only"]).toBe(true);
    expect(await tfe.status(runId)).toBe("planning");

    expect((await tfe.action(runId, "cancel", "stop")).status).toBe(202);
    await tfe.waitForStatus(runId, "canceled", 20_000);
    expect((await stack.api.get(`/plans/${planning.relationships.plan.data.id}`)).body.data.attributes.status).toBe("canceled");
    // terraform was interrupted (SIGINT) and stopped gracefully; the worker stored its final log.
    const final = await waitFor(async () => {
      const text = await tfe.readLog(logUrl);
      return text.endsWith("\x03") ? text : undefined;
    }, { timeoutMs: 10_000, what: "the canceled plan's final log" });
    expect(final).toContain("Interrupt received");
  }, 90_000);

  it("force-cancels a plan that ignores the interrupt once the cool-off passed, and the workspace moves on", async () => {
    const { wsId } = await tfe.createWorkspace();
    const marker = `m${hex(4)}`;
    await tfe.addVariable(wsId, { key: "TF_VAR_marker", value: marker, category: "env" });
    const stubborn = await tfe.upload(wsId, { "main.tf": NULL_RESOURCE, "terraform-double.json": slowPlan(60, 60) });
    const fine = await tfe.upload(wsId, { "main.tf": NULL_RESOURCE });
    const runId = await tfe.createRun(wsId, stubborn);
    const next = await tfe.createRun(wsId, fine);
    const planning = await tfe.waitForStatus(runId, "planning");
    // Only the plan command itself ignores interrupts (init before it would stop at once).
    const plan = await stack.api.get(`/plans/${planning.relationships.plan.data.id}`);
    await waitFor(async () => ((await tfe.readLog(plan.body.data.attributes["log-read-url"] as string)).includes("Still planning") ? true : undefined), {
      timeoutMs: 15_000,
      intervalMs: 200,
      what: "terraform plan to run",
    });

    expect((await tfe.action(runId, "cancel")).status).toBe(202);
    const canceling = await tfe.run(runId);
    const availableAt = Date.parse(canceling.attributes["force-cancel-available-at"] as string);
    expect(availableAt).toBeGreaterThan(Date.now() - 1_000);
    const early = await tfe.action(runId, "force-cancel");
    if (Date.now() < availableAt) expect(early.status).toBe(409);

    // The plan ignores SIGINT: still planning once the cool-off has passed.
    await waitFor(() => (Date.now() > availableAt ? true : undefined), { timeoutMs: 5_000, what: "the cool-off" });
    expect(await tfe.status(runId)).toBe("planning");
    await waitFor(async () => ((await tfe.run(runId)).attributes.actions["is-force-cancelable"] ? true : undefined), { timeoutMs: 5_000, what: "is-force-cancelable" });
    expect((await tfe.action(runId, "force-cancel", "kill it")).status).toBe(202);
    await tfe.waitForStatus(runId, "force_canceled", 10_000);
    // The worker killed terraform rather than waiting out its 60 seconds.
    const [stubbornPlan] = plansMarked(await stack.invocations(), marker);
    expect(stubbornPlan).toBeDefined();
    await waitFor(() => (isAlive(stubbornPlan!.pid) ? undefined : true), { timeoutMs: 10_000, what: "terraform to be killed" });
    await tfe.waitForStatus(next, "planned");
    expect((await tfe.action(next, "discard")).status).toBe(202);
  }, 90_000);
});

describe("run options reach terraform", () => {
  it("passes destroy, refresh-only, targets, replace, refresh=false and variables to terraform", async () => {
    const config = {
      "main.tf": [
        `variable "marker" {\n  default = ""\n}\n`,
        `variable "greeting" {\n  default = "none"\n}\n`,
        `resource "null_resource" "a" {\n  triggers = {\n    greeting = var.greeting\n  }\n}\n`,
        `resource "null_resource" "b" {}\n`,
        `output "greeting" {\n  value = var.greeting\n}\n`,
      ].join(""),
    };
    const cases: Array<{ name: string; attributes: Record<string, unknown>; expected: string[] }> = [
      { name: "destroy", attributes: { "is-destroy": true }, expected: ["-destroy"] },
      { name: "refresh-only", attributes: { "refresh-only": true }, expected: ["-refresh-only"] },
      { name: "targets", attributes: { "target-addrs": ["null_resource.b"] }, expected: ["-target=null_resource.b"] },
      { name: "replace", attributes: { "replace-addrs": ["null_resource.a"] }, expected: ["-replace=null_resource.a"] },
      { name: "no refresh", attributes: { refresh: false }, expected: ["-refresh=false"] },
      { name: "variables", attributes: { variables: [{ key: "greeting", value: `"hello"` }] }, expected: [] },
    ];
    const started = await Promise.all(
      cases.map(async (c) => {
        const marker = `m${hex(4)}`;
        const { wsId } = await tfe.createWorkspace();
        await tfe.addVariable(wsId, { key: "TF_VAR_marker", value: marker, category: "env" });
        const cvId = await tfe.upload(wsId, config);
        const runId = await tfe.createRun(wsId, cvId, { "plan-only": true, ...c.attributes });
        return { ...c, marker, runId };
      }),
    );
    for (const c of started) {
      const run = await tfe.waitForStatus(c.runId, "planned_and_finished");
      const plans = plansMarked(await stack.invocations(), c.marker);
      expect({ case: c.name, plans: plans.length }).toEqual({ case: c.name, plans: 1 });
      expect(plans[0]!.argv).toEqual(expect.arrayContaining(c.expected));
      for (const other of started.flatMap((o) => o.expected).filter((flag) => !c.expected.includes(flag))) {
        expect({ case: c.name, argv: plans[0]!.argv }).toEqual({ case: c.name, argv: expect.not.arrayContaining([other]) });
      }
      if (c.name === "variables") {
        const json = await stack.api.get(`/plans/${run.relationships.plan.data.id}/json-output`);
        expect(json.status).toBe(200);
        expect(json.body.variables?.greeting?.value ?? json.body.output_changes?.greeting?.after).toBe("hello");
      }
    }
  }, 90_000);
});
