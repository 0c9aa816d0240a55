import type { KeyRing, Phase, Subjects } from "@tarmac/contracts";
import type { Db } from "@tarmac/db";
import type { NatsConnection } from "@tarmac/events";
import type { PhaseQueues } from "@tarmac/queues";
import type { Logger } from "@tarmac/telemetry";
import type { PriceTable } from "./price-table";

export interface SchedulerSettings {
  /** Base URL of the gateway as workers reach it. */
  gatewayUrl: string;
  /** Deployment keys job URLs are minted under (TARMAC_ENCRYPTION_KEY). */
  capabilityKeys: KeyRing;
  heartbeatTimeoutMs: number;
  /** An agent silent for this long is lost (default 30 s): its job errors, as a lost worker's does. */
  agentHeartbeatTimeoutMs?: number;
  planTimeoutMs: number;
  applyTimeoutMs: number;
  /** A queued run's finished/failed job is only acted on after this long (its events may still be in flight). */
  reconcileGraceMs: number;
  /** Base URL integrations reach the API at (run task callback and download URLs); defaults to gatewayUrl. */
  publicUrl?: string;
  /** A run task that has not reported a final result this long after its stage started errors (HCP: 10 minutes). */
  runTaskTimeoutMs?: number;
  /** How long one request to a task URL may take. */
  runTaskRequestTimeoutMs?: number;
  /** Requests to a task URL that does not answer 200 before its result errors. */
  runTaskMaxDeliveryAttempts?: number;
}

/** Everything the engine's functions need; built once in main.ts (or by a test). */
export interface SchedulerContext {
  db: Db;
  queues: Pick<PhaseQueues, "plan" | "apply">;
  nc: NatsConnection;
  subjects: Subjects;
  logger: Logger;
  settings: SchedulerSettings;
  priceTable: PriceTable;
  now: () => Date;
}

/** Side effects outside Postgres, performed only after the transaction that decided them commits. */
export type Effect =
  /**
   * Adds the phase's job unless one exists in any state: a finished job means the phase ran
   * already and only the reconcile loop may decide to run it again (`replaceFinished`).
   */
  | {
      kind: "enqueue";
      phase: Phase;
      runId: string;
      replaceFinished?: boolean;
      /** The workspace was read not in agent mode (under its lock, or with the run): straight to the worker queue. */
      toWorkers?: boolean;
    }
  | { kind: "remove-job"; phase: Phase; runId: string }
  | { kind: "signal"; phase: Phase; runId: string; signal: "SIGINT" | "SIGKILL" }
  | { kind: "promote"; organizationId: string }
  /** Sends a run task result's request to its task URL (task-dispatch.ts); idempotent. */
  | { kind: "dispatch-task"; taskResultId: string };

export class Effects {
  readonly list: Effect[] = [];
  add(effect: Effect): void {
    this.list.push(effect);
  }
}
