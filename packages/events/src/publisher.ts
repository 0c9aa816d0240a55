import { jetstream, type PubAck } from "@nats-io/jetstream";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/nats-core";
// The module itself, not the package index: the relay thread loads this without the telemetry SDK.
import { injectTraceContext } from "@tarmac/telemetry/src/trace-context";
import { errorMessage, type EventsLogger } from "./logger";

export interface PublishOptions {
  /** JetStream de-duplication id (Nats-Msg-Id): deterministic for a given fact. */
  msgId: string;
  /** Extra headers; trace context (traceparent, tracestate) is taken from here when present, else from the active span. */
  headers?: Record<string, string>;
  /**
   * Keep retrying until acknowledged for this long (from the first attempt) instead of
   * `maxAttempts`: for facts that must arrive, such as a phase's final event.
   */
  retryForMs?: number;
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
  /**
   * Creates the stream again when a publish finds none (NATS restarted with an empty store):
   * JetStream answers "no responders" for a subject no stream captures.
   */
  ensureStream?: () => Promise<void>;
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
    async publish(subject, payload, { msgId, headers, retryForMs }) {
      const carried: Record<string, string> = { ...(headers ?? {}) };
      if (!carried.traceparent) injectTraceContext(carried);
      const hdrs = natsHeaders();
      for (const [key, value] of Object.entries(carried)) hdrs.set(key, value);
      const data = new TextEncoder().encode(JSON.stringify(payload));

      let delay = initialDelayMs;
      const giveUpAt = retryForMs === undefined ? undefined : Date.now() + retryForMs;
      for (let attempt = 1; ; attempt++) {
        try {
          return await js.publish(subject, data, { msgID: msgId, headers: hdrs, timeout: ackTimeoutMs });
        } catch (error) {
          if (giveUpAt === undefined ? attempt >= maxAttempts : Date.now() + delay >= giveUpAt) throw error;
          options.logger?.warn({ subject, msgId, attempt, error: errorMessage(error) }, "publish not acknowledged; retrying");
          if (options.ensureStream && isNoStream(error)) {
            await options.ensureStream().catch((ensureError: unknown) =>
              options.logger?.warn({ subject, error: errorMessage(ensureError) }, "stream not re-created yet"),
            );
          }
          await sleep(delay);
          delay = Math.min(delay * 2, maxDelayMs);
        }
      }
    },
  };
}

/**
 * A publish no stream captured: the request finds no responders, which the client reports as
 * "jetstream is not enabled" (with the no-responders error as its cause).
 */
export function isNoStream(error: unknown): boolean {
  const cause = error instanceof Error ? error.cause : undefined;
  return /no responders|not enabled|stream not found/i.test(`${errorMessage(error)} ${cause ? errorMessage(cause) : ""}`);
}
