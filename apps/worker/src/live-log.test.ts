import { Redis } from "ioredis";
import { liveLogKey } from "@tarmac/contracts";
import { ETX, PhaseLog, STX } from "@tarmac/runner";
import { waitFor } from "@tarmac/testing";
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
    const monitor = await redis.monitor();
    const phaseId = `plan-burst-${process.pid}-${Date.now()}`;
    const appends: number[] = [];
    monitor.on("monitor", (_time: string, args: string[]) => {
      if (args[0]?.toLowerCase() === "append" && args[1]?.endsWith(phaseId)) appends.push(args[2]!.length);
    });
    const errors: Error[] = [];
    const log = new PhaseLog({ sink: redisLiveLogSink(redis, phaseId, 60_000), onError: (err) => errors.push(err) });
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
      // The reset's APPEND, then one per burst: not one per line.
      await waitFor(async () => (appends.length >= 3 ? true : undefined), { what: "the monitor's appends" });
      expect(appends.length).toBe(3);
    } finally {
      monitor.disconnect();
      await redis.del(liveLogKey(phaseId));
      redis.disconnect();
    }
  }, 20_000);
});

