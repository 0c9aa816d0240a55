import { decryptValue } from "@tarmac/db";
import { startSmtpReceiver, startWebhookReceiver, type SmtpReceiver, type WebhookReceiver } from "@tarmac/testing";
import { addMembers, createOrganization, createTeam, createUser, createWorkspace, memberWithAccess, startApiTestEnv, type ApiTestEnv } from "./api-fixtures";

const RUN_TRIGGERS = ["run:created", "run:planning", "run:needs_attention", "run:applying", "run:completed", "run:errored"];

const doc = (attributes: Record<string, unknown>, relationships?: Record<string, unknown>) => ({
  data: { type: "notification-configurations", attributes, ...(relationships ? { relationships } : {}) },
});

describe("notification configurations", () => {
  let env: ApiTestEnv;
  let smtp: SmtpReceiver;
  let receiver: WebhookReceiver;
  let org: string;
  let workspaceId: string;

  beforeAll(async () => {
    smtp = await startSmtpReceiver();
    env = await startApiTestEnv({
      TARMAC_SMTP_HOST: smtp.host,
      TARMAC_SMTP_PORT: String(smtp.port),
      TARMAC_SMTP_FROM: "tarmac@example.test",
      TARMAC_NOTIFICATION_TIMEOUT_MS: "2000",
    });
    receiver = await startWebhookReceiver({ token: "s3cret" });
    org = await createOrganization(env.admin);
    workspaceId = await createWorkspace(env.admin, org);
  }, 90_000);
  afterAll(async () => {
    await receiver?.close();
    await env?.close();
    await smtp?.close();
  });

  it("creates an enabled generic configuration after a signed verification request, and reads, lists, updates and deletes it", async () => {
    const before = receiver.requests.length;
    const created = await env.admin.post(
      `/workspaces/${workspaceId}/notification-configurations`,
      doc({ "destination-type": "generic", enabled: true, name: "Webhook server test", url: receiver.url, token: "s3cret", triggers: RUN_TRIGGERS }),
    );
    expect(created.status).toBe(201);
    const nc = created.body.data;
    expect(nc.type).toBe("notification-configurations");
    expect(nc.id).toMatch(/^nc-[1-9A-HJ-NP-Za-km-z]{16}$/);
    expect(nc.attributes).toMatchObject({ name: "Webhook server test", enabled: true, "destination-type": "generic", url: receiver.url, token: null, triggers: RUN_TRIGGERS });
    expect(nc.relationships.subscribable.data).toEqual({ type: "workspaces", id: workspaceId });
    expect(nc.links.self).toBe(`/api/v2/notification-configurations/${nc.id}`);

    // The verification request: HCP's payload with null run fields, signed with the token.
    const verification = receiver.requests.slice(before);
    expect(verification).toHaveLength(1);
    expect(verification[0]!.signatureValid).toBe(true);
    expect(verification[0]!.headers["content-type"]).toBe("application/json");
    expect(verification[0]!.json).toEqual({
      payload_version: 1,
      notification_configuration_id: nc.id,
      run_url: null,
      run_id: null,
      run_message: null,
      run_created_at: null,
      run_created_by: null,
      workspace_id: null,
      workspace_name: null,
      organization_name: null,
      notifications: [{ message: "Verification of Webhook server test", trigger: "verification", run_status: null, run_updated_at: null, run_updated_by: null }],
    });
    const [response] = nc.attributes["delivery-responses"];
    expect(response).toMatchObject({ url: receiver.url, code: "200", body: "answered 200", successful: "true" });
    expect(response.headers["x-receiver"]).toEqual(["test"]);
    expect(new Date(response["sent-at"]).toISOString()).toBe(response["sent-at"]);

    // The token is write-only and stored encrypted.
    const row = await env.db.notificationConfiguration.findUniqueOrThrow({ where: { id: nc.id } });
    expect(row.token).not.toContain("s3cret");
    expect(decryptValue(row.token!, env.gateway.keys)).toBe("s3cret");

    const shown = await env.admin.get(`/notification-configurations/${nc.id}`);
    expect(shown.status).toBe(200);
    expect(shown.body.data.attributes.token).toBeNull();
    const list = await env.admin.get(`/workspaces/${workspaceId}/notification-configurations`);
    expect(list.status).toBe(200);
    expect(list.body.data.map((c: { id: string }) => c.id)).toContain(nc.id);
    expect(list.body.meta.pagination["total-count"]).toBeGreaterThanOrEqual(1);

    // Disabling sends nothing; the stored token stays.
    const sent = receiver.requests.length;
    const disabled = await env.admin.patch(`/notification-configurations/${nc.id}`, doc({ enabled: false, name: "renamed", triggers: ["run:errored"] }));
    expect(disabled.status).toBe(200);
    expect(disabled.body.data.attributes).toMatchObject({ enabled: false, name: "renamed", triggers: ["run:errored"] });
    expect(receiver.requests.length).toBe(sent);
    const again = await env.db.notificationConfiguration.findUniqueOrThrow({ where: { id: nc.id } });
    expect(decryptValue(again.token!, env.gateway.keys)).toBe("s3cret");

    // Enabling again verifies again; the response joins the list, newest first.
    const enabled = await env.admin.patch(`/notification-configurations/${nc.id}`, doc({ enabled: true }));
    expect(enabled.status).toBe(200);
    expect(receiver.requests.length).toBe(sent + 1);
    expect(enabled.body.data.attributes["delivery-responses"]).toHaveLength(2);

    expect((await env.admin.delete(`/notification-configurations/${nc.id}`)).status).toBe(204);
    expect((await env.admin.get(`/notification-configurations/${nc.id}`)).status).toBe(404);
    expect((await env.admin.delete(`/notification-configurations/${nc.id}`)).status).toBe(404);
  });

  it("creates a disabled configuration without a request, as go-tfe's tests do, and verifies it on demand", async () => {
    const sent = receiver.requests.length;
    const created = await env.admin.post(
      `/workspaces/${workspaceId}/notification-configurations`,
      { data: { type: "notification-configurations", attributes: { "destination-type": "generic", enabled: false, name: "quiet", token: "s3cret", url: receiver.url, triggers: ["run:created"] } } },
    );
    expect(created.status).toBe(201);
    expect(created.body.data.attributes["delivery-responses"]).toEqual([]);
    expect(receiver.requests.length).toBe(sent);

    const verified = await env.admin.post(`/notification-configurations/${created.body.data.id}/actions/verify`);
    expect(verified.status).toBe(200);
    expect(verified.body.data.attributes["delivery-responses"][0]).toMatchObject({ code: "200", successful: "true" });
    expect(receiver.requests.length).toBe(sent + 1);
    expect(receiver.requests.at(-1)!.signatureValid).toBe(true);
  });

  it("refuses to save an enabled configuration whose verification fails (400), and records a failed verify", async () => {
    const failing = await startWebhookReceiver({ status: 500 });
    try {
      const refused = await env.admin.post(
        `/workspaces/${workspaceId}/notification-configurations`,
        doc({ "destination-type": "generic", enabled: true, name: "broken", url: failing.url, triggers: ["run:created"] }),
      );
      expect(refused.status).toBe(400);
      expect(refused.body.errors[0].status).toBe("400");
      expect(refused.body.errors[0].detail).toContain("500");
      expect(failing.requests).toHaveLength(1);
      expect(failing.requests[0]!.headers["x-tfe-notification-signature"]).toBe("");
      expect(await env.db.notificationConfiguration.count({ where: { name: "broken" } })).toBe(0);

      const saved = await env.admin.post(
        `/workspaces/${workspaceId}/notification-configurations`,
        doc({ "destination-type": "generic", enabled: false, name: "broken", url: failing.url, triggers: ["run:created"] }),
      );
      expect(saved.status).toBe(201);
      const id = saved.body.data.id as string;
      const enable = await env.admin.patch(`/notification-configurations/${id}`, doc({ enabled: true }));
      expect(enable.status).toBe(400);
      expect((await env.admin.get(`/notification-configurations/${id}`)).body.data.attributes.enabled).toBe(false);

      const verify = await env.admin.post(`/notification-configurations/${id}/actions/verify`);
      expect(verify.status).toBe(400);
      const shown = await env.admin.get(`/notification-configurations/${id}`);
      expect(shown.body.data.attributes["delivery-responses"][0]).toMatchObject({ code: "500", successful: "false", body: "answered 500" });

      // Nothing listens: the response records why.
      await failing.close();
      const down = await env.admin.post(`/notification-configurations/${id}/actions/verify`);
      expect(down.status).toBe(400);
      const after = await env.admin.get(`/notification-configurations/${id}`);
      expect(after.body.data.attributes["delivery-responses"][0]).toMatchObject({ code: "", successful: "false" });
      expect(after.body.data.attributes["delivery-responses"][0].body).toMatch(/ECONNREFUSED/);
    } finally {
      await failing.close();
    }
  });

  it("answers bad input with HCP's 422s and writes nothing", async () => {
    const count = await env.db.notificationConfiguration.count();
    const cases: [Record<string, unknown>, string][] = [
      [{ enabled: false, name: "x", url: receiver.url }, "/data/attributes/destination-type"],
      [{ "destination-type": "carrier-pigeon", enabled: false, name: "x", url: receiver.url }, "/data/attributes/destination-type"],
      [{ "destination-type": "generic", enabled: false, url: receiver.url }, "/data/attributes/name"],
      [{ "destination-type": "generic", enabled: false, name: "  ", url: receiver.url }, "/data/attributes/name"],
      [{ "destination-type": "generic", enabled: false, name: "x" }, "/data/attributes/url"],
      [{ "destination-type": "slack", enabled: false, name: "x", url: "ftp://example.com/hook" }, "/data/attributes/url"],
      [{ "destination-type": "generic", enabled: false, name: "x", url: receiver.url, triggers: ["run:exploded"] }, "/data/attributes/triggers"],
      [{ "destination-type": "generic", enabled: "yes", name: "x", url: receiver.url }, "/data/attributes/enabled"],
      [{ "destination-type": "email", enabled: false, name: "x", "email-addresses": ["not-an-address"] }, "/data/attributes/email-addresses"],
      [{ "destination-type": "generic", enabled: false, name: "x", url: receiver.url, "email-addresses": ["ops@example.com"] }, "/data/attributes/email-addresses"],
    ];
    for (const [attributes, pointer] of cases) {
      const res = await env.admin.post(`/workspaces/${workspaceId}/notification-configurations`, doc(attributes));
      expect({ attributes, status: res.status }).toEqual({ attributes, status: 422 });
      expect(res.body.errors[0].source.pointer).toBe(pointer);
      expect(res.body.errors[0].title).toBe("invalid attribute");
    }
    const wrongType = await env.admin.post(`/workspaces/${workspaceId}/notification-configurations`, {
      data: { type: "workspaces", attributes: { "destination-type": "generic", enabled: false, name: "x", url: receiver.url } },
    });
    expect(wrongType.status).toBe(422);
    // A stranger to the organization is refused (422), a member is not.
    const stranger = await createUser(env);
    const strangerRes = await env.admin.post(
      `/workspaces/${workspaceId}/notification-configurations`,
      doc({ "destination-type": "email", enabled: false, name: "x" }, { users: { data: [{ type: "users", id: stranger.id }] } }),
    );
    expect(strangerRes.status).toBe(422);
    expect(strangerRes.body.errors[0].source.pointer).toBe("/data/relationships/users");
    expect(await env.db.notificationConfiguration.count()).toBe(count);

    // HCP's other triggers are stored (they never fire here); the singular type of HCP's samples is accepted.
    const stored = await env.admin.post(`/workspaces/${workspaceId}/notification-configurations`, {
      data: { type: "notification-configuration", attributes: { "destination-type": "generic", enabled: false, name: "drift", url: receiver.url, triggers: ["assessment:drifted", "run:errored"] } },
    });
    expect(stored.status).toBe(201);
    const changeType = await env.admin.patch(`/notification-configurations/${stored.body.data.id}`, doc({ "destination-type": "slack" }));
    expect(changeType.status).toBe(422);
    const clearUrl = await env.admin.patch(`/notification-configurations/${stored.body.data.id}`, doc({ url: null }));
    expect(clearUrl.status).toBe(422);
    expect((await env.admin.delete(`/notification-configurations/${stored.body.data.id}`)).status).toBe(204);
  });

  it("allows at most 20 configurations per workspace", async () => {
    const ws = await createWorkspace(env.admin, org);
    for (let i = 0; i < 20; i++) {
      const res = await env.admin.post(`/workspaces/${ws}/notification-configurations`, doc({ "destination-type": "generic", enabled: false, name: `n${i}`, url: receiver.url }));
      expect(res.status).toBe(201);
    }
    const over = await env.admin.post(`/workspaces/${ws}/notification-configurations`, doc({ "destination-type": "generic", enabled: false, name: "n20", url: receiver.url }));
    expect(over.status).toBe(422);
    expect(await env.db.notificationConfiguration.count({ where: { workspaceId: ws } })).toBe(20);
    const page = await env.admin.get(`/workspaces/${ws}/notification-configurations?page%5Bsize%5D=5&page%5Bnumber%5D=2`);
    expect(page.body.data).toHaveLength(5);
    expect(page.body.meta.pagination).toMatchObject({ "current-page": 2, "total-count": 20, "total-pages": 4 });
  });

  it("lets workspace readers read and only admins manage; others get 404", async () => {
    const created = await env.admin.post(`/workspaces/${workspaceId}/notification-configurations`, doc({ "destination-type": "generic", enabled: false, name: "perm", url: receiver.url }));
    const id = created.body.data.id as string;
    const reader = await memberWithAccess(env, env.admin, org, workspaceId, "read");
    expect((await reader.client.get(`/notification-configurations/${id}`)).status).toBe(200);
    expect((await reader.client.get(`/workspaces/${workspaceId}/notification-configurations`)).status).toBe(200);
    for (const writer of [reader, await memberWithAccess(env, env.admin, org, workspaceId, "write")]) {
      expect((await writer.client.patch(`/notification-configurations/${id}`, doc({ name: "taken" }))).status).toBe(404);
      expect((await writer.client.post(`/notification-configurations/${id}/actions/verify`)).status).toBe(404);
      expect((await writer.client.delete(`/notification-configurations/${id}`)).status).toBe(404);
      expect((await writer.client.post(`/workspaces/${workspaceId}/notification-configurations`, doc({ "destination-type": "generic", enabled: false, name: "w", url: receiver.url }))).status).toBe(404);
    }
    const admin = await memberWithAccess(env, env.admin, org, workspaceId, "admin");
    expect((await admin.client.patch(`/notification-configurations/${id}`, doc({ name: "by-admin" }))).status).toBe(200);
    const stranger = await createUser(env);
    expect((await stranger.client.get(`/notification-configurations/${id}`)).status).toBe(404);
    expect((await stranger.client.get(`/workspaces/${workspaceId}/notification-configurations`)).status).toBe(404);
    expect((await env.anonymous.get(`/notification-configurations/${id}`)).status).toBe(401);
    expect((await env.admin.get(`/notification-configurations/nc-doesnotexist12345`)).status).toBe(404);
  });

  it("verifies Slack and Microsoft Teams destinations with their webhook formats", async () => {
    const slack = await env.admin.post(`/workspaces/${workspaceId}/notification-configurations`, doc({ "destination-type": "slack", enabled: true, name: "Slack: #ops", url: receiver.url, token: "s3cret" }));
    expect(slack.status).toBe(201);
    const slackBody = receiver.requests.at(-1)!;
    expect(slackBody.json).toEqual({ text: "Verification of Slack: #ops" });
    // Only generic payloads are signed.
    expect(slackBody.headers["x-tfe-notification-signature"]).toBeUndefined();
    const teams = await env.admin.post(`/workspaces/${workspaceId}/notification-configurations`, doc({ "destination-type": "microsoft-teams", enabled: true, name: "Teams", url: receiver.url }));
    expect(teams.status).toBe(201);
    expect(receiver.requests.at(-1)!.json).toMatchObject({ "@type": "MessageCard", "@context": "https://schema.org/extensions", title: "Verification of Teams" });
  });

  it("creates email configurations for organization members and addresses, and verifies them through SMTP", async () => {
    const member = await createUser(env);
    const team = await createTeam(env.admin, org);
    await addMembers(env.admin, team, [member.id]);
    const sent = receiver.requests.length;
    const created = await env.admin.post(
      `/workspaces/${workspaceId}/notification-configurations`,
      doc({ "destination-type": "email", enabled: true, name: "Mail the team", "email-addresses": ["ops@example.com"] }, { users: { data: [{ type: "users", id: member.id }] } }),
    );
    expect(created.status).toBe(201);
    // Email destinations are verified only on demand (HCP).
    expect(receiver.requests.length).toBe(sent);
    expect(smtp.messages).toHaveLength(0);
    const nc = created.body.data;
    expect(nc.attributes).toMatchObject({ url: null, "email-addresses": ["ops@example.com"], "user-email-addresses": [`${member.username}@example.com`] });
    expect(nc.relationships.users.data).toEqual([{ type: "users", id: member.id }]);

    const verified = await env.admin.post(`/notification-configurations/${nc.id}/actions/verify`);
    expect(verified.status).toBe(200);
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]!.from).toBe("tarmac@example.test");
    expect(smtp.messages[0]!.to.sort()).toEqual(["ops@example.com", `${member.username}@example.com`].sort());
    expect(smtp.messages[0]!.data).toMatch(/Subject: Verification of Mail the team/);
    expect(verified.body.data.attributes["delivery-responses"][0]).toMatchObject({ url: `smtp://${smtp.host}:${smtp.port}`, code: "250", successful: "true" });

    // An update names the users to keep, as with HCP (go-tfe's update tests): none when it names none.
    const kept = await env.admin.patch(`/notification-configurations/${nc.id}`, doc({ name: "renamed" }, { users: { data: [{ type: "users", id: member.id }] } }));
    expect(kept.body.data.relationships.users.data).toEqual([{ type: "users", id: member.id }]);
    const cleared = await env.admin.patch(`/notification-configurations/${nc.id}`, doc({ enabled: true, name: "renamed again" }));
    expect(cleared.status).toBe(200);
    expect(cleared.body.data.relationships.users.data).toEqual([]);
    expect(cleared.body.data.attributes["email-addresses"]).toEqual(["ops@example.com"]);
  });
});
