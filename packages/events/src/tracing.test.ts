import { randomBytes } from "node:crypto";
import { subjectsFor, type RunStatusChangedEvent } from "@tarmac/contracts";
import { InMemorySpanExporter, SimpleSpanProcessor, startTelemetry, withSpan, type Telemetry } from "@tarmac/telemetry";
import { waitFor } from "@tarmac/testing";
import { trace } from "@opentelemetry/api";
import { connectNats, consumeDurable, createPublisher, deleteStream, ensureStream, type NatsConnection } from "./index";

const NATS_URL = process.env.NATS_URL ?? "nats://127.0.0.1:4222";
const subjects = subjectsFor(`ttr${randomBytes(4).toString("hex")}`);
const silent = { info() {}, warn() {}, error() {}, debug() {} };
const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
let nc: NatsConnection;

beforeAll(async () => {
  telemetry = startTelemetry({ serviceName: "events-test", spanProcessors: [new SimpleSpanProcessor(exporter)] });
  nc = await connectNats(NATS_URL, "events-tracing-test");
  await ensureStream(nc, subjects);
});

afterAll(async () => {
  await deleteStream(nc, subjects.streamName);
  await nc.close();
  await telemetry.shutdown();
});

it("continues the publisher's trace in the consumer's handler", async () => {
  const runId = `run-tr${randomBytes(3).toString("hex")}`;
  const seen: string[] = [];
  const consumer = await consumeDurable({
    nc,
    subjects,
    durableName: "trace-test",
    filterSubjects: [subjects.runStatusChanged(runId)],
    logger: silent,
    handler: async (_event, ctx) => {
      seen.push(trace.getActiveSpan()?.spanContext().traceId ?? "none");
      seen.push(ctx.headers.traceparent ?? "no header");
    },
  });
  try {
    const event: RunStatusChangedEvent = { type: "run.status_changed", runId, workspaceId: "ws-1", from: "pending", to: "plan_queued", at: new Date().toISOString() };
    const traceId = await withSpan("publish", {}, async (span) => {
      await createPublisher(nc).publish(subjects.runStatusChanged(runId), event, { msgId: `${runId}-1` });
      return span.spanContext().traceId;
    });
    await waitFor(() => (seen.length === 2 ? true : undefined), { what: "handled" });
    expect(seen[0]).toBe(traceId);
    expect(seen[1]).toContain(traceId);
  } finally {
    await consumer.stop();
  }
});
