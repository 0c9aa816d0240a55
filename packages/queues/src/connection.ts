import type { ConnectionOptions } from "bullmq";
import type { RedisOptions } from "ioredis";

export type RedisConnection = string | RedisOptions;

/**
 * BullMQ opens its own ioredis clients from these options (one per Queue, two per
 * Worker), so callers pass a URL or options, never a shared client: a blocking
 * worker connection must not be shared with anything else.
 */
export function toConnectionOptions(connection: RedisConnection): ConnectionOptions {
  // Workers block on BRPOPLPUSH-like commands; BullMQ requires maxRetriesPerRequest null.
  if (typeof connection === "string") return { url: connection, maxRetriesPerRequest: null };
  return { ...connection, maxRetriesPerRequest: null };
}
