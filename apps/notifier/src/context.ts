import type { Db } from "@tarmac/db";
import type { SendSettings } from "@tarmac/notifications";
import type { Logger } from "@tarmac/telemetry";

/** Everything the notifier's handlers need, built once at boot. */
export interface NotifierContext {
  db: Db;
  logger: Logger;
  /** Base of run links (`<publicUrl>/app/<org>/<workspace>/runs/<run>`, HCP's run_url). */
  publicUrl: string;
  /** Decrypts notification tokens. */
  keys: { current: string; previous: readonly string[] };
  send: SendSettings;
  retry: { maxAttempts: number; baseMs: number; maxMs: number };
  now: () => Date;
}

/** Delay before attempt `attempts + 1`: doubling from the base, capped. */
export function retryDelayMs(attempts: number, retry: NotifierContext["retry"]): number {
  return Math.min(retry.baseMs * 2 ** Math.max(0, attempts - 1), retry.maxMs);
}
