import { createHmac } from "node:crypto";
import { RUN_STATUSES } from "@tarmac/domain";
import { emailMessage, genericPayload, slackPayload, teamsPayload, verificationContent, type NotificationContent } from "./payloads";
import { signBody } from "./send";
import { ACCEPTED_TRIGGERS, RUN_TRIGGERS, triggerForStatus } from "./triggers";

const content: NotificationContent = {
  configurationId: "nc-AeUQ2zfKZzW9TiGZ",
  configurationName: "Webhook",
  trigger: "run:errored",
  message: "Run Canceled",
  run: {
    url: "https://tarmac.example/app/acme-org/my-workspace/runs/run-FwnENkvDnrpyFC7M",
    id: "run-FwnENkvDnrpyFC7M",
    message: "Add five new queue workers",
    createdAt: new Date("2019-01-25T18:34:00Z"),
    createdBy: "sample-user",
    status: "canceled",
    updatedAt: new Date("2019-01-25T18:37:04Z"),
    updatedBy: "sample-user",
    workspaceId: "ws-XdeUVMWShTesDMME",
    workspaceName: "my-workspace",
    organizationName: "acme-org",
  },
};

describe("run triggers", () => {
  it("maps each status to HCP's trigger: canceled runs are errored, waiting runs need attention", () => {
    const fired = Object.fromEntries(RUN_STATUSES.map((s) => [s, triggerForStatus(s)?.trigger ?? null]));
    expect(fired).toMatchObject({
      pending: "run:created",
      planning: "run:planning",
      planned: "run:needs_attention",
      cost_estimated: "run:needs_attention",
      policy_override: "run:needs_attention",
      applying: "run:applying",
      applied: "run:completed",
      planned_and_finished: "run:completed",
      discarded: "run:completed",
      errored: "run:errored",
      canceled: "run:errored",
      force_canceled: "run:errored",
      plan_queued: null,
      confirmed: null,
      apply_queued: null,
      planned_and_saved: null,
    });
    // A decision point the run moved on from by itself fires nothing.
    expect(triggerForStatus("cost_estimated", false)).toBeNull();
    expect(triggerForStatus("planned", false)?.trigger).toBe("run:needs_attention");
    // Every trigger a status fires is one HCP documents.
    for (const s of RUN_STATUSES) {
      const t = triggerForStatus(s);
      if (t) expect(RUN_TRIGGERS).toContain(t.trigger);
    }
    expect(ACCEPTED_TRIGGERS).toEqual(expect.arrayContaining([...RUN_TRIGGERS, "assessment:drifted"]));
  });
});

describe("payloads", () => {
  it("writes the generic payload field for field as HCP's documentation shows it", () => {
    expect(genericPayload(content)).toEqual({
      payload_version: 1,
      notification_configuration_id: "nc-AeUQ2zfKZzW9TiGZ",
      run_url: "https://tarmac.example/app/acme-org/my-workspace/runs/run-FwnENkvDnrpyFC7M",
      run_id: "run-FwnENkvDnrpyFC7M",
      run_message: "Add five new queue workers",
      run_created_at: "2019-01-25T18:34:00.000Z",
      run_created_by: "sample-user",
      workspace_id: "ws-XdeUVMWShTesDMME",
      workspace_name: "my-workspace",
      organization_name: "acme-org",
      notifications: [{ message: "Run Canceled", trigger: "run:errored", run_status: "canceled", run_updated_at: "2019-01-25T18:37:04.000Z", run_updated_by: "sample-user" }],
    });
  });

  it("writes a verification with null run fields and the trigger `verification`", () => {
    const payload = genericPayload(verificationContent("nc-1", "Webhook server test"));
    expect(payload.run_id).toBeNull();
    expect(payload.notifications).toEqual([{ message: "Verification of Webhook server test", trigger: "verification", run_status: null, run_updated_at: null, run_updated_by: null }]);
  });

  it("writes Slack, Teams and email messages that name the outcome, the workspace and the run", () => {
    const slack = slackPayload(content) as { text: string; attachments: { title_link: string; fields: { title: string; value: string }[] }[] };
    expect(slack.text).toBe("Run Canceled: <https://tarmac.example/app/acme-org/my-workspace/runs/run-FwnENkvDnrpyFC7M|acme-org/my-workspace>");
    expect(slack.attachments[0]!.title_link).toBe(content.run!.url);
    expect(slack.attachments[0]!.fields).toContainEqual({ title: "Status", value: "canceled", short: true });
    expect(slackPayload({ ...content, message: "a <b> & c", run: null })).toEqual({ text: "a &lt;b&gt; &amp; c" });
    const teams = teamsPayload(content) as Record<string, any>;
    expect(teams).toMatchObject({ "@type": "MessageCard", summary: "Run Canceled", title: "Run Canceled" });
    expect(teams.potentialAction[0].targets[0].uri).toBe(content.run!.url);
    expect(teams.sections[0].facts).toContainEqual({ name: "Run", value: "run-FwnENkvDnrpyFC7M" });
    const mail = emailMessage(content);
    expect(mail.subject).toBe("Run Canceled: acme-org/my-workspace");
    expect(mail.text).toContain(content.run!.url);
  });

  it("signs with the hex HMAC-SHA512 of the exact body", () => {
    const body = JSON.stringify(genericPayload(content));
    expect(signBody(body, "secret")).toBe(createHmac("sha512", "secret").update(body).digest("hex"));
    expect(signBody(body, "secret")).toHaveLength(128);
    expect(signBody(`${body} `, "secret")).not.toBe(signBody(body, "secret"));
  });
});
