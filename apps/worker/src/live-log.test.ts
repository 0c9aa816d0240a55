import { Redis } from "ioredis";
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
});
