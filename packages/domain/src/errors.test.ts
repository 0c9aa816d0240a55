import {
  badRequest,
  conflict,
  ERROR_CODES,
  forbidden,
  httpStatusForCode,
  isTarmacError,
  notFound,
  TarmacError,
  transitionNotAllowed,
  unauthorized,
  unprocessable,
} from "./errors";

describe("TarmacError", () => {
  it("maps every code to its HTTP status and HCP's title", () => {
    const table = Object.fromEntries(ERROR_CODES.map((code) => [code, [httpStatusForCode(code), new TarmacError(code).title]]));
    expect(table).toEqual({
      bad_request: [400, "bad request"],
      unauthorized: [401, "unauthorized"],
      forbidden: [403, "forbidden"],
      not_found: [404, "not found"],
      conflict: [409, "conflict"],
      payload_too_large: [413, "payload too large"],
      unsupported_media_type: [415, "unsupported media type"],
      unprocessable: [422, "unprocessable entity"],
      rate_limited: [429, "Too many requests"],
      internal: [500, "internal server error"],
      service_unavailable: [503, "service unavailable"],
    });
  });

  it("carries an optional detail, source pointer and cause", () => {
    const cause = new Error("root");
    const error = new TarmacError("unprocessable", {
      detail: "Configuration version is missing",
      source: { pointer: "/data/relationships/configuration-version" },
      cause,
    });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: "TarmacError",
      code: "unprocessable",
      status: 422,
      title: "unprocessable entity",
      detail: "Configuration version is missing",
      source: { pointer: "/data/relationships/configuration-version" },
    });
    expect(error.cause).toBe(cause);
    expect(error.message).toBe("unprocessable entity: Configuration version is missing");
    expect(new TarmacError("not_found").detail).toBeUndefined();
  });

  it("treats 4xx as expected answers and 5xx as incidents", () => {
    expect(notFound().isExpected).toBe(true);
    expect(new TarmacError("rate_limited").isExpected).toBe(true);
    expect(new TarmacError("internal").isExpected).toBe(false);
    // A 503 asking the client to retry is an answer, not an incident.
    expect(new TarmacError("service_unavailable").isExpected).toBe(true);
  });

  it("has constructors for the common answers", () => {
    expect(transitionNotAllowed("Run was not paused for confirmation; apply not allowed.")).toMatchObject({
      status: 409,
      title: "transition not allowed",
      detail: "Run was not paused for confirmation; apply not allowed.",
    });
    expect(conflict()).toMatchObject({ status: 409, title: "conflict" });
    expect(notFound("run not found")).toMatchObject({ status: 404, title: "not found", detail: "run not found" });
    expect(unprocessable("bad", { pointer: "/data" })).toMatchObject({ status: 422, source: { pointer: "/data" } });
    expect(badRequest("Invalid include parameter", { parameter: "include" })).toMatchObject({ status: 400, source: { parameter: "include" } });
    expect(forbidden()).toMatchObject({ status: 403, title: "forbidden" });
    expect(unauthorized()).toMatchObject({ status: 401, title: "unauthorized" });
  });

  it("is recognised by isTarmacError and nothing else is", () => {
    expect(isTarmacError(notFound())).toBe(true);
    expect(isTarmacError(new Error("not found"))).toBe(false);
    expect(isTarmacError({ code: "not_found", status: 404 })).toBe(false);
  });
});
