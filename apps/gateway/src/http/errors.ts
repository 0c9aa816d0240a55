import type { ErrorRequestHandler, RequestHandler } from "express";
import { isTarmacError, TarmacError } from "@tarmac/domain";
import { errorDocument, errorObject, MEDIA_TYPE } from "@tarmac/jsonapi";
import { redactCapabilityPath, type Logger } from "@tarmac/telemetry";
import { dependencyOutage } from "./outage";

function send(res: Parameters<ErrorRequestHandler>[2], status: number, body: unknown): void {
  res.status(status).type(`${MEDIA_TYPE}; charset=utf-8`).send(JSON.stringify(body));
}

/** Unknown routes answer a JSON:API 404, as HCP does. */
export const notFoundHandler: RequestHandler = (_req, res) => {
  send(res, 404, errorDocument([errorObject(404, "not found")]));
};

const STATUS_TITLES: Record<number, string> = {
  400: "bad request",
  411: "length required",
  413: "payload too large",
  415: "unsupported media type",
};

/** Seconds a client is told to wait after a dependency outage (503). */
const RETRY_AFTER_SECONDS = 5;

interface BodyParserError extends Error {
  type?: string;
  code?: unknown;
  status?: number;
}

/**
 * The one place errors become responses. Expected errors (4xx) are answers,
 * logged without stacks; anything else is a 500 incident.
 */
export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (res.headersSent) return;
    if (isTarmacError(err)) {
      const obj = errorObject(err.status, err.title, err.detail, err.source?.pointer);
      if (err.source?.parameter) obj.source = { ...obj.source, parameter: err.source.parameter };
      send(res, err.status, errorDocument([obj]));
      return;
    }
    const bp = err as BodyParserError;
    if (bp?.type === "entity.parse.failed") {
      send(res, 422, errorDocument([errorObject(422, "unprocessable entity", "The request body is not valid JSON.")]));
      return;
    }
    if (bp?.type === "entity.too.large") {
      send(res, 413, errorDocument([errorObject(413, "payload too large", "The request body is too large.")]));
      return;
    }
    if (bp?.type && typeof bp.status === "number" && bp.status < 500) {
      send(res, bp.status, errorDocument([errorObject(bp.status, STATUS_TITLES[bp.status] ?? "bad request", bp.message)]));
      return;
    }
    // Content-Encoding gzip or deflate on a body that is not: body-parser passes zlib's error on as a 400.
    if (bp?.status === 400 && typeof bp.code === "string" && bp.code.startsWith("Z_")) {
      send(res, 400, errorDocument([errorObject(400, "bad request", "The request body does not match its Content-Encoding.")]));
      return;
    }
    // A path segment that is not valid percent-encoded UTF-8 (`/runs/%ED%A0%80`): the router's
    // decoding throws. Rails, behind HCP Terraform, answers such a path 400 Bad Request.
    if (err instanceof URIError) {
      send(res, 400, errorDocument([errorObject(400, "bad request", "The request path is not valid percent-encoded UTF-8.")]));
      return;
    }
    const dependency = dependencyOutage(err);
    if (dependency) {
      logger.warn({ dependency, method: req.method, path: redactCapabilityPath(req.path) }, "dependency unavailable");
      res.set("Retry-After", String(RETRY_AFTER_SECONDS));
      send(res, 503, errorDocument([errorObject(503, "service unavailable", "A service this request needs is unavailable; retry later.")]));
      return;
    }
    logger.error({ err, method: req.method, path: redactCapabilityPath(req.path) }, "request failed");
    send(res, 500, errorDocument([errorObject(500, "internal server error")]));
  };
}

export { TarmacError };
