// A module of its own, imported first by main.ts: import statements are hoisted above any code
// in a module, so telemetry started in main.ts's body would run after ioredis, pg and http were
// loaded, and the instrumentations could no longer patch them.
import { startTelemetry } from "@tarmac/telemetry";

export const telemetry = startTelemetry({
  serviceName: process.env.OTEL_SERVICE_NAME ?? "tarmac-notifier",
  ...(process.env.OTEL_EXPORTER_OTLP_ENDPOINT ? { otlpEndpoint: process.env.OTEL_EXPORTER_OTLP_ENDPOINT } : {}),
});
