import type { RequestHandler } from "express";
import { activeTraceFields, extractTraceContext, redactCapabilityPath, withSpan } from "@tarmac/telemetry";

/**
 * A server span per request, continuing the caller's `traceparent`, when the http
 * instrumentation did not already start one (it patches `http` only if telemetry started before
 * the module loaded). Everything the request writes to the outbox carries this span's context,
 * so a run's trace starts at the API call that created it.
 */
export const traceRequests: RequestHandler = (req, res, next) => {
  if (activeTraceFields().trace_id !== undefined || req.path === "/healthz" || req.path === "/readyz") return next();
  const path = redactCapabilityPath(req.originalUrl.split("?")[0] ?? "");
  const carrier: Record<string, string> = {};
  for (const key of ["traceparent", "tracestate"]) {
    const value = req.headers[key];
    if (typeof value === "string") carrier[key] = value;
  }
  void withSpan(
    `${req.method} ${path}`,
    { "http.request.method": req.method, "url.path": path },
    (span) =>
      new Promise<void>((resolve) => {
        res.once("finish", () => {
          span.setAttribute("http.response.status_code", res.statusCode);
          resolve();
        });
        res.once("close", () => resolve());
        next();
      }),
    extractTraceContext(carrier),
  );
};
