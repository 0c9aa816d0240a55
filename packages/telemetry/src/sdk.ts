import type { SpanProcessor } from "@opentelemetry/sdk-trace-base";

export interface TelemetryOptions {
  /** `service.name` of every span (e.g. "tarmac-gateway"). */
  serviceName: string;
  /** Base OTLP/HTTP endpoint, as in OTEL_EXPORTER_OTLP_ENDPOINT; `/v1/traces` is appended. No export when absent. */
  otlpEndpoint?: string;
  /** Extra processors, e.g. a SimpleSpanProcessor over an InMemorySpanExporter in tests. */
  spanProcessors?: SpanProcessor[];
}

export interface Telemetry {
  /**
   * Waits until every ended span reached its processors' exporters. Span export waits for the
   * resource's asynchronous attributes (host id), so tests call this before reading an in-memory exporter.
   */
  forceFlush(): Promise<void>;
  /** Flushes pending spans, then unregisters everything (so a later startTelemetry works, e.g. in tests). */
  shutdown(): Promise<void>;
}

/**
 * Capability URLs carry their secret in the path (/_jobs/<run>/<secret>/…,
 * /_archivist/<kind>/<id>/<secret>); span attributes must not.
 */
export function redactCapabilityPath(path: string): string {
  return path
    .replace(/^(\/_jobs\/[^/?]+\/)[^/?]+/, "$1[REDACTED]")
    .replace(/^(\/_archivist\/[^/?]+\/[^/?]+\/)[^/?]+/, "$1[REDACTED]");
}

export function tracesUrl(otlpEndpoint: string): string {
  return `${otlpEndpoint.replace(/\/+$/, "")}/v1/traces`;
}

let isStarted = false;

/**
 * Starts tracing. Call it before express, pg or ioredis are first required: the
 * instrumentations patch modules as they load, so anything loaded earlier stays untraced.
 *
 * With an OTLP endpoint (or processors, in tests) it starts the OpenTelemetry SDK with the
 * http, express, pg and ioredis instrumentations. Without one no span would go anywhere, so
 * neither the SDK nor any instrumentation is loaded: only trace ids and their propagation
 * remain (see trace-ids.ts), which logs and messages carry.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (isStarted) throw new Error("telemetry is already started in this process");
  isStarted = true;
  const stopped = () => {
    isStarted = false;
  };
  // Each mode's modules are loaded here, not imported above, so a process loads only its own.
  if (!options.otlpEndpoint && (options.spanProcessors ?? []).length === 0) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { startTraceIds } = require("./trace-ids") as typeof import("./trace-ids");
    return startTraceIds(stopped);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startNodeSdk } = require("./otel-sdk") as typeof import("./otel-sdk");
  return startNodeSdk(options, stopped);
}
