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
  planTimeoutMs: number;
  applyTimeoutMs: number;
  /** A queued run's finished/failed job is only acted on after this long (its events may still be in flight). */
  reconcileGraceMs: number;
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
  | { kind: "enqueue"; phase: Phase; runId: string; replaceFinished?: boolean }
  | { kind: "remove-job"; phase: Phase; runId: string }
  | { kind: "signal"; phase: Phase; runId: string; signal: "SIGINT" | "SIGKILL" }
  | { kind: "promote"; organizationId: string };

export class Effects {
  readonly list: Effect[] = [];
  add(effect: Effect): void {
    this.list.push(effect);
  }
}
