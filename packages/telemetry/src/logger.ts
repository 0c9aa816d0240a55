import { context, isSpanContextValid, trace } from "@opentelemetry/api";
import pino from "pino";

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** Appears as `name` on every line (the process or component). */
  name: string;
  /** pino level: fatal, error, warn, info, debug, trace or silent. */
  level?: string;
  /** Where JSON lines go; stdout when omitted. */
  destination?: pino.DestinationStream;
}

/**
 * Paths whose values are replaced with "[Redacted]". `*` matches one level: `{ job: { token } }` is
 * covered, `{ a: { b: { token } } }` is not, so never log whole payloads (STYLE.md).
 */
export const REDACTED_PATHS = [
  "authorization",
  "token",
  "password",
  "*.authorization",
  "*.token",
  "*.password",
  "headers.authorization",
  "headers.cookie",
  "req.headers.authorization",
  "req.headers.cookie",
  "*.headers.authorization",
] as const;

/** `trace_id` and `span_id` of the active span, or nothing outside a span. */
export function activeTraceFields(): { trace_id?: string; span_id?: string } {
  const spanContext = trace.getSpan(context.active())?.spanContext();
  if (!spanContext || !isSpanContextValid(spanContext)) return {};
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? "info",
      redact: [...REDACTED_PATHS],
      mixin: activeTraceFields,
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
