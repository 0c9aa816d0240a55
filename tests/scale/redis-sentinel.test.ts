import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { redisTarget, parseEnv, redisEnv } from "@tarmac/config";
import { createPhaseQueues, createPhaseWorker, createRedisClient, enqueuePhaseJob, getPhaseJobState, type RedisClient } from "@tarmac/queues";
import { freePort, waitFor } from "@tarmac/testing";
import { z } from "zod";
import { OwnServer } from "../faults/infra";

/**
 * A Redis primary and replica watched by a Sentinel of this test's own: the apps' client finds
 * the primary through REDIS_SENTINELS, and BullMQ keeps working after Sentinel fails it over.
 */

let dir: string;
const servers: OwnServer[] = [];
let primaryPort: number;
let replicaPort: number;
let sentinelPort: number;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "tarmac-sentinel-"));
  [primaryPort, replicaPort, sentinelPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const node = (port: number, extra: string[] = []) =>
    new OwnServer("redis-server", () => ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir, ...extra], port);
  const primary = node(primaryPort);
  const replica = node(replicaPort, ["--replicaof", "127.0.0.1", String(primaryPort)]);
  const conf = path.join(dir, "sentinel.conf");
  await writeFile(
    conf,
    [`port ${sentinelPort}`, "bind 127.0.0.1", `sentinel monitor tarmac-main 127.0.0.1 ${primaryPort} 1`, "sentinel down-after-milliseconds tarmac-main 1000", "sentinel failover-timeout tarmac-main 5000", ""].join("\n"),
  );
  const sentinel = new OwnServer("redis-server", () => [conf, "--sentinel"], sentinelPort);
  servers.push(primary, replica, sentinel);
  await primary.start();
  await replica.start();
  await sentinel.start();
}, 60_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop(true)));
  await rm(dir, { recursive: true, force: true });
});

it("reaches the primary through Sentinel and keeps queueing after a failover", async () => {
  const env = parseEnv(z.object({ ...redisEnv }), { REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`, REDIS_SENTINEL_NAME: "tarmac-main" });
  const target = redisTarget(env);
  expect(target.mode).toBe("sentinel");
  const redis: RedisClient = createRedisClient(target, { maxRetriesPerRequest: 20 });
  const queues = createPhaseQueues({ connection: target, prefix: "sentinel" });
  const processed: string[] = [];
  const worker = createPhaseWorker({ connection: target, prefix: "sentinel", phase: "plan", concurrency: 1, processor: async (job) => void processed.push(job.data.runId) });
  try {
    await redis.set("probe", "1");
    const role = async (port: number) => {
      const { Redis } = await import("ioredis");
      const r = new Redis({ port, host: "127.0.0.1", lazyConnect: true });
      await r.connect();
      try {
        return ((await r.role()) as unknown[])[0];
      } finally {
        r.disconnect();
      }
    };
    expect(await role(primaryPort)).toBe("master");
    await enqueuePhaseJob(queues, { runId: "run-before", phase: "plan", jobUrl: "http://127.0.0.1:1/j" });
    await waitFor(async () => ((await getPhaseJobState(queues, "plan", "run-before")) === "completed" ? true : undefined), { what: "a job through Sentinel" });

    // Sentinel promotes the replica; the clients follow it.
    const { Redis } = await import("ioredis");
    const s = new Redis({ port: sentinelPort, host: "127.0.0.1" });
    // The replica must have synced before Sentinel accepts to fail over to it.
    await waitFor(async () => ((await s.call("SENTINEL", "FAILOVER", "tarmac-main").catch(() => undefined)) === "OK" ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 300,
      what: "Sentinel to start a failover",
    });
    s.disconnect();
    await waitFor(async () => ((await role(replicaPort)) === "master" ? true : undefined), { timeoutMs: 20_000, intervalMs: 200, what: "the replica promoted" });

    await waitFor(async () => ((await redis.get("probe").catch(() => null)) === "1" ? true : undefined), { timeoutMs: 20_000, what: "the client on the new primary" });
    await enqueuePhaseJob(queues, { runId: "run-after", phase: "plan", jobUrl: "http://127.0.0.1:1/j" });
    await waitFor(async () => ((await getPhaseJobState(queues, "plan", "run-after")) === "completed" ? true : undefined), { timeoutMs: 30_000, what: "a job after the failover" });
    expect(processed).toEqual(["run-before", "run-after"]);
  } finally {
    await worker.close(2_000);
    await queues.close();
    redis.disconnect();
  }
}, 90_000);
