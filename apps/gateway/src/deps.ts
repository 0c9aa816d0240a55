import type { RedisClient } from "@tarmac/queues";
import type { Db } from "@tarmac/db";
import type { KeyRing } from "@tarmac/contracts";
import type { Logger } from "@tarmac/telemetry";
import type { GatewayEnv } from "./env";
import type { ActionDecisions } from "./http/action-decisions";
import type { LiveStreams } from "./routes/live-events";
import type { RunWakeups } from "./http/run-wakeups";

/** Everything a route needs, built once at boot and passed down (no globals). */
export interface GatewayDeps {
  db: Db;
  /** One node, a Sentinel-managed primary or a cluster: only single-key commands. */
  redis: RedisClient;
  env: GatewayEnv;
  logger: Logger;
  /** Absolute base URL without a trailing slash, e.g. "http://127.0.0.1:8080". */
  publicUrl: string;
  /** Deployment keys: capability URL secrets and sensitive values (`current` writes, all read). */
  keys: KeyRing;
  now: () => Date;
  /** Wakes a run action's answer when the scheduler decided it; absent, actions answer at once. */
  actionDecisions?: ActionDecisions;
  /** The web UI's open event streams, ended at shutdown; absent, they end when their browser leaves. */
  liveStreams?: LiveStreams;
  /** Wakes the open event streams on run and workspace events (NATS); absent, they only poll. */
  runWakeups?: RunWakeups;
}
