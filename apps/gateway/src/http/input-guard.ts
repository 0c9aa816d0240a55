import type { RequestHandler } from "express";
import { TarmacError } from "@tarmac/domain";
import { MAX_PAGE_SIZE } from "@tarmac/jsonapi";

/** The first string in a JSON value holding a NUL character, as a JSON pointer. */
function nulPointer(value: unknown, pointer = ""): string | null {
  if (typeof value === "string") return value.includes("\u0000") ? pointer || "/" : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = nulPointer(value[i], `${pointer}/${i}`);
      if (found !== null) return found;
    }
    return null;
  }
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes("\u0000")) return `${pointer}/${k.replace(/\u0000/g, "")}`;
      const found = nulPointer(v, `${pointer}/${k.replace(/~/g, "~0").replace(/\//g, "~1")}`);
      if (found !== null) return found;
    }
  }
  return null;
}

// Beyond this, offsets stop being exact integers for the database (and no list is that long).
const MAX_PAGE_NUMBER = Math.floor(1e12 / MAX_PAGE_SIZE);

/**
 * Input PostgreSQL cannot store or compare must be refused before it reaches a
 * query (DESIGN invariant 5: bad input is a 4xx, never a 500): NUL characters
 * in the path (no resource has one: 404), the query or the body (422), and
 * page numbers too large for an offset (422). Mounted once, on all of /api/v2.
 */
export const guardInput: RequestHandler = (req, _res, next) => {
  const [rawPath = "", rawQuery = ""] = req.originalUrl.split("?", 2);
  if (/%00/.test(rawPath)) throw new TarmacError("not_found");
  if (/%00/.test(rawQuery) || rawQuery.includes("\u0000")) {
    throw new TarmacError("unprocessable", { detail: "The query string contains a NUL character." });
  }
  const pointer = nulPointer(req.body);
  if (pointer !== null) {
    throw new TarmacError("unprocessable", { title: "invalid attribute", detail: `${pointer}: contains a NUL character`, source: { pointer } });
  }
  // Without a query string there is no page number (and nothing for express to parse).
  const page = rawQuery === "" ? undefined : (req.query as Record<string, unknown>).page;
  const number = page && typeof page === "object" ? (page as Record<string, unknown>).number : undefined;
  if (typeof number === "string" && /^\d+$/.test(number.trim()) && Number(number) > MAX_PAGE_NUMBER) {
    throw new TarmacError("unprocessable", { detail: `page[number] must be at most ${MAX_PAGE_NUMBER}`, source: { parameter: "page[number]" } });
  }
  next();
};
