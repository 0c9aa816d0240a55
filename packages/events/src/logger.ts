/**
 * The logging this package needs; a pino logger satisfies it. Declared here so the
 * library does not depend on a logging stack.
 */
export interface EventsLogger {
  debug?(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
