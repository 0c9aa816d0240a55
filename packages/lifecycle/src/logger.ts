/**
 * The logging this package needs. A pino logger (`@tarmac/telemetry`'s `createLogger`) satisfies
 * it; declaring it here keeps lifecycle free of a dependency on the telemetry stack.
 */
export interface LifecycleLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
