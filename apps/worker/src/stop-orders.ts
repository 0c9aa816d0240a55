import type { Subjects } from "@tarmac/contracts";
import { subscribeSignals, type NatsConnection } from "@tarmac/events";
import type { RedisClient } from "@tarmac/queues";
import type { StopOrders } from "@tarmac/runner";
import type { Logger } from "@tarmac/telemetry";
import { watchStopRequest } from "./stop-watch";

export interface WorkerStopOrdersOptions {
  nc: NatsConnection;
  subjects: Subjects;
  redis: RedisClient;
  /** BullMQ key prefix: the scheduler's stop orders sit next to the job (see stop-watch.ts). */
  queuePrefix?: string;
  intervalMs: number;
  logger: Logger;
}

/**
 * A worker learns of stop orders over core NATS (the scheduler's phase signals) and, for a
 * SIGKILL, by polling Redis as well, which works while NATS is away.
 */
export function workerStopOrders(opts: WorkerStopOrdersOptions): StopOrders {
  return async (runId, phase, deliver) => {
    const subscription = subscribeSignals(opts.nc, opts.subjects.phaseSignal(runId, phase), (s) => deliver(s.signal, "phase signal"), opts.logger);
    // Not awaited: the server handles a connection's messages in order, so the subscription is
    // in place before the `started` event the worker publishes next on this connection (the
    // scheduler signals nothing before it has seen that). The flush only reports a subscription
    // NATS never confirmed: with NATS away (a broker restarting) the phase goes on, the client
    // re-subscribes on reconnect, and a stop request still reaches it through Redis.
    void opts.nc.flush().catch((err: Error) => opts.logger.warn({ runId, phase, error: err.message }, "signal subscription not confirmed"));
    const stopWatch = opts.queuePrefix
      ? watchStopRequest({
          redis: opts.redis,
          queuePrefix: opts.queuePrefix,
          runId,
          phase,
          intervalMs: opts.intervalMs,
          onStop: () => deliver("SIGKILL", "the scheduler settled this phase"),
          onError: (err) => opts.logger.warn({ runId, phase, error: err.message }, "stop request not checked"),
        })
      : undefined;
    return () => {
      subscription.unsubscribe();
      stopWatch?.();
    };
  };
}
