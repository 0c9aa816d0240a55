import { Router, type RequestHandler } from "express";

/** A path segment that matches only itself (case-insensitively, as express routes do by default). */
const LITERAL_SEGMENT = /^[A-Za-z0-9._~-]+$/;

/** The first segment of a request path (`/runs/run-1?x` → `runs`), as the router matches it: undecoded. */
function firstSegment(url: string): string {
  let end = 1;
  while (end < url.length) {
    const c = url.charCodeAt(end);
    if (c === 47 /* / */ || c === 63 /* ? */ || c === 35 /* # */) break;
    end++;
  }
  return url.slice(1, end);
}

/** The literal first segments a router's layers can match, or null when one of them could match any. */
function literalFirstSegments(router: Router): Set<string> | null {
  const out = new Set<string>();
  for (const layer of router.stack as { rawPath?: unknown }[]) {
    const paths = Array.isArray(layer.rawPath) ? layer.rawPath : [layer.rawPath];
    for (const path of paths) {
      if (typeof path !== "string" || !path.startsWith("/")) return null;
      const segment = firstSegment(path);
      if (!LITERAL_SEGMENT.test(segment)) return null;
      out.add(segment.toLowerCase());
    }
  }
  return out;
}

/**
 * The same routers, in the same order, entered only where the request's first path segment can
 * match one of their routes. Express walks every route layer of every router mounted ahead of the
 * one that answers (for `/runs/:id` under /api/v2 that was about sixty); here a request enters only
 * the routers that have a route under its first segment, and those with a route that could match
 * any (a parameter, a pattern or a middleware first), in their order. A path whose first segment
 * is not a plain literal known to some router walks the whole list, exactly as before, so no route
 * can be missed; a router whose routes all start with another literal could never have matched.
 * Routers must be complete when this is called (routes added later are not seen).
 */
export function routeByFirstSegment(routers: readonly Router[]): RequestHandler {
  const segmentsOf = routers.map(literalFirstSegments);
  const all = Router();
  for (const r of routers) all.use(r);
  const bySegment = new Map<string, Router>();
  const known = new Set(segmentsOf.flatMap((s) => (s ? [...s] : [])));
  for (const segment of known) {
    const chain = Router();
    segmentsOf.forEach((segments, i) => {
      if (segments === null || segments.has(segment)) chain.use(routers[i]!);
    });
    bySegment.set(segment, chain);
  }
  return (req, res, next) => {
    const segment = firstSegment(req.url);
    const chain = LITERAL_SEGMENT.test(segment) ? bySegment.get(segment.toLowerCase()) : undefined;
    (chain ?? all)(req, res, next);
  };
}
