import type { NextFunction, Request, RequestHandler, Response } from "express";
import { auth, type Db, type TokenOwner } from "@tarmac/db";
import { TarmacError } from "@tarmac/domain";

export type Principal = TokenOwner;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      principal?: Principal;
    }
  }
}

/** 401 is only for a missing or invalid token (notes §1.2). */
export function authenticate(db: Db): RequestHandler {
  return async (req: Request, _res: Response, next: NextFunction) => {
    const header = req.get("authorization") ?? "";
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) throw new TarmacError("unauthorized");
    const owner = await auth.findTokenOwner(db, match[1]);
    if (!owner) throw new TarmacError("unauthorized");
    req.principal = owner;
    next();
  };
}

export function principalOf(req: Request): Principal {
  if (!req.principal) throw new TarmacError("unauthorized");
  return req.principal;
}

/** The user behind a principal, for created-by/confirmed-by; null for team and organization tokens. */
export function actingUserId(p: Principal): string | null {
  return p.kind === "user" ? p.user.id : null;
}

/** Organization tokens cannot create runs or configuration versions, nor act on runs (notes §8). */
export function refuseOrganizationToken(p: Principal): void {
  if (p.kind === "organization") throw new TarmacError("not_found");
}
