import type { RedisClient } from "@tarmac/queues";
import type { Phase } from "@tarmac/contracts";
import { isPhaseStopRequested } from "@tarmac/queues";

export interface StopWatchOptions {
  redis: RedisClient;
  queuePrefix: string;
  runId: string;
  phase: Phase;
  intervalMs: number;
  onStop: () => void;
  onError: (err: Error) => void;
}

/**
 * Polls Redis for the scheduler's order to stop this phase (it settled the run without this
 * worker: a timeout, or heartbeats it believed lost). The same order also comes over NATS;
 * this path works while NATS is down. Returns a function that stops polling.
 */
export function watchStopRequest(opts: StopWatchOptions): () => void {
  let isDone = false;
  const timer = setInterval(() => {
    isPhaseStopRequested(opts.redis, opts.queuePrefix, opts.phase, opts.runId)
      .then((requested) => {
        if (requested && !isDone) {
          isDone = true;
          clearInterval(timer);
          opts.onStop();
        }
      })
      .catch((err: Error) => opts.onError(err));
  }, opts.intervalMs);
  return () => {
    isDone = true;
    clearInterval(timer);
  };
}
