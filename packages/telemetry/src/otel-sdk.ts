import { context, propagation, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { ExpressInstrumentation } from "@opentelemetry/instrumentation-express";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { IORedisInstrumentation } from "@opentelemetry/instrumentation-ioredis";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { NodeSDK, type NodeSDKConfiguration, core } from "@opentelemetry/sdk-node";
import { BatchSpanProcessor, NoopSpanProcessor, type SpanProcessor } from "@opentelemetry/sdk-trace-base";

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

type Instrumentation = Exclude<NodeSDKConfiguration["instrumentations"][number], unknown[]>;

const PROBE_PATHS = new Set(["/healthz", "/readyz"]);

/**
 * Capability URLs carry their secret in the path (/_jobs/<run>/<secret>/…,
 * /_archivist/<kind>/<id>/<secret>); span attributes must not.
 */
export function redactCapabilityPath(path: string): string {
  return path
    .replace(/^(\/_jobs\/[^/?]+\/)[^/?]+/, "$1[REDACTED]")
    .replace(/^(\/_archivist\/[^/?]+\/[^/?]+\/)[^/?]+/, "$1[REDACTED]");
}

let isStarted = false;

export function tracesUrl(otlpEndpoint: string): string {
  return `${otlpEndpoint.replace(/\/+$/, "")}/v1/traces`;
}

/**
 * Starts the OpenTelemetry SDK. Call it before express, pg or ioredis are first required:
 * the instrumentations patch modules as they load, so anything loaded earlier stays untraced.
 */
export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (isStarted) throw new Error("telemetry is already started in this process");

  const spanProcessors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (options.otlpEndpoint) {
    spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(options.otlpEndpoint) })));
  }
  // NodeSDK registers a tracer provider only when it has a processor; without one there would be
  // no trace ids to log and nothing to propagate through message headers.
  if (spanProcessors.length === 0) spanProcessors.push(new NoopSpanProcessor());

  const instrumentations: Instrumentation[] = [
    new HttpInstrumentation({
      // Probes arrive every few seconds from every orchestrator; tracing them buries real traffic.
      ignoreIncomingRequestHook: (request) => PROBE_PATHS.has((request.url ?? "").split("?")[0] ?? ""),
      startIncomingSpanHook: (request) => {
        const target = request.url ?? "";
        const redacted = redactCapabilityPath(target);
        return redacted === target ? {} : { "http.target": redacted, "url.path": redacted.split("?")[0] ?? "", "http.url": redacted };
      },
    }),
    new ExpressInstrumentation(),
    // Query parameters may carry secrets: keep enhancedDatabaseReporting off (its default).
    new PgInstrumentation(),
    new IORedisInstrumentation(),
  ];

  const sdk = new NodeSDK({
    serviceName: options.serviceName,
    spanProcessors,
    instrumentations,
    textMapPropagator: new core.W3CTraceContextPropagator(),
    // Explicitly empty: otherwise the SDK defaults to OTLP metric and log exporters at
    // localhost:4318 even when no endpoint is configured.
    metricReaders: [],
    logRecordProcessors: [],
  });
  sdk.start();
  isStarted = true;

  let shutdownPromise: Promise<void> | undefined;
  return {
    async forceFlush() {
      await Promise.all(spanProcessors.map((processor) => processor.forceFlush()));
    },
    shutdown() {
      shutdownPromise ??= (async () => {
        try {
          await sdk.shutdown();
        } finally {
          for (const instrumentation of instrumentations) instrumentation.disable();
          trace.disable();
          propagation.disable();
          context.disable();
          isStarted = false;
        }
      })();
      return shutdownPromise;
    },
  };
}
