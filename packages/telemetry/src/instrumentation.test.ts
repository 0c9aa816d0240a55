import { spawnSync } from "node:child_process";
import path from "node:path";

interface FixtureSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  target?: string;
  service?: string;
}

const SPAN_KIND_SERVER = 1;
const SPAN_KIND_CLIENT = 2;
const repoRoot = path.resolve(__dirname, "../../..");

/** Runs the fixture as its own process: require hooks only patch modules loaded by a real require. */
function runFixture(): { logs: Record<string, unknown>[]; spans: FixtureSpan[] } {
  const result = spawnSync(
    process.execPath,
    ["--import", "tsx", path.join(__dirname, "__fixtures__/instrumented-http.ts")],
    { cwd: repoRoot, encoding: "utf8", timeout: 20_000 },
  );
  if (result.status !== 0) throw new Error(`fixture exited ${result.status}: ${result.stderr}`);
  const lines = result.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
  const last = lines.pop() as { spans: FixtureSpan[] };
  return { logs: lines, spans: last.spans };
}

describe("startTelemetry called first in a process", () => {
  let logs: Record<string, unknown>[] = [];
  let spans: FixtureSpan[] = [];

  beforeAll(() => {
    ({ logs, spans } = runFixture());
  });

  it("traces incoming and outgoing HTTP and propagates the trace across the call", () => {
    const incoming = spans.find((s) => s.kind === SPAN_KIND_SERVER && s.target === "/work");
    const outgoing = spans.find((s) => s.kind === SPAN_KIND_CLIENT && s.parentSpanId === incoming?.spanId);
    const downstream = spans.find((s) => s.kind === SPAN_KIND_SERVER && s.target === "/downstream" && s.traceId === incoming?.traceId);
    expect(incoming).toBeDefined();
    expect(outgoing).toBeDefined();
    expect(downstream?.parentSpanId).toBe(outgoing?.spanId);
    expect(incoming?.service).toBe("fixture");
  });

  it("does not trace health probes", () => {
    expect(spans.some((s) => s.target === "/healthz")).toBe(false);
  });

  it("logs JSON lines to stdout with the request's trace id and the token redacted", () => {
    const handled = logs.find((l) => l.path === "/work");
    const incoming = spans.find((s) => s.kind === SPAN_KIND_SERVER && s.target === "/work");
    expect(handled).toMatchObject({ msg: "handling request", token: "[Redacted]", trace_id: incoming?.traceId });
    expect(JSON.stringify(logs)).not.toContain("tok_secret_value");
  });
});
