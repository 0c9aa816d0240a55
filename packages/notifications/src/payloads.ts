/**
 * What one notification says, whatever the destination: HCP's run payload fields. A
 * verification (on create, enable and the verify action) has the run fields null.
 */
export interface NotificationContent {
  configurationId: string;
  configurationName: string;
  /** "verification", or one of the run triggers. */
  trigger: string;
  message: string;
  run: {
    url: string;
    id: string;
    message: string;
    createdAt: Date;
    createdBy: string | null;
    status: string;
    updatedAt: Date;
    updatedBy: string | null;
    workspaceId: string;
    workspaceName: string;
    organizationName: string;
  } | null;
}

export function verificationContent(configurationId: string, configurationName: string): NotificationContent {
  return { configurationId, configurationName, trigger: "verification", message: `Verification of ${configurationName}`, run: null };
}

/** HCP's timestamps in payloads: ISO 8601 in UTC with milliseconds ("2019-01-25T18:34:00.000Z"). */
const iso = (d: Date) => d.toISOString();

/** The generic payload (payload_version 1), field for field as HCP sends it. */
export function genericPayload(n: NotificationContent): Record<string, unknown> {
  const r = n.run;
  return {
    payload_version: 1,
    notification_configuration_id: n.configurationId,
    run_url: r ? r.url : null,
    run_id: r ? r.id : null,
    run_message: r ? r.message : null,
    run_created_at: r ? iso(r.createdAt) : null,
    run_created_by: r ? r.createdBy : null,
    workspace_id: r ? r.workspaceId : null,
    workspace_name: r ? r.workspaceName : null,
    organization_name: r ? r.organizationName : null,
    notifications: [
      {
        message: n.message,
        trigger: n.trigger,
        run_status: r ? r.status : null,
        run_updated_at: r ? iso(r.updatedAt) : null,
        run_updated_by: r ? r.updatedBy : null,
      },
    ],
  };
}

/** Slack's and Teams' accent colour by outcome. */
function colorOf(trigger: string): string {
  switch (trigger) {
    case "run:completed":
      return "#2eb67d";
    case "run:errored":
      return "#e01e5a";
    case "run:needs_attention":
      return "#ecb22e";
    default:
      return "#5c4ee5";
  }
}

/** Slack's mrkdwn link text must not carry its control characters. */
const slackEscape = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** A Slack incoming-webhook message: a line of text and one attachment with the run's facts. */
export function slackPayload(n: NotificationContent): Record<string, unknown> {
  const r = n.run;
  if (!r) return { text: slackEscape(n.message) };
  const where = `${r.organizationName}/${r.workspaceName}`;
  return {
    text: `${slackEscape(n.message)}: <${r.url}|${slackEscape(where)}>`,
    attachments: [
      {
        fallback: `${n.message}: ${where} ${r.id}`,
        color: colorOf(n.trigger),
        title: `${r.id} (${r.status})`,
        title_link: r.url,
        text: slackEscape(r.message),
        fields: [
          { title: "Workspace", value: slackEscape(where), short: true },
          { title: "Status", value: r.status, short: true },
          ...(r.createdBy ? [{ title: "Created by", value: slackEscape(r.createdBy), short: true }] : []),
          { title: "Trigger", value: n.trigger, short: true },
        ],
        ts: Math.floor(r.updatedAt.getTime() / 1000),
      },
    ],
  };
}

/** A Microsoft Teams connector MessageCard with the run's facts and a link to it. */
export function teamsPayload(n: NotificationContent): Record<string, unknown> {
  const r = n.run;
  const card: Record<string, unknown> = {
    "@type": "MessageCard",
    "@context": "https://schema.org/extensions",
    summary: n.message,
    themeColor: colorOf(n.trigger).slice(1),
    title: n.message,
  };
  if (!r) return { ...card, text: `Notification configuration ${n.configurationName} (${n.configurationId})` };
  return {
    ...card,
    sections: [
      {
        activityTitle: `${r.organizationName}/${r.workspaceName}`,
        activitySubtitle: r.message,
        facts: [
          { name: "Run", value: r.id },
          { name: "Status", value: r.status },
          ...(r.createdBy ? [{ name: "Created by", value: r.createdBy }] : []),
          { name: "Trigger", value: n.trigger },
        ],
      },
    ],
    potentialAction: [{ "@type": "OpenUri", name: "View run", targets: [{ os: "default", uri: r.url }] }],
  };
}

/** The email of a notification: a subject naming the outcome and workspace, and a plain-text body. */
export function emailMessage(n: NotificationContent): { subject: string; text: string } {
  const r = n.run;
  if (!r) {
    return {
      subject: n.message,
      text: `This address receives notifications of ${n.configurationName} (${n.configurationId}).\n`,
    };
  }
  const where = `${r.organizationName}/${r.workspaceName}`;
  const lines = [
    `${n.message} in ${where}.`,
    "",
    `Run:        ${r.id}`,
    `Status:     ${r.status}`,
    `Message:    ${r.message}`,
    `Created by: ${r.createdBy ?? "-"}`,
    `Updated at: ${iso(r.updatedAt)}`,
    "",
    r.url,
    "",
  ];
  return { subject: `${n.message}: ${where}`, text: lines.join("\n") };
}
