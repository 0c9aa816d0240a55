import { randomBytes } from "node:crypto";
import { createDb, type Db } from "@tarmac/db";
import { ApiClient } from "./api-client";
import { createTestDatabase, type TestDatabase } from "./database";
import { startGateway, type StartedGateway } from "./processes";

/** A started gateway on its own database, with clients and a database handle for assertions. */
export interface GatewayTestEnv {
  db: Db;
  database: TestDatabase;
  gateway: StartedGateway;
  /** The site admin (TARMAC_ADMIN_TOKEN). */
  admin: ApiClient;
  /** No bearer token: capability URLs, 401s. */
  anonymous: ApiClient;
  /** This file's NATS subject prefix and rate-limit key prefix. */
  prefix: string;
  close(): Promise<void>;
}

/**
 * The gateway alone, as API tests want it: rate limits off (tests of the limits
 * turn them on), no outbox relay (no scheduler listens), a unique prefix.
 */
export async function startGatewayTestEnv(
  env: Record<string, string> = {},
  { poolSize = 3, rewriteDatabaseUrl = (url: string) => url }: { poolSize?: number; rewriteDatabaseUrl?: (url: string) => string } = {},
): Promise<GatewayTestEnv> {
  const database = await createTestDatabase();
  const prefix = `t${randomBytes(4).toString("hex")}`;
  // The gateway may reach the database another way than the test does (through a relay a fault test cuts).
  const gateway = await startGateway(rewriteDatabaseUrl(database.url), {
    TARMAC_NATS_PREFIX: prefix,
    TARMAC_RATE_LIMIT_PER_SECOND: "0",
    TARMAC_RUN_LIST_RATE_LIMIT_PER_MINUTE: "0",
    TARMAC_OUTBOX_RELAY: "off",
    // No scheduler runs beside this gateway: run actions answer once recorded.
    TARMAC_ACTION_WAIT_MS: "0",
    ...env,
  });
  const db = createDb({ databaseUrl: database.url, poolSize });
  return {
    db,
    database,
    gateway,
    prefix,
    admin: new ApiClient(gateway.url, gateway.adminToken),
    anonymous: new ApiClient(gateway.url),
    async close() {
      await gateway.process.stop();
      await db.$disconnect();
      await database.drop();
    },
  };
}
