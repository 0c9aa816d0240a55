import type { Response } from "express";
import { MEDIA_TYPE } from "@tarmac/jsonapi";

/** Writes a JSON:API document with HCP's media type. */
export function sendDocument(res: Response, status: number, body: unknown): void {
  res.status(status).type(`${MEDIA_TYPE}; charset=utf-8`).send(JSON.stringify(body));
}

/** 202/204 answers without a body (run actions). */
export function sendEmpty(res: Response, status: number): void {
  res.status(status).end();
}
