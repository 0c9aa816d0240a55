import { injectTraceContext } from "@tarmac/telemetry";
import { Router, type Request, type Response } from "express";
import { subjectsFor, verifyCapability } from "@tarmac/contracts";
import { configurationVersionsRepo } from "@tarmac/db";
import { conflict, notFound, TarmacError, unprocessable } from "@tarmac/domain";
import { archiveLimits, inspectArchive } from "../archive";
import type { GatewayDeps } from "../deps";
import { createUploadSlots } from "../http/upload-slots";

type Params = { cvId: string; secret: string };

class PayloadTooLarge extends TarmacError {
  constructor(limitOrDetail: number | string) {
    const detail = typeof limitOrDetail === "number" ? `The archive is larger than ${limitOrDetail} bytes.` : limitOrDetail;
    super("payload_too_large", { detail });
  }
}

/**
 * Reads the raw body with a hard cap, chunk by chunk, holding it once: with a declared length
 * the bytes go straight into one buffer of that size (no chunk list, no concatenated copy); a
 * body that streams past the cap (or past its declared length) is abandoned at once.
 */
function readCappedBody(req: Request, limit: number): Promise<Buffer> {
  const declared = Number(req.get("content-length"));
  const hasDeclared = req.get("content-length") !== undefined && Number.isSafeInteger(declared) && declared >= 0;
  if (hasDeclared && declared > limit) return Promise.reject(new PayloadTooLarge(limit));
  return new Promise((resolve, reject) => {
    const whole = hasDeclared ? Buffer.allocUnsafe(declared) : null;
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const fail = (err: Error): void => {
      done = true;
      chunks.length = 0;
      req.off("data", onData);
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      if (done) return;
      if (size + chunk.length > (whole ? whole.length : limit)) return fail(new PayloadTooLarge(limit));
      if (whole) chunk.copy(whole, size);
      else chunks.push(chunk);
      size += chunk.length;
    };
    req.on("data", onData);
    req.once("end", () => {
      if (done) return;
      done = true;
      resolve(whole ? whole.subarray(0, size) : Buffer.concat(chunks, size));
    });
    req.once("error", (err) => {
      if (!done) fail(err);
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
 * with the reason instead of polling a version that will never be uploaded; a
 * body over the size limit answers 413 and errors the version the same way.
 * Inspection is bounded (`@tarmac/archive`): bytes, entries, depth and time.
 * A good one is stored and the version is `uploaded` when the 200 is sent.
 */
export function uploadRouter(deps: GatewayDeps): Router {
  const router = Router();
  const subjects = subjectsFor(deps.env.TARMAC_NATS_PREFIX);
  const limits = archiveLimits({
    maxCompressedBytes: deps.env.TARMAC_MAX_ARCHIVE_BYTES,
    maxUnpackedBytes: deps.env.TARMAC_MAX_UNPACKED_BYTES,
    deadlineMs: deps.env.TARMAC_ARCHIVE_INSPECT_TIMEOUT_MS,
  });

  const slots = createUploadSlots(deps.env.TARMAC_MAX_CONCURRENT_UPLOADS);

  /** A refused upload turns the version errored (it can never succeed) and says why in the log. */
  async function refuse(cvId: string, why: { error: string; message: string }, bytes: number | null, ms: number): Promise<void> {
    deps.logger.warn({ configurationVersionId: cvId, error: why.error, reason: why.message, bytes, ms }, "configuration archive refused");
    const marked = await configurationVersionsRepo.markErrored(deps.db, { id: cvId, error: why.error, message: why.message, at: deps.now(), subjects });
    if (!marked) throw conflict("configuration version is no longer pending");
  }

  router.put("/_archivist/uploads/:cvId/:secret", async (req: Request<Params>, res) => {
    const { cvId, secret } = req.params;
    if (!verifyCapability(deps.keys, "upload", cvId, secret, deps.now())) throw notFound();
    const cv = await configurationVersionsRepo.findConfigurationVersion(deps.db, cvId);
    if (!cv) throw notFound();
    if (cv.status !== "pending") throw conflict(`configuration version is ${cv.status}; only a pending one accepts an upload`);

    await slots.run(() => receive(req, res, cvId));
  });

  async function receive(req: Request<Params>, res: Response, cvId: string): Promise<void> {
    let archive: Buffer;
    try {
      archive = await readCappedBody(req, limits.maxCompressedBytes);
    } catch (err) {
      if (!(err instanceof PayloadTooLarge)) throw err;
      closeAfterResponse(req, res);
      await refuse(cvId, { error: "archive_too_large", message: err.detail ?? "archive too large" }, Number(req.get("content-length")) || null, 0);
      throw err;
    }

    const started = performance.now();
    const verdict = await inspectArchive(archive, limits);
    const at = deps.now();
    if (!verdict.ok) {
      await refuse(cvId, verdict, archive.length, Math.round(performance.now() - started));
      if (verdict.error === "archive_too_large") throw new PayloadTooLarge(verdict.message);
      throw unprocessable(verdict.message);
    }
    const result = await configurationVersionsRepo.completeUpload(deps.db, { id: cvId, archive, at, subjects, headers: injectTraceContext({}) });
    if (!result.ok) {
      if (result.reason === "not_found") throw notFound();
      throw conflict("configuration version is no longer pending");
    }
    res.status(200).end();
  }

  return router;
}
