import { execFile } from "node:child_process";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { promisify } from "node:util";
import { tracesUrl } from "./index";

const repoRoot = path.resolve(__dirname, "../../..");

interface Received {
  method?: string;
  url?: string;
  contentType?: string;
  body: string;
}

/** A stand-in OTLP/HTTP collector: records what the exporter posts. */
async function startCollector(): Promise<{ endpoint: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({
        method: req.method,
        url: req.url,
        contentType: req.headers["content-type"],
        body: Buffer.concat(chunks).toString("utf8"),
      });
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}/`,
    received,
    close: () => new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve()))),
  };
}

describe("OTLP export", () => {
  it("appends /v1/traces to the base endpoint, as OTEL_EXPORTER_OTLP_ENDPOINT specifies", () => {
    expect(tracesUrl("http://collector:4318")).toBe("http://collector:4318/v1/traces");
    expect(tracesUrl("http://collector:4318/")).toBe("http://collector:4318/v1/traces");
  });

  it("posts finished spans to the collector when an endpoint is given, flushing on shutdown", async () => {
    const collector = await startCollector();
    try {
      // Not spawnSync: the collector answers from this process's event loop.
      await promisify(execFile)(
        process.execPath,
        ["--import", "tsx", path.join(__dirname, "__fixtures__/export-one-span.ts"), collector.endpoint],
        { cwd: repoRoot, timeout: 20_000 },
      );

      const traces = collector.received.filter((r) => r.url === "/v1/traces");
      expect(traces.length).toBeGreaterThan(0);
      expect(traces[0]?.method).toBe("POST");
      const bodies = traces.map((r) => r.body).join("\n");
      expect(bodies).toContain("exported-span");
      expect(bodies).toContain("tarmac-test");
      expect(bodies).toContain("run-42");
      // Metrics and logs are not configured: nothing else may be posted.
      expect(collector.received.filter((r) => r.url !== "/v1/traces")).toEqual([]);
    } finally {
      await collector.close();
    }
  });
});
