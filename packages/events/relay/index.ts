// The outbox relay, an entry of its own (`@tarmac/events/relay`): it reads the outbox through
// @tarmac/db (Prisma, pg), which processes that only publish and consume events (the worker)
// must not load. The package's main entry does not re-export it.
import type { Subjects } from "@tarmac/contracts";
import type { Db } from "@tarmac/db";
import type { NatsConnection } from "@nats-io/nats-core";
import { outboxListenUrl } from "../src/outbox-listen-url";
import { startOutboxRelay, type OutboxRelay } from "../src/outbox-relay";
import type { EventsLogger } from "../src/logger";
import { ensureStream, type StreamOptions } from "../src/streams";

export { listenOnChannel, startOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from "../src/outbox-relay";

/**
 * The relay as a process runs it from its settings: LISTEN on the direct URL when the queries go
 * through a transaction-mode pooler (DATABASE_DIRECT_URL), and a lost stream re-created with the
 * deployment's replica count.
 */
export function startDeploymentRelay(opts: {
  db: Db;
  nc: NatsConnection;
  subjects: Subjects;
  logger: EventsLogger;
  databaseUrl: string;
  directUrl?: string | undefined;
  stream: StreamOptions;
}): OutboxRelay {
  const { db, nc, subjects, logger } = opts;
  return startOutboxRelay({
    db,
    nc,
    subjects,
    logger,
    databaseUrl: outboxListenUrl({ databaseUrl: opts.databaseUrl, directUrl: opts.directUrl }),
    ensureStream: () => ensureStream(nc, subjects, opts.stream),
  });
}
