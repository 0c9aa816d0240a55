import { dependencyOutage } from "./outage";

function prismaError(code: string, kind?: string, message = "Invalid `db.run.findFirst()` invocation"): Error {
  const err = new Error(message) as Error & Record<string, unknown>;
  err.name = "PrismaClientKnownRequestError";
  err.code = code;
  if (kind) err.meta = { driverAdapterError: { name: "DriverAdapterError", cause: { kind } } };
  return err;
}

const withCode = (message: string, code: string): Error => Object.assign(new Error(message), { code });

describe("dependency outage classification", () => {
  it.each([
    ["Prisma P1001 (cannot reach)", prismaError("P1001"), "postgres"],
    ["a raw query that could not reach the server", prismaError("P2010", undefined, "Raw query failed. Message: `Can't reach database server at 10.0.0.5:5432`"), "postgres"],
    ["Prisma P1017 (server closed the connection)", prismaError("P1017"), "postgres"],
    ["Prisma P2024 (connection pool timeout)", prismaError("P2024"), "postgres"],
    ["a raw query failing with the adapter's DatabaseNotReachable", prismaError("P2010", "DatabaseNotReachable"), "postgres"],
    ["the adapter's ConnectionClosed", prismaError("P2010", "ConnectionClosed"), "postgres"],
    ["pg's connect timeout", new Error("timeout exceeded when trying to connect"), "postgres"],
    ["PostgreSQL shutting down (57P01)", withCode("terminating connection due to administrator command", "57P01"), "postgres"],
    ["ioredis after its retries", Object.assign(new Error("Reached the max retries per request limit (which is 2)."), { name: "MaxRetriesPerRequestError" }), "redis"],
    ["ioredis on a closed connection", new Error("Connection is closed."), "redis"],
    ["a refused socket", withCode("connect ECONNREFUSED 127.0.0.1:5432", "ECONNREFUSED"), "network"],
    ["an outage wrapped as a cause", new Error("loading the run failed", { cause: prismaError("P1001") }), "postgres"],
  ])("recognises %s", (_what, err, dependency) => {
    expect(dependencyOutage(err)).toBe(dependency);
  });

  it.each([
    ["a unique violation", prismaError("P2002")],
    ["a record not found", prismaError("P2025")],
    ["a raw query's syntax error", prismaError("P2010", "PostgresError")],
    ["a programming error", new TypeError("cannot read properties of undefined")],
    ["a non-error value", "boom"],
  ])("leaves %s to be a 500", (_what, err) => {
    expect(dependencyOutage(err)).toBeNull();
  });
});
