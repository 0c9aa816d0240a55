import type { NatsConnection, Subscription } from "@nats-io/nats-core";
import { phaseSignal, type PhaseSignal, type Subjects } from "@tarmac/contracts";
import type { EventsLogger } from "./logger";

/**
 * Cancel and force-cancel reach the worker holding a phase over core NATS: a signal
 * is only useful while that worker runs, so it is not stored. A lost signal is
 * covered by the reconcile loop (the run is already canceled in Postgres).
 */
export function publishSignal(nc: NatsConnection, subjects: Subjects, signal: PhaseSignal): void {
  nc.publish(subjects.phaseSignal(signal.runId, signal.phase), JSON.stringify(signal));
}

/** Subscribes to signals of one run's phase (the worker does this while it runs the job). */
export function subscribeSignals(
  nc: NatsConnection,
  subject: string,
  onSignal: (signal: PhaseSignal) => void,
  logger: EventsLogger,
): Subscription {
  return nc.subscribe(subject, {
    callback: (error, msg) => {
      if (error) {
        logger.warn({ subject, error: error.message }, "signal subscription error");
        return;
      }
      let raw: unknown;
      try {
        raw = msg.json();
      } catch {
        raw = undefined;
      }
      const parsed = phaseSignal.safeParse(raw);
      if (!parsed.success) {
        logger.warn({ subject }, "invalid phase signal ignored");
        return;
      }
      onSignal(parsed.data);
    },
  });
}
