import { liveLogKey } from "@tarmac/contracts";
import type { RedisClient } from "@tarmac/queues";
import type { LiveLogSink } from "@tarmac/runner";

/**
 * The worker's live log: chunks APPENDed to the phase's Redis key (liveLogKey), which the
 * gateway's log-read-url serves within a round trip. One write at a time is in flight; what the
 * phase prints meanwhile goes out as one APPEND once it is answered (terraform prints in bursts of
 * small chunks, and each write was a MULTI of its own: a socket write and four commands). So
 * chunks land in the order they were written, and a quiet log still reaches Redis at once.
 */
export function redisLiveLogSink(redis: RedisClient, phaseId: string, ttlMs: number): LiveLogSink {
  const key = liveLogKey(phaseId);
  let buffered: Buffer[] = [];
  let reset = false;
  let scheduled = false;
  let chain: Promise<unknown> = Promise.resolve();
  const send = async (): Promise<unknown> => {
    const body = buffered.length === 1 ? buffered[0]! : Buffer.concat(buffered);
    const isReset = reset;
    buffered = [];
    reset = false;
    scheduled = false;
    const tx = redis.multi();
    if (isReset) tx.del(key);
    return tx.append(key, body).pexpire(key, ttlMs).exec();
  };
  // Each write's promise settles once the send that carries it does (a failure reaches every
  // write it carried); a failed send does not stop the next one.
  const schedule = (): Promise<unknown> => {
    if (!scheduled) {
      scheduled = true;
      chain = chain.then(send, send);
    }
    return chain;
  };
  return {
    reset(first) {
      buffered = [first];
      reset = true;
      return schedule();
    },
    append(chunk) {
      buffered.push(chunk);
      return schedule();
    },
  };
}
