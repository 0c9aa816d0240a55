import { Router, type RequestHandler } from "express";
import { liveLogKey, verifyCapability } from "@tarmac/contracts";
import { runsRead } from "@tarmac/db";
import { notFound } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";

/** The most a single log read returns; go-tfe asks for about 64 KiB. */
export const MAX_LOG_READ_BYTES = 1024 * 1024;

function nonNegativeInt(raw: unknown, fallback: number): number {
  if (typeof raw !== "string" || !/^\d+$/.test(raw)) return fallback;
  const n = Number(raw);
  return Number.isSafeInteger(n) ? n : fallback;
}

/**
 * `GET /_archivist/logs/:id/:secret?offset=&limit=`: bytes [offset, offset+limit) of a plan's or
 * apply's log, STX/ETX framing included (notes §3.4). The durable blob once the phase has ended,
 * else the live Redis copy the worker appends to, else an empty 200: go-tfe treats any error as
 * fatal, and an empty body as "nothing new yet" (notes §0.9). go-tfe always sends valid numbers;
 * anything else reads as offset 0 and the default limit.
 */
export function logReadHandler(deps: GatewayDeps): RequestHandler {
  return async (req, res) => {
    const id = String(req.params.id);
    const secret = String(req.params.secret);
    if (!verifyCapability(deps.keys, "log", id, secret, deps.now())) throw notFound();
    const phase = await runsRead.phaseLogBlobId(deps.db, id);
    if (!phase) throw notFound();
    const offset = nonNegativeInt(req.query.offset, 0);
    const limit = Math.min(nonNegativeInt(req.query.limit, MAX_LOG_READ_BYTES), MAX_LOG_READ_BYTES);
    let bytes: Buffer = Buffer.alloc(0);
    if (limit > 0) {
      bytes =
        phase.blobId !== null
          ? await runsRead.readBlobRange(deps.db, phase.blobId, offset, limit)
          : await deps.redis.getrangeBuffer(liveLogKey(id), offset, offset + limit - 1);
    }
    res.status(200).set("Cache-Control", "no-store").type("text/plain").send(bytes);
  };
}

/**
 * Capability routes of the archivist: secrets live in the path, no bearer token (notes §0.6–0.7).
 * Mounted before the JSON body parser. Log reads are here; configuration uploads
 * (`PUT /_archivist/uploads/:id/:secret`) join this router.
 */
export function archivistRouter(deps: GatewayDeps): Router {
  const router = Router();
  router.get("/_archivist/logs/:id/:secret", logReadHandler(deps));
  return router;
}
