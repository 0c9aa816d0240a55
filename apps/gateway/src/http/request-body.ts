import { z } from "zod";
import { TarmacError } from "@tarmac/domain";

/** HCP's title for a 422 on a bad attribute; go-tfe shows "invalid attribute\n\n<detail>". */
export const INVALID_ATTRIBUTE = "invalid attribute";

export function invalidAttribute(detail: string, pointer: string): TarmacError {
  return new TarmacError("unprocessable", { title: INVALID_ATTRIBUTE, detail, source: { pointer } });
}

function pointerOf(path: readonly PropertyKey[]): string {
  // A body that is not even an object is missing its primary data.
  if (path.length === 0) return "/data";
  return "/" + path.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/");
}

/**
 * Validates a request body at the edge (DESIGN invariant 5), the one way every route does:
 * anything that does not match is a 422 whose source.pointer names the first offending member.
 */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const pointer = issue ? pointerOf(issue.path) : "/data";
  const detail = issue ? `${pointer}: ${issue.message}` : "invalid request body";
  throw new TarmacError("unprocessable", { title: INVALID_ATTRIBUTE, detail, source: { pointer } });
}

/** `{"data": {"type": <type>, "attributes": {...}, "relationships": {...}}}` with a fixed type when given. */
export function jsonApiDocument<A extends z.ZodType, R extends z.ZodType = z.ZodOptional<z.ZodUnknown>>(
  type: string | null,
  attributes: A,
  relationships?: R,
) {
  return z.object({
    data: z.object({
      type: type === null ? z.string().optional() : z.literal(type),
      id: z.string().optional(),
      // A body with only relationships (or nothing to change) may leave attributes out.
      attributes: z.preprocess((v) => v ?? {}, attributes),
      relationships: (relationships ?? z.unknown().optional()) as R,
    }),
  });
}

/** `{"data": {"type": "<type>", "id": "..."}}` inside relationships. */
export const relationshipTo = (type: string) => z.object({ data: z.object({ type: z.literal(type), id: z.string().min(1) }) });

/** Resource names: letters, digits, `-` and `_` (notes §1.5). */
export const resourceName = (max: number) =>
  z
    .string()
    .min(1, "Name can't be blank")
    .max(max, `Name is too long (maximum is ${max} characters)`)
    .regex(/^[A-Za-z0-9_-]+$/, "Name is invalid: only letters, numbers, - and _ are allowed");

/** A route parameter that must be present (express 5 types them as possibly absent). */
export function pathParam(req: { params: Record<string, string | string[] | undefined> }, name: string): string {
  const v = req.params[name];
  if (typeof v !== "string" || v === "") throw new TarmacError("not_found");
  return v;
}

/** Prisma's unique-constraint violation (a concurrent create won the race past our check). */
export function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "P2002";
}

/** Runs `fn`, turning a unique-constraint violation into the given 422. */
export async function withUniqueAs<T>(fn: () => Promise<T>, error: () => TarmacError): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isUniqueViolation(err)) throw error();
    throw err;
  }
}
