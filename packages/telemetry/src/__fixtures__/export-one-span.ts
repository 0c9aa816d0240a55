/**
 * Starts telemetry with the OTLP endpoint given as argv[2], ends one span and shuts down.
 * A separate process because the OTLP exporter loads node:http with a dynamic import(),
 * which jest's module sandbox refuses.
 */
import { startTelemetry, withSpan } from "../index";

async function main(): Promise<void> {
  const telemetry = startTelemetry({ serviceName: "tarmac-test", otlpEndpoint: process.argv[2] });
  await withSpan("exported-span", { "tarmac.run_id": "run-42" }, () => undefined);
  await telemetry.shutdown();
}

main().catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
