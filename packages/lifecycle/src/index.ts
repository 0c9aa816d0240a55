export type { LifecycleLogger } from "./logger";
export { DEFAULT_PHASE_SHARES, SHUTDOWN_PHASES, createShutdown, phaseDeadlines } from "./shutdown";
export type {
  ShutdownManager,
  ShutdownOptions,
  ShutdownPhase,
  ShutdownResult,
  ShutdownStep,
  StepOutcome,
  StepResult,
} from "./shutdown";
export { DEFAULT_CHECK_TIMEOUT_MS, READINESS_RETRY_AFTER_SECONDS, checkReadiness, healthRouter, publicReport, startHealthServer } from "./health";
export type {
  CheckReport,
  HealthCheck,
  HealthRouterOptions,
  HealthServer,
  HealthServerOptions,
  ReadinessReport,
} from "./health";
