import {
  context,
  isSpanContextValid,
  propagation,
  trace,
  TraceFlags,
  type Context,
  type Span,
  type SpanContext,
  type SpanOptions,
  type Tracer,
  type TracerProvider,
} from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { RandomIdGenerator } from "@opentelemetry/sdk-trace-base";
import type { Telemetry } from "./sdk";

const ids = new RandomIdGenerator();

/**
 * Spans that are only an identity: a fresh span id in the parent's trace (a new trace at the
 * root), the parent's sampling flag (sampled at the root, as the SDK's default sampler decides),
 * and nothing recorded. Nothing would read what a recording span keeps (name, attributes, times,
 * events) without an exporter, and each cost CPU on every request, message and job.
 */
export class TraceIdsTracer implements Tracer {
  startSpan(_name: string, options?: SpanOptions, ctx: Context = context.active()): Span {
    const parent = options?.root ? undefined : trace.getSpanContext(ctx);
    const inherited = parent !== undefined && isSpanContextValid(parent);
    const spanContext: SpanContext = {
      traceId: inherited ? parent.traceId : ids.generateTraceId(),
      spanId: ids.generateSpanId(),
      traceFlags: inherited ? parent.traceFlags : TraceFlags.SAMPLED,
      ...(inherited && parent.traceState ? { traceState: parent.traceState } : {}),
    };
    return trace.wrapSpanContext(spanContext);
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(name: string, options: SpanOptions, ctx: Context, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    a: F | SpanOptions,
    b?: F | Context,
    c?: F,
  ): ReturnType<F> {
    const fn = (c ?? (typeof b === "function" ? b : a)) as F;
    const options = typeof a === "function" ? undefined : a;
    const parentCtx = c !== undefined ? (b as Context) : context.active();
    const span = this.startSpan(name, options, parentCtx);
    return context.with(trace.setSpan(parentCtx, span), fn as (span: Span) => ReturnType<F>, undefined, span);
  }
}

const tracerProvider: TracerProvider = {
  getTracer: (() => {
    const tracer = new TraceIdsTracer();
    return () => tracer;
  })(),
};

/**
 * Tracing without an exporter: trace and span ids, the active-span context and W3C propagation,
 * so log lines carry `trace_id` and messages carry `traceparent` from process to process; no
 * span processor, no exporter, and none of the instrumentations that wrap every HTTP request,
 * express layer, SQL statement and Redis command. The spans Tarmac makes itself (one per request,
 * message and job) are ids only (TraceIdsTracer): nothing is recorded that would go nowhere.
 */
export function startTraceIds(onShutdown: () => void): Telemetry {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(tracerProvider);
  return {
    async forceFlush() {},
    async shutdown() {
      trace.disable();
      propagation.disable();
      context.disable();
      onShutdown();
    },
  };
}
