import type { LifecycleLogger } from "./logger";

/** Phases run in this order; steps within one phase run concurrently. */
export const SHUTDOWN_PHASES = ["intake", "drain", "clients", "telemetry"] as const;
export type ShutdownPhase = (typeof SHUTDOWN_PHASES)[number];

/**
 * Default share of the overall budget per phase. Deadlines are cumulative (intake by 20%,
 * drain by 70%, ...), so time a phase leaves unused rolls over to the next, while a hanging
 * drain can never eat the time reserved for closing clients and flushing telemetry.
 */
export const DEFAULT_PHASE_SHARES: Readonly<Record<ShutdownPhase, number>> = {
  intake: 0.2,
  drain: 0.5,
  clients: 0.15,
  telemetry: 0.15,
};

/** Past the overall deadline, the last resort in case a step blocks the phase machinery itself. */
const BACKSTOP_GRACE_MS = 1_000;

export type ShutdownStep = () => void | Promise<void>;
export type StepOutcome = "ok" | "failed" | "timed_out";

export interface StepResult {
  name: string;
  phase: ShutdownPhase;
  outcome: StepOutcome;
  durationMs: number;
  error?: string;
}

export interface ShutdownResult {
  exitCode: 0 | 1;
  steps: StepResult[];
}

export interface ShutdownOptions {
  logger: LifecycleLogger;
  /** Overall deadline for all phases together (SHUTDOWN_TIMEOUT_MS). */
  timeoutMs: number;
  /** Budget per phase in ms, replacing that phase's default share of `timeoutMs`. */
  phaseTimeoutsMs?: Partial<Record<ShutdownPhase, number>>;
  /** Called once with the exit code when shutdown ends; `process.exit` by default. */
  exit?: (code: number) => void;
}

export interface ShutdownManager {
  /** Registers a step; steps registered once shutdown has begun are refused (logged, not run). */
  onShutdown(name: string, fn: ShutdownStep, phase: ShutdownPhase): void;
  /**
   * SIGTERM/SIGINT (by default) start `shutdown()` once; any further signal exits 1 at once.
   * Idempotent.
   */
  installSignalHandlers(signals?: readonly NodeJS.Signals[]): void;
  /** Runs the phases, then calls `exit` with 0, or 1 if a step failed or timed out. Runs once. */
  shutdown(reason?: string): Promise<ShutdownResult>;
  readonly isShuttingDown: boolean;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Cumulative deadlines (ms after shutdown starts) by phase, capped at the overall deadline. */
export function phaseDeadlines(
  timeoutMs: number,
  phaseTimeoutsMs: Partial<Record<ShutdownPhase, number>> = {},
): Record<ShutdownPhase, number> {
  let elapsed = 0;
  const deadlines = {} as Record<ShutdownPhase, number>;
  for (const phase of SHUTDOWN_PHASES) {
    elapsed += phaseTimeoutsMs[phase] ?? Math.floor(timeoutMs * DEFAULT_PHASE_SHARES[phase]);
    deadlines[phase] = Math.min(elapsed, timeoutMs);
  }
  deadlines.telemetry = timeoutMs;
  return deadlines;
}

async function runStep(
  name: string,
  phase: ShutdownPhase,
  fn: ShutdownStep,
  budgetMs: number,
): Promise<StepResult> {
  const startedAt = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timed_out">((resolve) => {
    timer = setTimeout(() => resolve("timed_out"), Math.max(0, budgetMs));
  });
  try {
    // A hanging step is abandoned, not awaited: its promise keeps running until exit.
    const outcome = await Promise.race([Promise.resolve().then(fn).then(() => "ok" as const), timedOut]);
    return { name, phase, outcome, durationMs: Date.now() - startedAt };
  } catch (error) {
    return { name, phase, outcome: "failed", durationMs: Date.now() - startedAt, error: errorMessage(error) };
  } finally {
    clearTimeout(timer);
  }
}

export function createShutdown(options: ShutdownOptions): ShutdownManager {
  const { logger, timeoutMs } = options;
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const deadlines = phaseDeadlines(timeoutMs, options.phaseTimeoutsMs);
  const steps: { name: string; fn: ShutdownStep; phase: ShutdownPhase }[] = [];
  let running: Promise<ShutdownResult> | undefined;
  let hasSignalHandlers = false;

  async function runPhases(reason: string): Promise<ShutdownResult> {
    const startedAt = Date.now();
    logger.info({ reason, timeoutMs }, "shutdown started");
    const backstop = setTimeout(() => {
      logger.error({ timeoutMs }, "shutdown overran its deadline; exiting");
      exit(1);
    }, timeoutMs + BACKSTOP_GRACE_MS);

    const results: StepResult[] = [];
    for (const phase of SHUTDOWN_PHASES) {
      const phaseSteps = steps.filter((step) => step.phase === phase);
      if (phaseSteps.length === 0) continue;
      const budgetMs = startedAt + deadlines[phase] - Date.now();
      const phaseResults = await Promise.all(phaseSteps.map((s) => runStep(s.name, phase, s.fn, budgetMs)));
      for (const result of phaseResults) {
        results.push(result);
        const fields = { step: result.name, phase, durationMs: result.durationMs };
        if (result.outcome === "ok") logger.info(fields, "shutdown step done");
        else if (result.outcome === "timed_out") logger.error({ ...fields, budgetMs }, "shutdown step timed out; abandoned");
        else logger.error({ ...fields, error: result.error }, "shutdown step failed");
      }
    }

    clearTimeout(backstop);
    const exitCode = results.every((r) => r.outcome === "ok") ? 0 : 1;
    logger.info({ exitCode, durationMs: Date.now() - startedAt }, "shutdown finished");
    exit(exitCode);
    return { exitCode, steps: results };
  }

  const manager: ShutdownManager = {
    onShutdown(name, fn, phase) {
      if (running) {
        logger.warn({ step: name, phase }, "shutdown already started; step not registered");
        return;
      }
      steps.push({ name, fn, phase });
    },

    installSignalHandlers(signals = ["SIGTERM", "SIGINT"]) {
      if (hasSignalHandlers) return;
      hasSignalHandlers = true;
      const onSignal = (signal: NodeJS.Signals) => {
        if (running) {
          logger.error({ signal }, "signal received during shutdown; exiting now");
          exit(1);
          return;
        }
        void manager.shutdown(signal);
      };
      for (const signal of signals) process.on(signal, onSignal);
    },

    shutdown(reason = "requested") {
      running ??= runPhases(reason);
      return running;
    },

    get isShuttingDown() {
      return running !== undefined;
    },
  };
  return manager;
}
