// The outbox relay, an entry of its own (`@tarmac/events/relay`): it reads the outbox through
// @tarmac/db (Prisma, pg), which processes that only publish and consume events (the worker)
// must not load. The package's main entry does not re-export it.
export { listenOnChannel, startOutboxRelay, type OutboxRelay, type OutboxRelayOptions } from "../src/outbox-relay";
