// Deletes this deployment's JetStream stream (named after TARMAC_NATS_PREFIX) so a
// conformance run starts without events left over from a previous run, whose
// database was dropped. Only the dedicated conformance prefix is ever passed here.
import { connect } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";

const prefix = process.argv[2];
if (!prefix || prefix === "tarmac") throw new Error("refusing to reset the default deployment's stream");
const nc = await connect({ servers: process.env.NATS_URL ?? "nats://127.0.0.1:4222" });
try {
  const jsm = await jetstreamManager(nc);
  for await (const s of jsm.streams.list()) {
    if (s.config.name.toLowerCase() === prefix.toLowerCase()) {
      await jsm.streams.delete(s.config.name);
      console.log(`[conformance] deleted stream ${s.config.name}`);
    }
  }
} finally {
  await nc.close();
}
