import { randomBytes } from "node:crypto";
import { jetstreamManager } from "@nats-io/jetstream";
import { subjectsFor, type RunStatusChangedEvent, type TarmacEvent } from "@tarmac/contracts";
import { createDb, enqueueOutbox, inTransaction, type Db } from "@tarmac/db";
import { createTestDatabase, waitFor, type TestDatabase } from "@tarmac/testing";
import {
  connectNats,
  consumeDurable,
  createPublisher,
  deleteStream,
  ensureStream,
  type NatsConnection,
} from "./index";
import { startOutboxRelay } from "../relay";

const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const subjects = subjectsFor(`tev${randomBytes(4).toString("hex")}`);
const silent = { info() {}, warn() {}, error() {}, debug() {} };

function statusEvent(runId: string, to: string): RunStatusChangedEvent {
  return { type: "run.status_changed", runId, workspaceId: "ws-1", from: "pending", to, at: new Date().toISOString() };
}

async function streamMessages(nc: NatsConnection): Promise<number> {
  const jsm = await jetstreamManager(nc);
  return (await jsm.streams.info(subjects.streamName)).state.messages;
}

let database: TestDatabase;
let db: Db;
let nc: NatsConnection;

beforeAll(async () => {
  database = await createTestDatabase();
  db = createDb({ databaseUrl: database.url, poolSize: 4 });
  nc = await connectNats(NATS_URL, "events-test");
  await ensureStream(nc, subjects);
});

afterAll(async () => {
  await deleteStream(nc, subjects.streamName);
  await nc.close();
  await db.$disconnect();
  await database.drop();
});

describe("ensureStream", () => {
  it("is idempotent", async () => {
    await ensureStream(nc, subjects);
    await ensureStream(nc, subjects);
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(subjects.streamName);
    expect(info.config.subjects).toEqual(subjects.streamSubjects);
    expect(info.config.duplicate_window).toBe(120 * 1e9);
  });
});

describe("outbox relay", () => {
  it("publishes each outbox row once, even when a row is relayed again", async () => {
    const before = await streamMessages(nc);
    await inTransaction(db, (tx) =>
      enqueueOutbox(tx, [
        { subject: subjects.runStatusChanged("run-a"), payload: statusEvent("run-a", "plan_queued"), msgId: "relay-a" },
        { subject: subjects.runStatusChanged("run-b"), payload: statusEvent("run-b", "plan_queued"), msgId: "relay-b" },
        { subject: subjects.runStatusChanged("run-c"), payload: statusEvent("run-c", "plan_queued"), msgId: "relay-c" },
      ]),
    );
    const relay = startOutboxRelay({ db, nc, subjects, logger: silent, intervalMs: 20 });
    try {
      await waitFor(async () => ((await db.outboxEvent.count({ where: { publishedAt: null } })) === 0 ? true : undefined), {
        what: "outbox drained",
      });
      expect(await streamMessages(nc)).toBe(before + 3);

      // A relay that crashed after publishing but before marking: the row goes out again.
      await db.outboxEvent.updateMany({ where: { msgId: "relay-b" }, data: { publishedAt: null } });
      await waitFor(async () => ((await db.outboxEvent.count({ where: { publishedAt: null } })) === 0 ? true : undefined));
      expect(await streamMessages(nc)).toBe(before + 3);
    } finally {
      await relay.stop();
    }
  });

  it("with rounds overlapping, sends every row once and in outbox order", async () => {
    const prefix = `${subjects.prefix}.runs.ovl-`;
    const received: string[] = [];
    const sub = nc.subscribe(`${subjects.prefix}.runs.*.status`, {
      callback: (_err, msg) => {
        if (msg.subject.startsWith(prefix)) received.push(msg.headers?.get("Nats-Msg-Id") ?? "");
      },
    });
    await nc.flush();
    const before = await streamMessages(nc);
    // Small batches and three rounds in flight, while transactions keep committing.
    const relay = startOutboxRelay({ db, nc, subjects, logger: silent, batch: 3, rounds: 3 });
    const ids: string[] = [];
    try {
      for (let i = 0; i < 60; i++) {
        const runId = `ovl-${i % 3}`;
        const msgId = `ovl-${String(i).padStart(2, "0")}`;
        ids.push(msgId);
        await inTransaction(db, (tx) => enqueueOutbox(tx, { subject: subjects.runStatusChanged(runId), payload: statusEvent(runId, "plan_queued"), msgId }));
      }
      await waitFor(async () => (received.length >= ids.length ? true : undefined), { timeoutMs: 15_000, what: "every row relayed" });
      await waitFor(async () => ((await db.outboxEvent.count({ where: { publishedAt: null } })) === 0 ? true : undefined));
      // A plain subscriber sees every publish, also one JetStream de-duplicates: none was sent twice.
      expect(received).toEqual(ids);
      expect(await streamMessages(nc)).toBe(before + ids.length);
    } finally {
      sub.unsubscribe();
      await relay.stop();
    }
  });

  it("relays a committed row at once, long before its next poll (LISTEN/NOTIFY)", async () => {
    const relay = startOutboxRelay({ db, nc, subjects, logger: silent, intervalMs: 30_000 });
    try {
      // Listening: the relay's dedicated connection has run its LISTEN.
      await waitFor(
        async () => {
          const [row] = await db.$queryRaw<{ n: bigint }[]>`
            SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'`;
          return Number(row?.n ?? 0) > 0 ? true : undefined;
        },
        { what: "relay listening" },
      );
      // Whatever the first round found is gone; the relay now sleeps for 30 s.
      await waitFor(async () => ((await db.outboxEvent.count({ where: { publishedAt: null } })) === 0 ? true : undefined));
      await new Promise((resolve) => setTimeout(resolve, 200));

      await inTransaction(db, (tx) =>
        enqueueOutbox(tx, { subject: subjects.runStatusChanged("run-n"), payload: statusEvent("run-n", "plan_queued"), msgId: "notify-n" }),
      );
      const committedAt = Date.now();
      await waitFor(
        async () => ((await db.outboxEvent.findUnique({ where: { msgId: "notify-n" } }))?.publishedAt ? true : undefined),
        { timeoutMs: 5_000, intervalMs: 10, what: "notified row published" },
      );
      expect(Date.now() - committedAt).toBeLessThan(1_000);
    } finally {
      await relay.stop();
    }
  });

  it("de-duplicates a repeated msgId from a retrying publisher", async () => {
    const publisher = createPublisher(nc);
    const first = await publisher.publish(subjects.runStatusChanged("run-d"), statusEvent("run-d", "planning"), { msgId: "dup-d" });
    const second = await publisher.publish(subjects.runStatusChanged("run-d"), statusEvent("run-d", "planning"), { msgId: "dup-d" });
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.seq).toBe(first.seq);
  });
});

describe("consumeDurable", () => {
  it("redelivers a message whose handler failed, then acks it", async () => {
    const runId = `run-nak${randomBytes(3).toString("hex")}`;
    const deliveries: number[] = [];
    const consumer = await consumeDurable({
      nc,
      subjects,
      durableName: "nak-test",
      filterSubjects: [subjects.runStatusChanged(runId)],
      logger: silent,
      nakDelayMs: 50,
      handler: async (_event, ctx) => {
        deliveries.push(ctx.deliveryCount);
        if (ctx.deliveryCount === 1) throw new Error("transient");
      },
    });
    try {
      await createPublisher(nc).publish(subjects.runStatusChanged(runId), statusEvent(runId, "planning"), { msgId: `${runId}-1` });
      await waitFor(() => (deliveries.length >= 2 ? true : undefined), { what: "redelivery" });
      const jsm = await jetstreamManager(nc);
      await waitFor(async () => ((await jsm.consumers.info(subjects.streamName, "nak-test")).num_ack_pending === 0 ? true : undefined), {
        what: "ack",
      });
      expect(deliveries).toEqual([1, 2]);
    } finally {
      await consumer.stop();
    }
  });

  it("terminates an invalid payload without crashing and keeps handling the next message", async () => {
    const runId = `run-bad${randomBytes(3).toString("hex")}`;
    const handled: TarmacEvent[] = [];
    const errors: string[] = [];
    const consumer = await consumeDurable({
      nc,
      subjects,
      durableName: "bad-payload-test",
      filterSubjects: [subjects.runStatusChanged(runId)],
      logger: { ...silent, error: (_obj: object, msg?: string) => void errors.push(msg ?? "") },
      handler: async (event) => void handled.push(event),
    });
    try {
      const publisher = createPublisher(nc);
      await publisher.publish(subjects.runStatusChanged(runId), { type: "run.status_changed", runId }, { msgId: `${runId}-bad` });
      nc.publish(subjects.runStatusChanged(runId), "{not json");
      await publisher.publish(subjects.runStatusChanged(runId), statusEvent(runId, "planning"), { msgId: `${runId}-good` });
      await waitFor(() => (handled.length === 1 ? true : undefined), { what: "good event handled" });
      expect(handled[0]).toMatchObject({ runId, to: "planning" });
      expect(errors).toEqual(expect.arrayContaining(["invalid event payload; terminated"]));
    } finally {
      await consumer.stop();
    }
  });

  it("terminates a message after the maximum number of deliveries", async () => {
    const runId = `run-max${randomBytes(3).toString("hex")}`;
    let attempts = 0;
    const errors: string[] = [];
    const consumer = await consumeDurable({
      nc,
      subjects,
      durableName: "max-deliveries-test",
      filterSubjects: [subjects.runStatusChanged(runId)],
      logger: { ...silent, error: (_obj: object, msg?: string) => void errors.push(msg ?? "") },
      maxDeliveries: 3,
      nakDelayMs: 20,
      handler: async () => {
        attempts++;
        throw new Error("permanent");
      },
    });
    try {
      await createPublisher(nc).publish(subjects.runStatusChanged(runId), statusEvent(runId, "planning"), { msgId: `${runId}-1` });
      await waitFor(() => (errors.includes("event handler kept failing; terminated") ? true : undefined), { what: "terminated" });
      expect(attempts).toBe(3);
    } finally {
      await consumer.stop();
    }
  });
});

describe("consumeDurable resilience", () => {
  it("recreates its durable when it is deleted and keeps consuming", async () => {
    const runId = `run-del${randomBytes(3).toString("hex")}`;
    const handled: string[] = [];
    const consumer = await consumeDurable({
      nc,
      subjects,
      durableName: "deleted-durable-test",
      filterSubjects: [subjects.runStatusChanged(runId)],
      logger: silent,
      handler: async (event) => void handled.push(event.type === "run.status_changed" ? event.to : ""),
    });
    try {
      const publisher = createPublisher(nc);
      await publisher.publish(subjects.runStatusChanged(runId), statusEvent(runId, "planning"), { msgId: `${runId}-1` });
      await waitFor(() => (handled.length === 1 ? true : undefined), { what: "first event" });
      const jsm = await jetstreamManager(nc);
      await jsm.consumers.delete(subjects.streamName, "deleted-durable-test");
      await publisher.publish(subjects.runStatusChanged(runId), statusEvent(runId, "planned"), { msgId: `${runId}-2` });
      await waitFor(() => (handled.includes("planned") ? true : undefined), { what: "event after the durable was recreated", timeoutMs: 20_000 });
    } finally {
      await consumer.stop();
    }
  }, 30_000);

  it("re-creates a stream that vanished (NATS restarted empty), its durables, and keeps consuming", async () => {
    const own = subjectsFor(`tevgone${randomBytes(3).toString("hex")}`);
    await ensureStream(nc, own);
    const runId = `run-gone${randomBytes(3).toString("hex")}`;
    const handled: string[] = [];
    const consumer = await consumeDurable({
      nc,
      subjects: own,
      durableName: "stream-gone-test",
      filterSubjects: [own.runStatusChanged(runId)],
      logger: silent,
      ensureStream: () => ensureStream(nc, own),
      handler: async (event) => void handled.push(event.type === "run.status_changed" ? event.to : ""),
    });
    try {
      // This publisher cannot create the stream: only the consumer can bring it back.
      const publisher = createPublisher(nc, { initialDelayMs: 50 });
      await publisher.publish(own.runStatusChanged(runId), statusEvent(runId, "planning"), { msgId: `${runId}-1` });
      await waitFor(() => (handled.length === 1 ? true : undefined), { what: "first event" });
      await deleteStream(nc, own.streamName);
      await publisher.publish(own.runStatusChanged(runId), statusEvent(runId, "planned"), { msgId: `${runId}-2`, retryForMs: 20_000 });
      await waitFor(() => (handled.includes("planned") ? true : undefined), { what: "event after the stream was re-created", timeoutMs: 20_000 });
      const jsm = await jetstreamManager(nc);
      expect((await jsm.streams.info(own.streamName)).config.duplicate_window).toBe(120 * 1e9);
    } finally {
      await consumer.stop();
    }
    // With no consumer around, a publisher that may re-create the stream does so itself.
    await deleteStream(nc, own.streamName);
    const creating = createPublisher(nc, { ensureStream: () => ensureStream(nc, own), initialDelayMs: 50 });
    await creating.publish(own.runStatusChanged(runId), statusEvent(runId, "applied"), { msgId: `${runId}-3` });
    const jsm = await jetstreamManager(nc);
    expect((await jsm.streams.info(own.streamName)).state.messages).toBe(1);
    await deleteStream(nc, own.streamName);
  }, 40_000);
});
