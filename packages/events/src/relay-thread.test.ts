import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { subjectsFor, type RunStatusChangedEvent } from "@tarmac/contracts";
import { createDb, enqueueOutbox, inTransaction, type Db } from "@tarmac/db";
import { createTestDatabase, REPO_ROOT, waitFor, type TestDatabase } from "@tarmac/testing";
import { connectNats, deleteStream, ensureStream, type NatsConnection } from "./index";
import { startRelayThread, type RelayThread } from "../relay";

/**
 * The outbox relay as the scheduler (and a relaying gateway) run it: in a worker thread with its
 * own event loop, database connections and NATS connection, loading neither Prisma nor anything
 * else of @tarmac/db but the claims.
 */
const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const subjects = subjectsFor(`trt${randomBytes(4).toString("hex")}`);

function statusEvent(runId: string, to: string): RunStatusChangedEvent {
  return { type: "run.status_changed", runId, workspaceId: "ws-1", from: "pending", to, at: new Date().toISOString() };
}

describe("the outbox relay thread", () => {
  let database: TestDatabase;
  let db: Db;
  let nc: NatsConnection;
  const received: { msgId: string; at: number }[] = [];
  const logs: { level: string; msg: string | undefined }[] = [];
  const logger = {
    debug: (_f: object, msg?: string) => void logs.push({ level: "debug", msg }),
    info: (_f: object, msg?: string) => void logs.push({ level: "info", msg }),
    warn: (_f: object, msg?: string) => void logs.push({ level: "warn", msg }),
    error: (_f: object, msg?: string) => void logs.push({ level: "error", msg }),
  };
  const listening = async (): Promise<number> => {
    const [row] = await db.$queryRaw<{ n: bigint }[]>`
      SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'`;
    return Number(row?.n ?? 0);
  };
  const write = (msgId: string): Promise<void> =>
    inTransaction(db, (tx) => enqueueOutbox(tx, { subject: subjects.runStatusChanged(msgId), payload: statusEvent(msgId, "plan_queued"), msgId }));
  const arrived = (msgId: string): Promise<number> =>
    waitFor(async () => received.find((r) => r.msgId === msgId)?.at, { timeoutMs: 10_000, what: `${msgId} relayed` });

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, poolSize: 2 });
    nc = await connectNats(NATS_URL, "relay-thread-test");
    await ensureStream(nc, subjects);
    nc.subscribe(`${subjects.prefix}.runs.*.status`, {
      callback: (_err, msg) => {
        received.push({ msgId: msg.headers?.get("Nats-Msg-Id") ?? "", at: Date.now() });
      },
    });
    await nc.flush();
  });
  afterAll(async () => {
    await deleteStream(nc, subjects.streamName);
    await nc.close();
    await db.$disconnect();
    await database.drop();
  });

  it("relays a committed row at once, drains on demand, and ends with its connections when stopped", async () => {
    await write("thread-early");
    // Polls only every 30 s: whatever arrives sooner was woken by the commit's NOTIFY.
    const relay = await startRelayThread({ databaseUrl: database.url, natsUrl: NATS_URL, subjects, logger, stream: {}, intervalMs: 30_000 });
    let stopped = false;
    try {
      // Its first round takes what was there before it started.
      await arrived("thread-early");
      await waitFor(async () => ((await listening()) > 0 ? true : undefined), { what: "thread listening" });
      const t = Date.now();
      await write("thread-notified");
      expect((await arrived("thread-notified")) - t).toBeLessThan(5_000);
      await waitFor(async () => ((await db.outboxEvent.count({ where: { publishedAt: null } })) === 0 ? true : undefined), { what: "marked published" });

      // drain() answers from the thread with what it published.
      await db.outboxEvent.updateMany({ where: { msgId: "thread-early" }, data: { publishedAt: null } });
      expect(await relay.drain()).toBe(1);

      const exited = new Promise<number>((resolve) => relay.thread().once("exit", resolve));
      await relay.stop();
      stopped = true;
      await exited;
      await waitFor(async () => ((await listening()) === 0 ? true : undefined), { what: "LISTEN connection closed" });
      expect(logs.filter((l) => l.level === "error")).toEqual([]);
    } finally {
      if (!stopped) await relay.stop();
    }
  });

  it("starts a new thread when its thread ends unexpectedly, and says so", async () => {
    const relay: RelayThread = await startRelayThread({ databaseUrl: database.url, natsUrl: NATS_URL, subjects, logger, stream: {}, intervalMs: 30_000, restartMs: 50 });
    try {
      const first = relay.thread();
      await first.terminate();
      await waitFor(async () => (relay.thread() !== first ? true : undefined), { what: "a new thread" });
      expect(logs.some((l) => l.level === "error" && l.msg?.includes("starting it again"))).toBe(true);
      await waitFor(async () => ((await listening()) > 0 ? true : undefined), { what: "new thread listening" });
      await write("after-restart");
      await arrived("after-restart");
    } finally {
      await relay.stop();
    }
  });

  it("is bundled without Prisma or the rest of @tarmac/db", () => {
    const out = execFileSync(process.execPath, [path.join(REPO_ROOT, "scripts", "build-app.mjs"), "scheduler", "--relay-thread-graph"], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      timeout: 60_000,
    });
    const graph = JSON.parse(out) as { bundled: string[]; external: string[] };
    expect(graph.bundled).toContain("packages/events/relay/thread.ts");
    expect(graph.bundled.filter((file) => file.startsWith("packages/db/"))).toEqual(["packages/db/src/outbox-claims.ts"]);
    expect(graph.external.filter((p) => p.startsWith("@prisma/") || p.startsWith("@opentelemetry/sdk"))).toEqual([]);
    expect(graph.external).toEqual(expect.arrayContaining(["pg", "@nats-io/transport-node"]));
  });
});
