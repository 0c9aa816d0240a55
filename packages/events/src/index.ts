export { connectNats, pingNats, type NatsConnection } from "./connection";
export { ensureStream, deleteStream, type StreamOptions } from "./streams";
export { createPublisher, type Publisher, type PublisherOptions, type PublishOptions } from "./publisher";
export { isPooledUrl, outboxListenUrl } from "./outbox-listen-url";
export {
  consumeDurable,
  nakDelayFor,
  type ConsumeOptions,
  type DurableConsumer,
  type MessageContext,
  type PayloadSchema,
} from "./consumer";
export { publishSignal, subscribeSignals } from "./signals";
export type { EventsLogger } from "./logger";
