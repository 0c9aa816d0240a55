import { Redis } from "ioredis";
import { liveLogKey } from "@tarmac/contracts";
import { ETX, PhaseLog, STX } from "@tarmac/runner";
import { redisLiveLogSink } from "./live-log";

describe("PhaseLog", () => {
  it("opens and writes while Redis is unreachable: the live view is lost, the phase and its final log are not", async () => {
    // A real client whose connection is gone and that queues nothing: every command fails at once.
    const redis = new Redis({ port: 1, host: "127.0.0.1", lazyConnect: true, enableOfflineQueue: false });
    const errors: Error[] = [];
    const log = new PhaseLog({ sink: redisLiveLogSink(redis, "plan-unreachable", 60_000), onError: (err) => errors.push(err) });
    try {
      await expect(log.open()).resolves.toBeUndefined();
      log.write("Terraform will perform the following actions\n");
      await log.flush();
      expect(errors.length).toBeGreaterThanOrEqual(2);
      const bytes = log.finalBytes();
      expect(bytes[0]).toBe(STX);
      expect(bytes[bytes.length - 1]).toBe(ETX);
      expect(bytes.subarray(1, -1).toString()).toBe("Terraform will perform the following actions\n");
    } finally {
      redis.disconnect();
    }
  }, 20_000);

  it("writes a burst of chunks in order, coalesced while a write is in flight", async () => {
    const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
    const phaseId = `plan-burst-${process.pid}-${Date.now()}`;
    // Each write is one MULTI on the real client: count them on their way out. (MONITOR would
    // see them on the server, but ioredis's monitor connection can fail with "Command queue state
    // error" when another client's command arrives in the same read as MONITOR's OK.)
    let transactions = 0;
    const counted = new Proxy(redis, {
      get(target, prop, receiver) {
        if (prop !== "multi") return Reflect.get(target, prop, receiver);
        return () => {
          transactions++;
          return target.multi();
        };
      },
    });
    const errors: Error[] = [];
    const log = new PhaseLog({ sink: redisLiveLogSink(counted, phaseId, 60_000), onError: (err) => errors.push(err) });
    try {
      await log.open();
      const lines = Array.from({ length: 200 }, (_, i) => `line ${i}\n`);
      for (const line of lines.slice(0, 100)) log.write(line);
      // The first burst's APPEND is on its way now; the second waits for it and follows as one.
      await new Promise((resolve) => setImmediate(resolve));
      for (const line of lines.slice(100)) log.write(line);
      await log.flush();
      const stored = await redis.getBuffer(liveLogKey(phaseId));
      expect(stored?.toString()).toBe(`\x02${lines.join("")}`);
      expect(await redis.pttl(liveLogKey(phaseId))).toBeGreaterThan(0);
      expect(errors).toEqual([]);
      // The reset's transaction, then one per burst: not one per line.
      expect(transactions).toBe(3);
    } finally {
      await redis.del(liveLogKey(phaseId));
      redis.disconnect();
    }
  }, 20_000);
});

