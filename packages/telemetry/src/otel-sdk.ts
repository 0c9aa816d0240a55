import { context, propagation, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { ExpressInstrumentation } from "@opentelemetry/instrumentation-express";
import { HttpInstrumentation } from "@opentelemetry/instrumentation-http";
import { IORedisInstrumentation } from "@opentelemetry/instrumentation-ioredis";
import { PgInstrumentation } from "@opentelemetry/instrumentation-pg";
import { NodeSDK, type NodeSDKConfiguration, core } from "@opentelemetry/sdk-node";
import { BatchSpanProcessor, type SpanProcessor } from "@opentelemetry/sdk-trace-base";

import { redactCapabilityPath, tracesUrl, type Telemetry, type TelemetryOptions } from "./sdk";

type Instrumentation = Exclude<NodeSDKConfiguration["instrumentations"][number], unknown[]>;

const PROBE_PATHS = new Set(["/healthz", "/readyz"]);

/**
 * The OpenTelemetry SDK with its instrumentations, loaded by `startTelemetry` only when spans go
 * somewhere (an OTLP endpoint or a processor given by a test): this module's imports are the
 * SDK's whole cost in memory and start-up time, and its instrumentations' cost per request.
 */
export function startNodeSdk(options: TelemetryOptions, onShutdown: () => void): Telemetry {
  const spanProcessors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (options.otlpEndpoint) {
    spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(options.otlpEndpoint) })));
  }

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
          onShutdown();
        }
      })();
      return shutdownPromise;
    },
  };
}
