import type { Response } from "express";
import { MEDIA_TYPE } from "@tarmac/jsonapi";

const DOCUMENT_CONTENT_TYPE = `${MEDIA_TYPE}; charset=utf-8`;

/**
 * Writes a JSON:API document with HCP's media type: the same status, headers (in the same order)
 * and body as express's `res.status().type().send()`, written directly, without the content type
 * parsed and formatted again and the rest of `send`'s generic work on every response. A conditional
 * request (If-None-Match, If-Modified-Since) still goes through `send`, which decides freshness.
 */
export function sendDocument(res: Response, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  const headers = res.req.headers;
  if (headers["if-none-match"] !== undefined || headers["if-modified-since"] !== undefined) {
    res.status(status).type(DOCUMENT_CONTENT_TYPE).send(payload);
    return;
  }
  res.statusCode = status;
  res.setHeader("Content-Type", DOCUMENT_CONTENT_TYPE);
  res.setHeader("Content-Length", Buffer.byteLength(payload, "utf8"));
  if (res.req.method === "HEAD") res.end();
  else res.end(payload, "utf8");
}

/** 202/204 answers without a body (run actions). */
export function sendEmpty(res: Response, status: number): void {
  res.status(status).end();
}
