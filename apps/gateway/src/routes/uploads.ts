import { injectTraceContext } from "@tarmac/telemetry";
import { Router, type Request, type Response } from "express";
import { subjectsFor, verifyCapability } from "@tarmac/contracts";
import { configurationVersionsRepo } from "@tarmac/db";
import { conflict, notFound, TarmacError, unprocessable } from "@tarmac/domain";
import { DEFAULT_MAX_ENTRIES, inspectArchive } from "../archive";
import type { GatewayDeps } from "../deps";

type Params = { cvId: string; secret: string };

class PayloadTooLarge extends TarmacError {
  constructor(limit: number) {
    super("payload_too_large", { detail: `The archive is larger than ${limit} bytes.` });
  }
}

/**
 * Reads the raw body with a hard cap, chunk by chunk: the declared length is checked first, and a
 * body that streams past the cap is abandoned at once, so memory never exceeds the limit.
 */
function readCappedBody(req: Request, limit: number): Promise<Buffer> {
  const declared = Number(req.get("content-length"));
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(new PayloadTooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        done = true;
        chunks.length = 0;
        req.off("data", onData);
        reject(new PayloadTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.once("end", () => {
      if (!done) resolve(Buffer.concat(chunks));
    });
    req.once("error", (err) => {
      if (!done) reject(err);
    });
  });
}

/** Refuses the rest of an oversized body: the connection closes once the 413 is written. */
function closeAfterResponse(req: Request, res: Response): void {
  res.set("Connection", "close");
  res.once("finish", () => req.socket.destroySoon());
}

/**
 * The upload capability URL (notes §4.2): `PUT` a tar.gz, no bearer token, the
 * secret in the path. The archive is inspected before anything is stored; it
 * is never unpacked here. A refused archive turns the version `errored` and
 * answers 422 naming the entry and the rule, so `terraform plan` stops at once
 * with the reason instead of polling a version that will never be uploaded.
 * A good one is stored and the version is `uploaded` when the 200 is sent.
 */
export function uploadRouter(deps: GatewayDeps): Router {
  const router = Router();
  const subjects = subjectsFor(deps.env.TARMAC_NATS_PREFIX);

  router.put("/_archivist/uploads/:cvId/:secret", async (req: Request<Params>, res) => {
    const { cvId, secret } = req.params;
    if (!verifyCapability(deps.keys, "upload", cvId, secret, deps.now())) throw notFound();
    const cv = await configurationVersionsRepo.findConfigurationVersion(deps.db, cvId);
    if (!cv) throw notFound();
    if (cv.status !== "pending") throw conflict(`configuration version is ${cv.status}; only a pending one accepts an upload`);

    let archive: Buffer;
    try {
      archive = await readCappedBody(req, deps.env.TARMAC_MAX_ARCHIVE_BYTES);
    } catch (err) {
      if (err instanceof PayloadTooLarge) closeAfterResponse(req, res);
      throw err;
    }

    const verdict = await inspectArchive(archive, {
      maxUnpackedBytes: deps.env.TARMAC_MAX_UNPACKED_BYTES,
      maxEntries: DEFAULT_MAX_ENTRIES,
    });
    const at = deps.now();
    if (!verdict.ok) {
      const marked = await configurationVersionsRepo.markErrored(deps.db, { id: cvId, error: verdict.error, message: verdict.message, at, subjects });
      if (!marked) throw conflict("configuration version is no longer pending");
      deps.logger.info({ configurationVersionId: cvId, reason: verdict.message }, "configuration archive refused");
      throw unprocessable(verdict.message);
    }
    const result = await configurationVersionsRepo.completeUpload(deps.db, { id: cvId, archive, at, subjects, headers: injectTraceContext({}) });
    if (!result.ok) {
      if (result.reason === "not_found") throw notFound();
      throw conflict("configuration version is no longer pending");
    }
    res.status(200).end();
  });

  return router;
}
