/**
 * Boots like an app does (telemetry first, then everything else) and serves one request that
 * makes an outgoing call, then prints its finished spans as one JSON line after its log lines.
 * Run by telemetry.test.ts in a child process, because module patching only happens on a real require.
 */
import { InMemorySpanExporter, SimpleSpanProcessor, createLogger, startTelemetry } from "../index";

const exporter = new InMemorySpanExporter();
const telemetry = startTelemetry({ serviceName: "fixture", spanProcessors: [new SimpleSpanProcessor(exporter)] });

// Loaded after startTelemetry on purpose: that is what lets the http instrumentation patch it.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const http = require("node:http") as typeof import("node:http");

const logger = createLogger({ name: "fixture", level: "info" });

async function main(): Promise<void> {
  const downstream = http.createServer((_req, res) => res.end("pong"));
  const server = http.createServer((req, res) => {
    logger.info({ token: "tok_secret_value", path: req.url }, "handling request");
    const port = (downstream.address() as import("node:net").AddressInfo).port;
    http.get(`http://127.0.0.1:${port}/downstream`, (downstreamRes) => {
      downstreamRes.resume();
      downstreamRes.on("end", () => res.end("ok"));
    });
  });
  await new Promise<void>((resolve) => downstream.listen(0, "127.0.0.1", resolve));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as import("node:net").AddressInfo).port;

  for (const path of ["/work", "/healthz"]) {
    const response = await fetch(`http://127.0.0.1:${port}${path}`);
    await response.text();
  }
  server.close();
  downstream.close();
  // The in-memory exporter forgets its spans when shut down: flush, then read them first.
  await telemetry.forceFlush();
  const spans = exporter.getFinishedSpans().map((span) => ({
    name: span.name,
    kind: span.kind,
    traceId: span.spanContext().traceId,
    spanId: span.spanContext().spanId,
    parentSpanId: span.parentSpanContext?.spanId,
    target: span.attributes["http.target"] ?? span.attributes["url.path"],
    service: span.resource.attributes["service.name"],
  }));
  await telemetry.shutdown();
  process.stdout.write(`${JSON.stringify({ spans })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
