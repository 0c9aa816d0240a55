import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import type { Telemetry } from "./sdk";

/**
 * Tracing without an exporter: trace and span ids, the active-span context and W3C propagation,
 * so log lines carry `trace_id` and messages carry `traceparent` from process to process; no
 * span processor, no exporter, and none of the instrumentations that wrap every HTTP request,
 * express layer, SQL statement and Redis command. Only the spans Tarmac makes itself (one per
 * request, message and job) exist, and they go nowhere.
 */
export function startTraceIds(onShutdown: () => void): Telemetry {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(new BasicTracerProvider());
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
