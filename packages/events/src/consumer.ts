import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerConfig, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/nats-core";
import { tarmacEvent, type Subjects, type TarmacEvent } from "@tarmac/contracts";
import { extractTraceContext, withSpan } from "@tarmac/telemetry";
import { errorMessage, type EventsLogger } from "./logger";

/** The part of a zod schema this package uses (so callers may pass any schema). */
export interface PayloadSchema<T> {
  safeParse(data: unknown): { success: true; data: T } | { success: false; error: { message: string } };
}

export interface MessageContext {
  subject: string;
  /** 1 on first delivery. */
  deliveryCount: number;
  headers: Record<string, string>;
  /** Tells JetStream the handler is still working (resets the ack wait). */
  working(): void;
}

export interface ConsumeOptions<T> {
  nc: NatsConnection;
  subjects: Pick<Subjects, "streamName">;
  /** Shared by every replica of a process: replicas compete for the consumer's messages. */
  durableName: string;
  filterSubjects: string[];
  /** Must be idempotent: a message is redelivered when its ack is lost. */
  handler: (payload: T, context: MessageContext) => Promise<void>;
  logger: EventsLogger;
  /** Defaults to every Tarmac event (the discriminated union in @tarmac/contracts). */
  schema?: PayloadSchema<T>;
  /** Handlers running at once in this process (default 8). */
  concurrency?: number;
  /** After this many failed deliveries the message is terminated and logged (default 10). */
  maxDeliveries?: number;
  /** Redelivery delay after a failure: doubles per delivery from this, up to 30 s. */
  nakDelayMs?: number;
  ackWaitMs?: number;
  /** Where a new consumer starts; existing durables keep their position. */
  deliverPolicy?: "all" | "new";
  /**
   * Creates the stream again (with the deployment's configuration) when it is gone, e.g. NATS
   * restarted with an empty store; without it the consumer waits until someone else does.
   */
  ensureStream?: () => Promise<void>;
}

export interface DurableConsumer {
  stop(): Promise<void>;
}

function headersOf(msg: JsMsg): Record<string, string> {
  const out: Record<string, string> = {};
  if (!msg.headers) return out;
  for (const [key, values] of msg.headers) {
    if (values[0] !== undefined) out[key.toLowerCase()] = values[0];
  }
  return out;
}

export function nakDelayFor(deliveryCount: number, baseMs: number): number {
  return Math.min(baseMs * 2 ** Math.max(0, deliveryCount - 1), 30_000);
}

/**
 * A durable pull consumer with explicit acks: a message is acked once its handler
 * resolves, nak'ed with a growing delay when it throws, and terminated after
 * `maxDeliveries` failures. A payload that fails validation is terminated at once:
 * bad input is logged, never retried, and never crashes the process.
 */
export async function consumeDurable<T = TarmacEvent>(options: ConsumeOptions<T>): Promise<DurableConsumer> {
  const { nc, logger, durableName, handler } = options;
  const schema = options.schema ?? (tarmacEvent as unknown as PayloadSchema<T>);
  const concurrency = options.concurrency ?? 8;
  const maxDeliveries = options.maxDeliveries ?? 10;
  const nakDelayMs = options.nakDelayMs ?? 500;
  const stream = options.subjects.streamName;

  const jsm = await jetstreamManager(nc);
  // NATS servers before 2.10 take one filter subject per consumer; one durable per
  // filter works on every server and keeps each position independent.
  const durables = options.filterSubjects.map((filter, i) => ({
    filter,
    name: options.filterSubjects.length === 1 ? durableName : `${durableName}-${i}`,
  }));
  async function ensureDurable(name: string, filter: string): Promise<void> {
    const config: Partial<ConsumerConfig> = {
      durable_name: name,
      filter_subject: filter,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: options.deliverPolicy === "new" ? DeliverPolicy.New : DeliverPolicy.All,
      ack_wait: nanos(options.ackWaitMs ?? 30_000),
      // Redelivery is bounded by our own count (terminate + log), not silently by the server.
      max_deliver: -1,
      max_ack_pending: 1_000,
    };
    try {
      await jsm.consumers.add(stream, config);
    } catch (error) {
      // A durable created earlier with another configuration (a deploy changed it).
      if (!/already exists|already in use/i.test(errorMessage(error))) throw error;
      const { durable_name: _name, deliver_policy: _policy, filter_subject: _filter, ...updatable } = config;
      await jsm.consumers.update(stream, name, updatable);
    }
  }
  async function ensureDurableAndStream(name: string, filter: string): Promise<void> {
    try {
      await ensureDurable(name, filter);
    } catch (error) {
      if (!options.ensureStream || !/stream not found/i.test(errorMessage(error))) throw error;
      logger.warn({ durableName: name, stream }, "stream is gone; re-creating it");
      await options.ensureStream();
      await ensureDurable(name, filter);
    }
  }
  for (const { filter, name } of durables) await ensureDurableAndStream(name, filter);

  const js = jetstream(nc);
  // Pull requests ask for several handlers' worth of messages at once: by default the client asks
  // again as soon as a quarter of its quota arrived (every two messages at a quota of 8), a
  // JetStream API request each time. The handlers still run `concurrency` at a time.
  const pullOptions = { max_messages: Math.max(concurrency, 1) * 4, threshold_messages: Math.max(concurrency, 1) };
  const inFlight = new Set<Promise<void>>();
  const waiters: (() => void)[] = [];
  let isStopped = false;
  const open = new Set<ConsumerMessages>();

  async function process(msg: JsMsg): Promise<void> {
    const deliveryCount = msg.info.deliveryCount;
    const headers = headersOf(msg);
    let raw: unknown;
    try {
      raw = msg.json();
    } catch {
      logger.error({ subject: msg.subject, durableName }, "event is not JSON; terminated");
      msg.term("not json");
      return;
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      logger.error({ subject: msg.subject, durableName, error: parsed.error.message }, "invalid event payload; terminated");
      msg.term("invalid payload");
      return;
    }
    try {
      await withSpan(
        `handle ${durableName}`,
        { "messaging.system": "nats", "messaging.destination.name": msg.subject, "messaging.delivery_count": deliveryCount },
        () => handler(parsed.data, { subject: msg.subject, deliveryCount, headers, working: () => msg.working() }),
        extractTraceContext(headers),
      );
      msg.ack();
    } catch (error) {
      if (deliveryCount >= maxDeliveries) {
        logger.error({ subject: msg.subject, durableName, deliveryCount, error: errorMessage(error) }, "event handler kept failing; terminated");
        msg.term("handler failed");
      } else {
        logger.warn({ subject: msg.subject, durableName, deliveryCount, error: errorMessage(error) }, "event handler failed; will redeliver");
        msg.nak(nakDelayFor(deliveryCount, nakDelayMs));
      }
    }
  }

  async function pump(messages: ConsumerMessages): Promise<void> {
    for await (const msg of messages) {
      while (inFlight.size >= concurrency) {
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
      const task: Promise<void> = process(msg)
        .catch((error: unknown) => logger.error({ error: errorMessage(error), durableName }, "event processing crashed"))
        .finally(() => {
          inFlight.delete(task);
          waiters.shift()?.();
        });
      inFlight.add(task);
    }
  }

  /**
   * A pull loop on a deleted consumer (or stream) waits forever by default; end it instead, so
   * keepConsuming creates the durable again and reopens.
   */
  function watchForLoss(name: string, messages: ConsumerMessages): void {
    void (async () => {
      for await (const status of messages.status()) {
        if (status.type === "consumer_deleted" || status.type === "consumer_not_found" || status.type === "stream_not_found") {
          logger.warn({ durableName: name, status: status.type }, "consumer lost; recreating");
          await messages.close();
          return;
        }
      }
    })().catch((error: unknown) => logger.warn({ durableName: name, error: errorMessage(error) }, "consumer status watch ended"));
  }

  /** Keeps one durable's pull loop alive: if it ends while we still run, it is opened again. */
  async function keepConsuming(name: string, filter: string, first: ConsumerMessages): Promise<void> {
    let messages: ConsumerMessages | undefined = first;
    while (!isStopped) {
      try {
        // The durable may have been deleted (an operator, a stream re-creation): create it again.
        if (!messages) await ensureDurableAndStream(name, filter);
        messages ??= await (await js.consumers.get(stream, name)).consume(pullOptions);
        if (isStopped) {
          await messages.close();
          break;
        }
        open.add(messages);
        watchForLoss(name, messages);
        await pump(messages);
      } catch (error) {
        if (!isStopped) logger.error({ durableName: name, error: errorMessage(error) }, "consumer stopped; reopening");
      }
      if (messages) open.delete(messages);
      messages = undefined;
      if (!isStopped) await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }

  const firsts = await Promise.all(
    durables.map(async ({ name }) => (await js.consumers.get(stream, name)).consume(pullOptions)),
  );
  const loops = durables.map(({ name, filter }, i) => keepConsuming(name, filter, firsts[i]!));

  return {
    async stop() {
      isStopped = true;
      await Promise.all([...open].map((messages) => messages.close()));
      await Promise.all(loops);
      await Promise.all([...inFlight]);
    },
  };
}
