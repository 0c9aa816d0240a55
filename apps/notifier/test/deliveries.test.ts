import { randomBytes } from "node:crypto";
import { createDb, encryptValue, notificationsRepo, type Db } from "@tarmac/db";
import { newId } from "@tarmac/domain";
import { createLogger } from "@tarmac/telemetry";
import { createOrganizationRow, createTestDatabase, createWorkspaceRow, startWebhookReceiver, waitFor, type TestDatabase, type WebhookReceiver } from "@tarmac/testing";
import type { NotifierContext } from "../src/context";
import { startDispatcher, type Dispatcher } from "../src/dispatcher";
import { recordDeliveriesFor } from "../src/intake";

/**
 * The notifier's two halves against the real PostgreSQL, in process: intake (events → delivery
 * rows) and the dispatcher (rows → requests), with several replicas sharing one database.
 */
const KEY = randomBytes(32).toString("base64url");
const TOKEN = "hook-token";

describe("notification deliveries", () => {
  let database: TestDatabase;
  const pools: Db[] = [];
  let receiver: WebhookReceiver;

  function replica(retry: Partial<NotifierContext["retry"]> = {}): NotifierContext {
    const db = createDb({ databaseUrl: database.url, poolSize: 3 });
    pools.push(db);
    return {
      db,
      logger: createLogger({ name: "notifier-test", level: process.env.TEST_LOG_LEVEL ?? "silent" }),
      publicUrl: "https://tarmac.example",
      keys: { current: KEY, previous: [] },
      send: { timeoutMs: 2_000, userAgent: "test" },
      retry: { maxAttempts: 5, baseMs: 50, maxMs: 200, ...retry },
      now: () => new Date(),
    };
  }

  let main: NotifierContext;

  beforeAll(async () => {
    database = await createTestDatabase();
    main = replica();
    receiver = await startWebhookReceiver({ token: TOKEN });
  });
  afterAll(async () => {
    await receiver?.close();
    await Promise.all(pools.map((p) => p.$disconnect()));
    await database?.drop();
  });

  interface Fixture {
    runId: string;
    workspaceId: string;
    configurationId: string;
  }

  async function fixture(opts: { planOnly?: boolean; autoApply?: boolean; costEstimation?: boolean; url?: string; triggers?: string[] } = {}): Promise<Fixture> {
    const db = main.db;
    const org = await createOrganizationRow(db, { costEstimationEnabled: opts.costEstimation ?? false });
    const userId = newId("user");
    await db.user.create({ data: { id: userId, username: `u-${org.name}`, email: `u-${org.name}@example.com` } });
    const teamId = newId("team");
    await db.team.create({ data: { id: teamId, organizationId: org.id, name: "owners", isOwners: true } });
    await db.teamMembership.create({ data: { teamId, userId } });
    const ws = await createWorkspaceRow(db, org.id);
    const cvId = newId("cv");
    await db.configurationVersion.create({ data: { id: cvId, workspaceId: ws.id, status: "uploaded" } });
    const runId = newId("run");
    await db.run.create({
      data: {
        id: runId,
        organizationId: org.id,
        workspaceId: ws.id,
        configurationVersionId: cvId,
        operation: opts.planOnly ? "plan_only" : "plan_and_apply",
        planOnly: opts.planOnly ?? false,
        autoApply: opts.autoApply ?? false,
        hasChanges: true,
        terraformVersion: "1.11.4",
        createdById: userId,
        message: "deliver me",
      },
    });
    const config = await notificationsRepo.createConfiguration(db, ws.id, {
      name: "hook",
      destinationType: "generic",
      enabled: true,
      url: opts.url ?? receiver.url,
      token: encryptValue(TOKEN, KEY),
      triggers: opts.triggers ?? ["run:created", "run:planning", "run:needs_attention", "run:applying", "run:completed", "run:errored"],
      emailAddresses: [],
      emailUserIds: [],
    });
    // Subscribed to nothing this run fires, and a disabled one: neither is owed anything.
    await notificationsRepo.createConfiguration(db, ws.id, { name: "other", destinationType: "generic", enabled: true, url: receiver.url, token: null, triggers: ["run:errored"], emailAddresses: [], emailUserIds: [] });
    await notificationsRepo.createConfiguration(db, ws.id, { name: "off", destinationType: "generic", enabled: false, url: receiver.url, token: null, triggers: ["run:planning"], emailAddresses: [], emailUserIds: [] });
    return { runId, workspaceId: ws.id, configurationId: config.id };
  }

  const statusEvent = (f: Fixture, to: string, at = new Date()) => ({ type: "run.status_changed" as const, runId: f.runId, workspaceId: f.workspaceId, from: "plan_queued", to, at: at.toISOString() });

  it("records one delivery per configuration, run and trigger, however many replicas handle an event and however often", async () => {
    const f = await fixture();
    const replicas = [main, replica(), replica()];
    const event = statusEvent(f, "planning");
    const created = await Promise.all([...replicas, ...replicas].map((ctx) => recordDeliveriesFor(ctx, event)));
    // The planning delivery, and the run's creation with it (its own event may come later).
    expect(created.reduce((a, b) => a + b, 0)).toBe(2);
    const rows = await main.db.notificationDelivery.findMany({ where: { runId: f.runId }, orderBy: { runUpdatedAt: "asc" } });
    expect(rows.map((r) => [r.configurationId, r.trigger, r.runStatus, r.runUpdatedBy])).toEqual([
      [f.configurationId, "run:created", "pending", expect.stringMatching(/^u-org-/)],
      [f.configurationId, "run:planning", "planning", null],
    ]);
    expect(await recordDeliveriesFor(main, { type: "run.created", runId: f.runId, workspaceId: f.workspaceId, organizationId: "x", speculative: false, at: new Date().toISOString() })).toBe(0);
    // Statuses that fire nothing, and speculative runs, owe nothing.
    expect(await recordDeliveriesFor(main, statusEvent(f, "plan_queued"))).toBe(0);
    const speculative = await fixture({ planOnly: true });
    expect(await recordDeliveriesFor(main, statusEvent(speculative, "planning"))).toBe(0);
    expect(await recordDeliveriesFor(main, { type: "run.created", runId: speculative.runId, workspaceId: speculative.workspaceId, organizationId: "x", speculative: true, at: new Date().toISOString() })).toBe(0);
  });

  it("calls a cost-estimated run in need of attention only when it stopped there for a person", async () => {
    const owed = async (f: Fixture, trigger: string) => main.db.notificationDelivery.count({ where: { runId: f.runId, trigger } });
    const waits = await fixture({ costEstimation: true });
    await recordDeliveriesFor(main, statusEvent(waits, "cost_estimated"));
    expect(await owed(waits, "run:needs_attention")).toBe(1);
    const appliesItself = await fixture({ costEstimation: true, autoApply: true });
    expect(await recordDeliveriesFor(main, statusEvent(appliesItself, "cost_estimated"))).toBe(0);
    expect(await owed(appliesItself, "run:needs_attention")).toBe(0);
    // `planned` is only ever reached to wait.
    await recordDeliveriesFor(main, statusEvent(appliesItself, "planned"));
    expect(await owed(appliesItself, "run:needs_attention")).toBe(1);
  });

  it("sends each delivery once with two dispatchers sharing the work, signed, in status order per run", async () => {
    const f = await fixture();
    const statuses = ["planning", "planned", "applying", "applied"];
    const start = Date.now();
    for (const [i, status] of statuses.entries()) await recordDeliveriesFor(main, statusEvent(f, status, new Date(start + i)));
    await recordDeliveriesFor(main, { type: "run.created", runId: f.runId, workspaceId: f.workspaceId, organizationId: "x", speculative: false, at: new Date(start - 1).toISOString() });
    const dispatchers: Dispatcher[] = [startDispatcher(replica(), { concurrency: 4, pollMs: 50 }), startDispatcher(replica(), { concurrency: 4, pollMs: 50 })];
    try {
      await waitFor(async () => ((await main.db.notificationDelivery.count({ where: { runId: f.runId, state: "delivered" } })) === 5 ? true : undefined), {
        timeoutMs: 15_000,
        what: "five deliveries",
      });
    } finally {
      await Promise.all(dispatchers.map((d) => d.stop()));
    }
    const got = receiver.requests.filter((r) => r.json?.run_id === f.runId);
    expect(got.map((r) => r.json.notifications[0].trigger)).toEqual(["run:created", "run:planning", "run:needs_attention", "run:applying", "run:completed"]);
    expect(got.every((r) => r.signatureValid)).toBe(true);
    expect(got[0]!.json).toMatchObject({ run_url: `https://tarmac.example/app/${got[0]!.json.organization_name}/${got[0]!.json.workspace_name}/runs/${f.runId}`, run_message: "deliver me" });
    const rows = await main.db.notificationDelivery.findMany({ where: { runId: f.runId } });
    expect(rows.every((r) => r.attempts === 1 && r.deliveredAt !== null && r.leaseUntil === null)).toBe(true);
  });

  it("retries a failing receiver with backoff and gives up after the last attempt, keeping each response", async () => {
    const failing = await startWebhookReceiver({ status: 503 });
    try {
      const f = await fixture({ url: failing.url, triggers: ["run:planning"] });
      await recordDeliveriesFor(main, statusEvent(f, "planning"));
      const dispatcher = startDispatcher(replica({ maxAttempts: 3 }), { concurrency: 2, pollMs: 50 });
      try {
        await waitFor(async () => ((await main.db.notificationDelivery.findFirst({ where: { runId: f.runId, state: "failed" } })) ?? undefined), {
          timeoutMs: 15_000,
          what: "the delivery to be given up",
        });
      } finally {
        await dispatcher.stop();
      }
      expect(failing.requests).toHaveLength(3);
      const row = await main.db.notificationDelivery.findFirstOrThrow({ where: { runId: f.runId } });
      expect(row).toMatchObject({ state: "failed", attempts: 3, lastError: "answered 503" });
      const config = await notificationsRepo.findConfiguration(main.db, f.configurationId);
      const responses = config!.deliveryResponses as { code: string; successful: string }[];
      expect(responses.map((r) => [r.code, r.successful])).toEqual([["503", "false"], ["503", "false"], ["503", "false"]]);
    } finally {
      await failing.close();
    }
  });

  it("gives a delivery whose replica died mid-send to another once the lease ends, and skips disabled configurations", async () => {
    const f = await fixture({ triggers: ["run:planning"] });
    // Rows earlier tests left pending are not this test's to claim.
    await main.db.notificationDelivery.updateMany({ where: { state: "pending" }, data: { state: "skipped" } });
    await recordDeliveriesFor(main, statusEvent(f, "planning"));
    // A replica takes it and dies before answering.
    const [taken] = await notificationsRepo.claimDueDeliveries(main.db, 10, 300, new Date());
    expect(taken?.runId).toBe(f.runId);
    expect(await notificationsRepo.claimDueDeliveries(main.db, 10, 300, new Date())).toEqual([]);
    const dispatcher = startDispatcher(replica(), { concurrency: 2, pollMs: 50 });
    try {
      await waitFor(async () => ((await main.db.notificationDelivery.count({ where: { runId: f.runId, state: "delivered" } })) === 1 ? true : undefined), {
        timeoutMs: 10_000,
        what: "the abandoned delivery",
      });
      expect((await main.db.notificationDelivery.findFirstOrThrow({ where: { runId: f.runId } })).attempts).toBe(2);

      // Disabled after the event: the delivery is skipped, not sent.
      await notificationsRepo.updateConfiguration(main.db, f.configurationId, { enabled: false });
      const before = receiver.requests.length;
      await main.db.notificationDelivery.create({ data: { configurationId: f.configurationId, runId: f.runId, trigger: "run:applying", runStatus: "applying", runUpdatedAt: new Date() } });
      await waitFor(async () => ((await main.db.notificationDelivery.findFirst({ where: { runId: f.runId, trigger: "run:applying", state: "skipped" } })) ?? undefined), {
        timeoutMs: 10_000,
        what: "the skipped delivery",
      });
      expect(receiver.requests.length).toBe(before);
    } finally {
      await dispatcher.stop();
    }
  });
});
