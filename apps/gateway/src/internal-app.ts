import express, { type Express } from "express";
import type { GatewayDeps } from "./deps";
import { errorHandler, notFoundHandler } from "./http/errors";
import { traceRequests } from "./http/tracing";
import { jobsRouter } from "./routes/jobs";

/**
 * The internal listener (TARMAC_INTERNAL_PORT): plain HTTP, for workers only. It serves the
 * job capability URLs and the health endpoints, nothing a user calls, so workers reach the
 * gateway without trusting the public certificate (often a private CA or a self-signed one).
 */
export function createInternalApp(deps: GatewayDeps, extraRouters: express.Router[] = []): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.use(traceRequests);
  for (const r of extraRouters) app.use(r);
  app.use(jobsRouter(deps));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
