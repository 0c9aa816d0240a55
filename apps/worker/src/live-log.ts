import { liveLogKey } from "@tarmac/contracts";
import type { RedisClient } from "@tarmac/queues";
import type { LiveLogSink } from "@tarmac/runner";

/**
 * The worker's live log: each chunk APPENDed to the phase's Redis key (liveLogKey), which the
 * gateway's log-read-url serves within a round trip. Commands go out in order over one
 * connection, so chunks land in the order they were written.
 */
export function redisLiveLogSink(redis: RedisClient, phaseId: string, ttlMs: number): LiveLogSink {
  const key = liveLogKey(phaseId);
  return {
    reset: (first) => redis.multi().del(key).append(key, first).pexpire(key, ttlMs).exec(),
    append: (chunk) => redis.multi().append(key, chunk).pexpire(key, ttlMs).exec(),
  };
}
