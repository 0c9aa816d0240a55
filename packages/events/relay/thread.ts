// The outbox relay's thread (startRelayThread): an event loop of its own, so a process busy with
// requests or events cannot delay the relay, and no Prisma client: node-postgres and NATS only.
import { parentPort, workerData } from "node:worker_threads";
import { subjectsFor } from "@tarmac/contracts";
import { openOutboxClaimsAt } from "@tarmac/db/src/outbox-claims";
import { connectNats } from "../src/connection";
import type { EventsLogger } from "../src/logger";
import { relayOutbox } from "../src/relay-loop";
import { ensureStream } from "../src/streams";
import type { RelayThreadData, RelayThreadReply, RelayThreadRequest } from "./thread-protocol";

const data = workerData as RelayThreadData;
const port = parentPort!;
const send = (reply: RelayThreadReply): void => port.postMessage(reply);

/** Log lines go to the process's logger, in the main thread. */
const logger: EventsLogger = {
  debug: (fields, msg) => send({ type: "log", level: "debug", fields, msg }),
  info: (fields, msg) => send({ type: "log", level: "info", fields, msg }),
  warn: (fields, msg) => send({ type: "log", level: "warn", fields, msg }),
  error: (fields, msg) => send({ type: "log", level: "error", fields, msg }),
};

async function main(): Promise<void> {
  const subjects = subjectsFor(data.prefix);
  const nc = await connectNats(data.natsUrl, data.connectionName);
  await ensureStream(nc, subjects, data.stream);
  const rounds = data.rounds ?? 3;
  const relay = relayOutbox({
    claims: openOutboxClaimsAt(data.databaseUrl, rounds),
    nc,
    subjects,
    logger,
    listenUrl: data.listenUrl,
    rounds,
    ...(data.intervalMs !== undefined ? { intervalMs: data.intervalMs } : {}),
    ensureStream: () => ensureStream(nc, subjects, data.stream),
  });
  port.on("message", (request: RelayThreadRequest) => {
    if (request.type === "drain") {
      relay.drain().then(
        (published) => send({ type: "drained", id: request.id, published }),
        (error: unknown) => send({ type: "drained", id: request.id, error: error instanceof Error ? error.message : String(error) }),
      );
    } else if (request.type === "stop") {
      // What is claimed finishes; the NATS connection flushes; then the thread ends by itself.
      relay
        .stop()
        .then(() => nc.drain())
        .catch((error: unknown) => logger.error({ error: error instanceof Error ? error.message : String(error) }, "outbox relay thread stop failed"))
        .finally(() => {
          send({ type: "stopped" });
          port.close();
        });
    }
  });
  send({ type: "ready" });
}

main().catch((error: unknown) => {
  send({ type: "failed", error: error instanceof Error ? error.message : String(error) });
  process.exit(1);
});
