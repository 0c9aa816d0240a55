import type { Request, RequestHandler, Response } from "express";
import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { errorDocument, errorObject, MEDIA_TYPE } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";

/** The two endpoints HCP limits to 30 requests per minute (runs API reference). */
const RUN_LIST_PATHS = [/^\/workspaces\/[^/]+\/runs\/?$/, /^\/organizations\/[^/]+\/runs\/?$/];

export function isRunListRequest(req: Pick<Request, "method" | "path">): boolean {
  return req.method === "GET" && RUN_LIST_PATHS.some((re) => re.test(req.path));
}

function setHeaders(res: Response, limit: number, result: RateLimiterRes): void {
  res.set("X-RateLimit-Limit", String(limit));
  res.set("X-RateLimit-Remaining", String(Math.max(0, result.remainingPoints)));
  // Seconds until the window resets, as a float: go-tfe waits this long after a 429 (notes §0.5).
  res.set("X-RateLimit-Reset", (Math.max(0, result.msBeforeNext) / 1000).toFixed(3));
}

function tooManyRequests(res: Response, result: RateLimiterRes): void {
  res.set("Retry-After", String(Math.max(1, Math.ceil(result.msBeforeNext / 1000))));
  res
    .status(429)
    .type(`${MEDIA_TYPE}; charset=utf-8`)
    .send(JSON.stringify(errorDocument([errorObject(429, "Too many requests", "You have exceeded the API's rate limit.")])));
}

interface Limiter {
  limit: number;
  limiter: RateLimiterRedis;
}

/**
 * Per-token request limits shared by every gateway replica through Redis
 * (notes §1.6): TARMAC_RATE_LIMIT_PER_SECOND on every API call, and
 * TARMAC_RUN_LIST_RATE_LIMIT_PER_MINUTE on top for the two run lists. 0 disables
 * a limit. Counters are keyed by token id under the deployment prefix.
 */
export function rateLimit(deps: GatewayDeps): RequestHandler {
  const prefix = `${deps.env.TARMAC_NATS_PREFIX}:ratelimit`;
  const make = (points: number, duration: number, name: string): Limiter | null =>
    points > 0
      ? { limit: points, limiter: new RateLimiterRedis({ storeClient: deps.redis, keyPrefix: `${prefix}:${name}`, points, duration }) }
      : null;
  const perSecond = make(deps.env.TARMAC_RATE_LIMIT_PER_SECOND, 1, "s");
  const runLists = make(deps.env.TARMAC_RUN_LIST_RATE_LIMIT_PER_MINUTE, 60, "runlist");
  // Both limits off: nothing to count, no headers to set.
  if (perSecond === null && runLists === null) return (_req, _res, next) => next();

  return async (req, res, next) => {
    const key = req.principal?.tokenId ?? `ip:${req.ip ?? "unknown"}`;
    const limiters = [perSecond, isRunListRequest(req) ? runLists : null].filter((l): l is Limiter => l !== null);
    // The most restrictive limiter that applies is the one the headers describe.
    let shown: { limit: number; result: RateLimiterRes } | null = null;
    for (const l of limiters) {
      let result: RateLimiterRes;
      try {
        result = await l.limiter.consume(key, 1);
      } catch (err) {
        if (err instanceof RateLimiterRes) {
          setHeaders(res, l.limit, err);
          tooManyRequests(res, err);
          return;
        }
        // Redis unavailable: limits protect capacity, they are not worth failing requests over.
        deps.logger.warn({ err }, "rate limiter unavailable; request allowed");
        continue;
      }
      if (shown === null || result.remainingPoints / l.limit <= shown.result.remainingPoints / shown.limit) {
        shown = { limit: l.limit, result };
      }
    }
    if (shown) setHeaders(res, shown.limit, shown.result);
    next();
  };
}
