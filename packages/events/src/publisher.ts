import { jetstream, type PubAck } from "@nats-io/jetstream";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/nats-core";
import { injectTraceContext } from "@tarmac/telemetry";
import { errorMessage, type EventsLogger } from "./logger";

export interface PublishOptions {
  /** JetStream de-duplication id (Nats-Msg-Id): deterministic for a given fact. */
  msgId: string;
  /** Extra headers; trace context (traceparent, tracestate) is taken from here when present, else from the active span. */
  headers?: Record<string, string>;
}

export interface PublisherOptions {
  logger?: EventsLogger;
  /** Attempts before giving up (default 8, about 13 s of backoff in total). */
  maxAttempts?: number;
  /** First retry delay; doubles up to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** How long to wait for each PubAck. */
  ackTimeoutMs?: number;
}

export interface Publisher {
  /** Resolves once JetStream acknowledged (or de-duplicated) the message; rejects after the last attempt. */
  publish(subject: string, payload: unknown, options: PublishOptions): Promise<PubAck>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A publisher for processes without a database (workers) and for the outbox relay:
 * every message carries a deterministic msgID, so retrying until acknowledged can
 * never publish a fact twice within the stream's duplicate window (DESIGN invariant 4).
 */
export function createPublisher(nc: NatsConnection, options: PublisherOptions = {}): Publisher {
  const js = jetstream(nc);
  const maxAttempts = options.maxAttempts ?? 8;
  const initialDelayMs = options.initialDelayMs ?? 100;
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  const ackTimeoutMs = options.ackTimeoutMs ?? 5_000;

  return {
    async publish(subject, payload, { msgId, headers }) {
      const carried: Record<string, string> = { ...(headers ?? {}) };
      if (!carried.traceparent) injectTraceContext(carried);
      const hdrs = natsHeaders();
      for (const [key, value] of Object.entries(carried)) hdrs.set(key, value);
      const data = new TextEncoder().encode(JSON.stringify(payload));

      let delay = initialDelayMs;
      for (let attempt = 1; ; attempt++) {
        try {
          return await js.publish(subject, data, { msgID: msgId, headers: hdrs, timeout: ackTimeoutMs });
        } catch (error) {
          if (attempt >= maxAttempts) throw error;
          options.logger?.warn({ subject, msgId, attempt, error: errorMessage(error) }, "publish not acknowledged; retrying");
          await sleep(delay);
          delay = Math.min(delay * 2, maxDelayMs);
        }
      }
    },
  };
}
