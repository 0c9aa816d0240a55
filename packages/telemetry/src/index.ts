export { redactCapabilityPath, startTelemetry, tracesUrl } from "./sdk";
export type { Telemetry, TelemetryOptions } from "./sdk";
export { REDACTED_PATHS, activeTraceFields, createLogger } from "./logger";
export type { Logger, LoggerOptions } from "./logger";
export { extractTraceContext, injectTraceContext, withSpan } from "./trace-context";
// For tests elsewhere that assert on spans without depending on the SDK packages themselves.
export { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
export type { ReadableSpan, SpanProcessor } from "@opentelemetry/sdk-trace-base";
export type { Context, Span } from "@opentelemetry/api";
