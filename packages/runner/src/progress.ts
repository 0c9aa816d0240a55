import { phaseProgressEvent, type Phase, type PhaseProgressEvent, type Subjects } from "@tarmac/contracts";

/**
 * Where progress events go: JetStream for a worker (@tarmac/events' Publisher fits), the
 * gateway over HTTPS for an agent. `msgId` is the event's de-duplication id; a publish that
 * cannot be acknowledged is retried for `retryForMs` before it throws.
 */
export interface ProgressPublisher {
  publish(subject: string, payload: PhaseProgressEvent, options: { msgId: string; retryForMs?: number }): Promise<unknown>;
}

export type ProgressKind = PhaseProgressEvent["kind"];
export type FinishedCounts = Pick<
  PhaseProgressEvent,
  "hasChanges" | "resourceAdditions" | "resourceChanges" | "resourceDestructions" | "resourceImports"
>;

export interface ProgressReporterOptions {
  publisher: ProgressPublisher;
  subjects: Subjects;
  runId: string;
  phase: Phase;
  attempt: number;
  workerId: string;
  heartbeatIntervalMs: number;
  now?: () => Date;
  onHeartbeatError: (err: Error) => void;
  /**
   * How long a final event (finished, errored, canceled) is retried until JetStream
   * acknowledges it (default 10 minutes): the phase's outcome must reach the scheduler across a
   * NATS outage, and the job (with its lock, which tells the scheduler the phase lives) stays
   * active meanwhile. A heartbeat that cannot be published is skipped: the next one follows.
   */
  finalEventRetryMs?: number;
  /** Called with the final event once JetStream acknowledged it. */
  onFinalEvent?: (event: PhaseProgressEvent) => void;
}

const FINAL_EVENT_RETRY_MS = 10 * 60 * 1000;

/**
 * Publishes a phase's progress with deterministic message ids
 * (`<runId>:<phase>:<attempt>:<kind>:<sequence>`): a retried publish is de-duplicated by
 * JetStream, and a later attempt's events are distinct messages (DESIGN invariant 4).
 */
export class ProgressReporter {
  private sequence = 0;
  private timer: NodeJS.Timeout | undefined;
  private heartbeatInFlight: Promise<void> = Promise.resolve();
  private isHeartbeatPending = false;
  private readonly now: () => Date;
  private readonly finalRetryMs: number;

  constructor(private readonly opts: ProgressReporterOptions) {
    this.now = opts.now ?? (() => new Date());
    this.finalRetryMs = opts.finalEventRetryMs ?? FINAL_EVENT_RETRY_MS;
  }

  private async publish(kind: ProgressKind, extra: Partial<PhaseProgressEvent> = {}, retryForMs?: number): Promise<void> {
    const sequence = this.sequence++;
    const event = phaseProgressEvent.parse({
      type: "phase.progress",
      runId: this.opts.runId,
      phase: this.opts.phase,
      kind,
      attempt: this.opts.attempt,
      sequence,
      workerId: this.opts.workerId,
      at: this.now().toISOString(),
      ...extra,
    });
    await this.opts.publisher.publish(this.opts.subjects.phaseProgress(this.opts.runId, this.opts.phase), event, {
      msgId: `${this.opts.runId}:${this.opts.phase}:${this.opts.attempt}:${kind}:${sequence}`,
      ...(retryForMs !== undefined ? { retryForMs } : {}),
    });
    if (kind === "finished" || kind === "errored" || kind === "canceled") this.opts.onFinalEvent?.(event);
  }

  /** `started`, then a heartbeat every interval until stopped. */
  async start(): Promise<void> {
    await this.publish("started", {}, this.finalRetryMs);
    this.timer = setInterval(() => {
      // While NATS is away a heartbeat retries for a while; later ticks are skipped rather than
      // queued behind it, so the final event never waits for a backlog of stale heartbeats.
      if (this.isHeartbeatPending) return;
      this.isHeartbeatPending = true;
      this.heartbeatInFlight = this.publish("heartbeat")
        .catch((err: Error) => this.opts.onHeartbeatError(err))
        .finally(() => (this.isHeartbeatPending = false));
    }, this.opts.heartbeatIntervalMs);
  }

  private async stopHeartbeats(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.heartbeatInFlight;
  }

  async finished(counts: FinishedCounts): Promise<void> {
    await this.stopHeartbeats();
    await this.publish("finished", counts, this.finalRetryMs);
  }

  async errored(message: string): Promise<void> {
    await this.stopHeartbeats();
    await this.publish("errored", { message }, this.finalRetryMs);
  }

  async canceled(message?: string): Promise<void> {
    await this.stopHeartbeats();
    await this.publish("canceled", message ? { message } : {}, this.finalRetryMs);
  }

  /** Stops heartbeats without a final event (the caller could not report one). */
  async stop(): Promise<void> {
    await this.stopHeartbeats();
  }
}
