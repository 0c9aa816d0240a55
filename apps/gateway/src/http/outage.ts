/**
 * Errors that mean a dependency is unavailable rather than that the request is wrong or the
 * code is broken: the answer is 503 with Retry-After (the client may try again), not 500.
 * Recognised from codes, never by showing the error: its text names hosts, ports and users.
 */
export type Dependency = "postgres" | "redis" | "network";

/** Prisma: can't reach (P1001), timed out (P1002, P1008), closed (P1017), no database (P1003), pool timeout (P2024), no transaction slot (P2028), too many connections (P2037). */
const PRISMA_OUTAGE_CODES = new Set(["P1001", "P1002", "P1003", "P1008", "P1017", "P2024", "P2028", "P2037"]);
/** @prisma/adapter-pg's error kinds for the same conditions (under `meta.driverAdapterError.cause.kind`). */
const ADAPTER_OUTAGE_KINDS = new Set([
  "DatabaseNotReachable",
  "DatabaseDoesNotExist",
  "ConnectionClosed",
  "SocketTimeout",
  "TooManyConnections",
  "DatabaseAccessDenied",
  "AuthenticationFailed",
]);
/** Socket-level failures, from pg or ioredis. */
const SOCKET_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);
/** PostgreSQL SQLSTATEs: connection exceptions (08…), shutting down or starting (57P01–57P03), too many connections. */
const PG_OUTAGE_STATE = /^(08...|57P0[123]|53300)$/;
const PG_OUTAGE_MESSAGE = /Can't reach database server|Connection terminated|timeout exceeded when trying to connect|Timed out fetching a new connection|Unable to start a transaction in the given time/;
const REDIS_OUTAGE_MESSAGE = /Connection is closed|Reached the max retries per request limit|Stream isn't writeable/;

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  meta?: { driverAdapterError?: { cause?: { kind?: unknown } } };
  clientVersion?: unknown;
}

function isPrismaError(e: ErrorLike): boolean {
  return typeof e.name === "string" && e.name.startsWith("PrismaClient");
}

function classifyOne(e: ErrorLike): Dependency | null {
  const code = typeof e.code === "string" ? e.code : "";
  const message = typeof e.message === "string" ? e.message : "";
  const name = typeof e.name === "string" ? e.name : "";
  if (isPrismaError(e)) {
    const kind = e.meta?.driverAdapterError?.cause?.kind;
    if (PRISMA_OUTAGE_CODES.has(code) || (typeof kind === "string" && ADAPTER_OUTAGE_KINDS.has(kind))) return "postgres";
    if (name === "PrismaClientInitializationError" || name === "PrismaClientRustPanicError") return "postgres";
    if (PG_OUTAGE_MESSAGE.test(message)) return "postgres";
    return null;
  }
  if (name === "MaxRetriesPerRequestError" || REDIS_OUTAGE_MESSAGE.test(message)) return "redis";
  if (PG_OUTAGE_STATE.test(code) || PG_OUTAGE_MESSAGE.test(message)) return "postgres";
  if (SOCKET_CODES.has(code)) return "network";
  return null;
}

/** The dependency whose outage caused `err` (following `cause` chains), or null. */
export function dependencyOutage(err: unknown): Dependency | null {
  let current: unknown = err;
  for (let depth = 0; depth < 5 && current !== null && typeof current === "object"; depth++) {
    const found = classifyOne(current as ErrorLike);
    if (found) return found;
    current = (current as ErrorLike).cause;
  }
  return null;
}
