import type { StreamOptions } from "../src/streams";

/** What the relay thread is started with (workerData). */
export interface RelayThreadData {
  /** Where the relay claims outbox rows (never through a transaction-mode pooler for LISTEN: see listenUrl). */
  databaseUrl: string;
  /** The LISTEN connection's URL (outboxListenUrl); none: the relay polls. */
  listenUrl: string | undefined;
  natsUrl: string;
  connectionName: string;
  prefix: string;
  stream: StreamOptions;
  rounds?: number;
  intervalMs?: number;
}

export type RelayThreadRequest = { type: "drain"; id: number } | { type: "stop" };

export type RelayThreadReply =
  | { type: "ready" }
  | { type: "failed"; error: string }
  | { type: "log"; level: "debug" | "info" | "warn" | "error"; fields: object; msg: string | undefined }
  | { type: "drained"; id: number; published?: number; error?: string }
  | { type: "stopped" };
