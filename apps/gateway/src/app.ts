import express, { type Express, type RequestHandler } from "express";
import type { GatewayDeps } from "./deps";
import { authenticate } from "./http/auth";
import { errorHandler, notFoundHandler } from "./http/errors";
import { guardInput } from "./http/input-guard";
import { rateLimit } from "./http/rate-limit";
import { routeByFirstSegment } from "./http/segment-routing";
import { traceRequests } from "./http/tracing";
import { metaRouter, TFP_API_VERSION } from "./routes/meta";
import { apiRouters, capabilityRouters, webAuthRouters } from "./routes";
import { webUiRouter } from "./routes/web-ui";

const apiVersionHeader: RequestHandler = (_req, res, next) => {
  res.setHeader("TFP-API-Version", TFP_API_VERSION);
  next();
};

/**
 * The HTTP surface: discovery and ping, capability URLs (raw bodies, no bearer
 * token), then the JSON:API under /api/v2 behind authentication and rate limits.
 */
export function createApp(deps: GatewayDeps, extraRouters: express.Router[] = []): Express {
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  // page[number]=2 must parse as {page: {number: "2"}}.
  app.set("query parser", "extended");
  app.use(traceRequests);
  app.use(apiVersionHeader);
  for (const r of extraRouters) app.use(r);
  // Each request enters only the routers with a route under its first path segment (see routeByFirstSegment).
  app.use(routeByFirstSegment([metaRouter(), ...capabilityRouters(deps), ...webAuthRouters(deps)]));
  app.use(
    "/api/v2",
    express.json({ type: () => true, limit: "5mb", strict: false }),
    authenticate(deps.db),
    rateLimit(deps),
    guardInput,
    routeByFirstSegment(apiRouters(deps)),
  );
  // The browser UI's catch-all: after every other route, so /app routes mounted earlier win.
  app.use(webUiRouter(deps));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
