import { liveLogKey } from "@tarmac/contracts";
import type { RedisClient } from "@tarmac/queues";
import { coalescingSink, type LiveLogSink } from "@tarmac/runner";

/**
 * The worker's live log: chunks APPENDed to the phase's Redis key (liveLogKey), which the
 * gateway's log-read-url serves within a round trip. One write at a time is in flight; what the
 * phase prints meanwhile goes out as one APPEND once it is answered (each chunk was a MULTI of its
 * own: a socket write and four commands). Chunks land in the order they were written, and a
 * quiet log still reaches Redis at once.
 */
export function redisLiveLogSink(redis: RedisClient, phaseId: string, ttlMs: number): LiveLogSink {
  const key = liveLogKey(phaseId);
  return coalescingSink((body, reset) => {
    const tx = redis.multi();
    if (reset) tx.del(key);
    return tx.append(key, body).pexpire(key, ttlMs).exec();
  });
}
