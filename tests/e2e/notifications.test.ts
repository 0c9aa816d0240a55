import { freePort, startSmtpReceiver, startWebhookReceiver, waitFor, type ReceivedRequest, type SmtpReceiver, type WebhookReceiver } from "@tarmac/testing";
import { NULL_RESOURCE, startStack, Tfe, type Stack } from "./stack";

/**
 * Run notifications end to end: the real gateway, scheduler and worker (terraform test double)
 * and two notifier replicas, delivering to HTTP receivers and an SMTP server on this machine.
 */
const ALL_TRIGGERS = ["run:created", "run:planning", "run:needs_attention", "run:applying", "run:completed", "run:errored"];
const TOKEN = "receiver-shared-secret";

const runNotifications = (requests: ReceivedRequest[], runId: string) => requests.filter((r) => r.json?.run_id === runId);
const triggersOf = (requests: ReceivedRequest[]) => requests.map((r) => r.json.notifications[0].trigger as string);
describe("run notifications", () => {
  let stack: Stack;
  let tfe: Tfe;
  let smtp: SmtpReceiver;
  const receivers: WebhookReceiver[] = [];

  beforeAll(async () => {
    smtp = await startSmtpReceiver();
    stack = await startStack({
      notifiers: 2,
      notifierEnv: {
        TARMAC_NOTIFICATION_RETRY_BASE_MS: "300",
        TARMAC_NOTIFICATION_RETRY_MAX_MS: "1000",
        TARMAC_NOTIFICATION_MAX_ATTEMPTS: "100",
        TARMAC_NOTIFICATION_POLL_MS: "200",
        TARMAC_NOTIFICATION_TIMEOUT_MS: "2000",
        TARMAC_SMTP_HOST: smtp.host,
        TARMAC_SMTP_PORT: String(smtp.port),
        TARMAC_SMTP_FROM: "tarmac@example.test",
      },
    });
    tfe = new Tfe(stack.api);
  }, 240_000);
  afterAll(async () => {
    for (const r of receivers) await r.close();
    await stack?.stop();
    await smtp?.close();
  }, 60_000);

  async function receiver(options: Parameters<typeof startWebhookReceiver>[0] = {}): Promise<WebhookReceiver> {
    const r = await startWebhookReceiver(options);
    receivers.push(r);
    return r;
  }

  async function configure(wsId: string, attributes: Record<string, unknown>): Promise<string> {
    const res = await stack.api.post(`/workspaces/${wsId}/notification-configurations`, { data: { type: "notification-configurations", attributes } });
    if (res.status !== 201) throw new Error(`create notification configuration: ${res.status} ${res.text}`);
    return res.body.data.id as string;
  }

  it("notifies every trigger of a run once, signed, in HCP's formats, with two notifier replicas", async () => {
    const generic = await receiver({ token: TOKEN });
    const slack = await receiver();
    const { org, wsId } = await tfe.createWorkspace();
    const ncId = await configure(wsId, { "destination-type": "generic", enabled: true, name: "hook", url: generic.url, token: TOKEN, triggers: ALL_TRIGGERS });
    await configure(wsId, { "destination-type": "slack", enabled: true, name: "slack", url: slack.url, triggers: ["run:completed", "run:errored"] });
    await configure(wsId, { "destination-type": "email", enabled: true, name: "mail", "email-addresses": ["ops@example.com"], triggers: ["run:needs_attention"] });

    const cv = await tfe.upload(wsId, { "main.tf": NULL_RESOURCE });
    const runId = await tfe.createRun(wsId, cv, { message: "notify me" });
    await tfe.waitForStatus(runId, "planned");
    await waitFor(() => (triggersOf(runNotifications(generic.requests, runId)).includes("run:needs_attention") ? true : undefined), {
      timeoutMs: 30_000,
      what: "run:needs_attention at the generic receiver",
    });
    expect((await tfe.action(runId, "apply")).status).toBe(202);
    await tfe.waitForStatus(runId, "applied");
    await waitFor(() => (triggersOf(runNotifications(generic.requests, runId)).includes("run:completed") ? true : undefined), {
      timeoutMs: 30_000,
      what: "run:completed at the generic receiver",
    });

    // An errored run: the double fails its plan.
    const failing = await tfe.upload(wsId, { "main.tf": NULL_RESOURCE, "terraform-double.json": JSON.stringify({ plan: { fail: true } }) });
    const erroredId = await tfe.createRun(wsId, failing, { message: "this one fails" });
    await tfe.waitForStatus(erroredId, "errored");
    await waitFor(() => (triggersOf(runNotifications(generic.requests, erroredId)).includes("run:errored") ? true : undefined), {
      timeoutMs: 30_000,
      what: "run:errored at the generic receiver",
    });
    await waitFor(() => (slack.requests.some((r) => JSON.stringify(r.json).includes(erroredId)) ? true : undefined), {
      timeoutMs: 30_000,
      what: "the Slack receiver to hear of the errored run",
    });
    // Time for any duplicate (a replica delivering again) to show up.
    await new Promise((resolve) => setTimeout(resolve, 2_000));

    const applied = runNotifications(generic.requests, runId);
    expect(triggersOf(applied)).toEqual(["run:created", "run:planning", "run:needs_attention", "run:applying", "run:completed"]);
    expect(applied.every((r) => r.signatureValid)).toBe(true);
    expect(applied.map((r) => r.json.notifications[0].run_status)).toEqual(["pending", "planning", "planned", "applying", "applied"]);
    expect(applied.map((r) => r.json.notifications[0].message)).toEqual(["Run Created", "Run Planning", "Run Planned - Needs Confirmation", "Run Applying", "Run Applied"]);
    const first = applied[0]!.json;
    expect(first).toMatchObject({
      payload_version: 1,
      notification_configuration_id: ncId,
      run_url: `${stack.gateway.url}/app/${org}/${first.workspace_name}/runs/${runId}`,
      run_id: runId,
      run_message: "notify me",
      run_created_by: "admin",
      workspace_id: wsId,
      organization_name: org,
    });
    expect(first.notifications[0].run_updated_by).toBe("admin");
    expect(applied[0]!.headers["user-agent"]).toMatch(/^TFE\/1\.0/);
    const failed = runNotifications(generic.requests, erroredId);
    expect(triggersOf(failed)).toEqual(["run:created", "run:planning", "run:errored"]);
    expect(failed.at(-1)!.json.notifications[0]).toMatchObject({ message: "Run Errored", run_status: "errored" });

    // Slack: the incoming-webhook format, completed and errored only.
    const slackBodies = slack.requests.map((r) => r.json);
    expect(slackBodies.filter((b) => JSON.stringify(b).includes(runId))).toHaveLength(1);
    expect(slackBodies.filter((b) => JSON.stringify(b).includes(erroredId))).toHaveLength(1);
    const slackApplied = slackBodies.find((b) => JSON.stringify(b).includes(runId));
    expect(slackApplied.text).toContain("Run Applied");
    expect(slackApplied.attachments[0]).toMatchObject({ title_link: `${stack.gateway.url}/app/${org}/${first.workspace_name}/runs/${runId}` });
    expect(slack.requests.every((r) => r.headers["x-tfe-notification-signature"] === undefined)).toBe(true);

    // Email: one message for the run that needed attention.
    const mails = smtp.messages.filter((m) => m.data.includes(runId));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toEqual(["ops@example.com"]);
    expect(mails[0]!.data).toMatch(/Subject: Run Planned - Needs Confirmation/);

    const nc = await stack.api.get(`/notification-configurations/${ncId}`);
    expect(nc.body.data.attributes["delivery-responses"][0]).toMatchObject({ url: generic.url, code: "200", successful: "true" });
  }, 180_000);

  it("delivers to a receiver that was down once it is back, exactly once each, without holding up the run", async () => {
    const port = await freePort();
    let hook = await startWebhookReceiver({ token: TOKEN, port });
    const { wsId } = await tfe.createWorkspace({ "auto-apply": true });
    const ncId = await configure(wsId, { "destination-type": "generic", enabled: true, name: "flaky", url: hook.url, token: TOKEN, triggers: ALL_TRIGGERS });
    await hook.close();

    const cv = await tfe.upload(wsId, { "main.tf": NULL_RESOURCE });
    const runId = await tfe.createRun(wsId, cv);
    // The receiver being down does not slow the run.
    await tfe.waitForStatus(runId, "applied");
    await waitFor(
      async () => {
        const nc = await stack.api.get(`/notification-configurations/${ncId}`);
        const failures = (nc.body.data.attributes["delivery-responses"] as { successful: string }[]).filter((r) => r.successful === "false");
        return failures.length >= 3 ? true : undefined;
      },
      { timeoutMs: 30_000, what: "failed attempts while the receiver is down" },
    );

    hook = await startWebhookReceiver({ token: TOKEN, port });
    receivers.push(hook);
    await waitFor(() => (triggersOf(runNotifications(hook.requests, runId)).length >= 4 ? true : undefined), {
      timeoutMs: 30_000,
      what: "the deliveries once the receiver is back",
    });
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const received = runNotifications(hook.requests, runId);
    // Auto-apply: nothing needs attention.
    expect(triggersOf(received)).toEqual(["run:created", "run:planning", "run:applying", "run:completed"]);
    expect(received.every((r) => r.signatureValid)).toBe(true);
  }, 120_000);
});
