import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  context,
  propagation,
  trace,
} from "@opentelemetry/api";

const tracer = () => trace.getTracer("tarmac");

/**
 * Writes the W3C `traceparent` (and `tracestate`) of `ctx` into message headers, so a consumer
 * in another process continues the same trace. Writes nothing outside a span or before startTelemetry.
 */
export function injectTraceContext(
  carrier: Record<string, string>,
  ctx: Context = context.active(),
): Record<string, string> {
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The context carried by message headers (ROOT_CONTEXT when they carry none), for `withSpan`'s parent. */
export function extractTraceContext(carrier: Readonly<Record<string, string | undefined>>): Context {
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/**
 * Runs `fn` inside a new active span (child of `parentCtx`, else of the active context), ends it
 * when `fn` settles, and records a thrown error on it before rethrowing.
 */
export function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => T | Promise<T>,
  parentCtx: Context = context.active(),
): Promise<T> {
  return tracer().startActiveSpan(name, { attributes }, parentCtx, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      const recorded = error instanceof Error ? error : new Error(String(error));
      span.recordException(recorded);
      span.setStatus({ code: SpanStatusCode.ERROR, message: recorded.message });
      throw error;
    } finally {
      span.end();
    }
  });
}
