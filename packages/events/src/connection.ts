import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/nats-core";

export type { NatsConnection } from "@nats-io/nats-core";

/**
 * Connects to NATS and keeps reconnecting forever: a process outlives a NATS
 * restart, and JetStream's durable consumers resume where they stopped.
 */
export async function connectNats(url: string, name: string): Promise<NatsConnection> {
  return connect({
    servers: url.split(",").map((s) => s.trim()),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    // Every request (each JetStream publish and ack) would otherwise build an Error up front to
    // keep the caller's stack for a failure that rarely comes: a measurable share of the relay's
    // and the consumers' CPU. Errors still say what failed, without the caller's frames.
    noAsyncTraces: true,
  });
}

/** Readiness probe: a round trip to the server. */
export async function pingNats(nc: NatsConnection): Promise<void> {
  await nc.flush();
}
