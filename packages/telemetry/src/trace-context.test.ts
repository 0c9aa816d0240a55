import { SpanStatusCode, trace } from "@opentelemetry/api";
import {
  activeTraceFields,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type Telemetry,
  createLogger,
  extractTraceContext,
  injectTraceContext,
  startTelemetry,
  withSpan,
} from "./index";

describe("trace context through message headers", () => {
  let exporter: InMemorySpanExporter;
  let telemetry: Telemetry;

  beforeEach(() => {
    exporter = new InMemorySpanExporter();
    telemetry = startTelemetry({ serviceName: "test", spanProcessors: [new SimpleSpanProcessor(exporter)] });
  });

  async function finishedSpans() {
    await telemetry.forceFlush();
    return exporter.getFinishedSpans();
  }

  /** Export order is not end order (exports wait on resource attributes), so look spans up by name. */
  async function spanNamed(name: string) {
    const span = (await finishedSpans()).find((s) => s.name === name);
    if (!span) throw new Error(`no finished span named ${name}`);
    return span;
  }

  afterEach(async () => {
    await telemetry.shutdown();
  });

  it("continues the producer's trace in the consumer", async () => {
    const headers = await withSpan("publish run.created", { "messaging.system": "nats" }, () =>
      injectTraceContext({ "Nats-Msg-Id": "run-1:created" }),
    );
    expect(headers["Nats-Msg-Id"]).toBe("run-1:created");
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

    const consumedIn = await withSpan(
      "consume run.created",
      {},
      (span) => span.spanContext(),
      extractTraceContext(headers),
    );

    const publish = await spanNamed("publish run.created");
    const consume = await spanNamed("consume run.created");
    expect(publish.attributes["messaging.system"]).toBe("nats");
    expect(consumedIn.traceId).toBe(publish.spanContext().traceId);
    expect(consume.parentSpanContext?.spanId).toBe(publish.spanContext().spanId);
    expect(consume.parentSpanContext?.isRemote).toBe(true);
  });

  it("starts a new trace when the headers carry none", async () => {
    const context = extractTraceContext({});
    expect(trace.getSpanContext(context)).toBeUndefined();
    await withSpan("consume", {}, () => undefined, context);
    expect((await spanNamed("consume")).parentSpanContext).toBeUndefined();
  });

  it("injects nothing outside a span", () => {
    expect(injectTraceContext({})).toEqual({});
  });

  it("records a thrown error on the span and rethrows it", async () => {
    await expect(
      withSpan("plan", { "tarmac.run_id": "run-1" }, async () => {
        throw new Error("terraform exited with 1");
      }),
    ).rejects.toThrow("terraform exited with 1");
    const span = await spanNamed("plan");
    expect(span.status).toEqual({ code: SpanStatusCode.ERROR, message: "terraform exited with 1" });
    expect(span.events.map((e) => e.name)).toEqual(["exception"]);
    expect(span.attributes["tarmac.run_id"]).toBe("run-1");
  });

  it("nests spans started inside withSpan", async () => {
    await withSpan("outer", {}, () => withSpan("inner", {}, () => undefined));
    const inner = await spanNamed("inner");
    const outer = await spanNamed("outer");
    expect(inner.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
  });

  it("stamps log lines written inside a span with its ids", async () => {
    const lines: string[] = [];
    const logger = createLogger({ name: "scheduler", destination: { write: (line: string) => void lines.push(line) } });
    const ids = await withSpan("dispatch", {}, (span) => {
      logger.info("dispatching");
      return span.spanContext();
    });
    expect(JSON.parse(lines[0] ?? "{}")).toMatchObject({ trace_id: ids.traceId, span_id: ids.spanId });
  });

  it("refuses a second start while running", () => {
    expect(() => startTelemetry({ serviceName: "again" })).toThrow("already started");
  });
});

describe("startTelemetry without an exporter", () => {
  let telemetry: Telemetry;
  beforeEach(() => {
    telemetry = startTelemetry({ serviceName: "no-export" });
  });
  afterEach(async () => {
    await telemetry.shutdown();
  });

  it("still creates real trace ids so logs and headers carry them", async () => {
    const headers = await withSpan("work", {}, (span) => {
      expect(span.spanContext().traceId).not.toMatch(/^0+$/);
      return injectTraceContext({});
    });
    expect(headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  it("continues the caller's trace with a span id of its own, in logs and headers", async () => {
    const outer = await withSpan("request", {}, async (request) => {
      const inner = await withSpan("statement", {}, async (statement) => {
        await new Promise((r) => setImmediate(r));
        return { context: statement.spanContext(), fields: activeTraceFields(), headers: injectTraceContext({}) };
      });
      return { context: request.spanContext(), inner };
    });
    expect(outer.inner.context.traceId).toBe(outer.context.traceId);
    expect(outer.inner.context.spanId).not.toBe(outer.context.spanId);
    expect(outer.inner.fields).toEqual({ trace_id: outer.context.traceId, span_id: outer.inner.context.spanId });
    expect(outer.inner.headers.traceparent).toBe(`00-${outer.context.traceId}-${outer.inner.context.spanId}-01`);
    // Separate requests are separate traces.
    const other = await withSpan("request", {}, (span) => span.spanContext());
    expect(other.traceId).not.toBe(outer.context.traceId);
  });

  it("keeps a remote parent's trace, sampling flag and trace state", async () => {
    const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    const headers = await withSpan("consume", {}, () => injectTraceContext({}), extractTraceContext({ traceparent: parent, tracestate: "vendor=x" }));
    expect(headers.traceparent).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-00$/);
    expect(headers.traceparent).not.toContain("b7ad6b7169203331");
    expect(headers.tracestate).toBe("vendor=x");
  });

  it("records nothing: the spans are ids only", async () => {
    const recording = await withSpan("work", { a: 1 }, (s) => s.isRecording());
    expect(recording).toBe(false);
  });

  it("starts a new trace for a root span even inside another", async () => {
    const tracer = trace.getTracer("test");
    const { outer, root } = tracer.startActiveSpan("outer", (o) => {
      const r = tracer.startSpan("root", { root: true });
      o.end();
      return { outer: o.spanContext(), root: r.spanContext() };
    });
    expect(root.traceId).not.toBe(outer.traceId);
  });
});
