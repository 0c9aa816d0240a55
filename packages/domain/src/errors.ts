export const ERROR_CODES = [
  "bad_request",
  "unauthorized",
  "forbidden",
  "not_found",
  "conflict",
  "payload_too_large",
  "unsupported_media_type",
  "unprocessable",
  "rate_limited",
  "internal",
  "service_unavailable",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export function httpStatusForCode(code: ErrorCode): number {
  switch (code) {
    case "bad_request":
      return 400;
    case "unauthorized":
      return 401;
    case "forbidden":
      return 403;
    case "not_found":
      return 404;
    case "conflict":
      return 409;
    case "payload_too_large":
      return 413;
    case "unsupported_media_type":
      return 415;
    case "unprocessable":
      return 422;
    case "rate_limited":
      return 429;
    case "internal":
      return 500;
    case "service_unavailable":
      return 503;
  }
}

/** Titles as HCP Terraform writes them (tfe-client-notes §1.2 and §1.6); go-tfe shows them to users. */
export function defaultTitleForCode(code: ErrorCode): string {
  switch (code) {
    case "bad_request":
      return "bad request";
    case "unauthorized":
      return "unauthorized";
    case "forbidden":
      return "forbidden";
    case "not_found":
      return "not found";
    case "conflict":
      return "conflict";
    case "payload_too_large":
      return "payload too large";
    case "unsupported_media_type":
      return "unsupported media type";
    case "unprocessable":
      return "unprocessable entity";
    case "rate_limited":
      return "Too many requests";
    case "internal":
      return "internal server error";
    case "service_unavailable":
      return "service unavailable";
  }
}

/** Title of the 409 HCP answers when a run action is not allowed in the run's status (go-tfe #535). */
export const TRANSITION_NOT_ALLOWED = "transition not allowed";

/** JSON:API `source`: a JSON pointer into the request body, or the query parameter at fault. */
export interface ErrorSource {
  pointer?: string;
  parameter?: string;
}

export interface TarmacErrorOptions {
  title?: string;
  detail?: string;
  source?: ErrorSource;
  cause?: unknown;
}

/**
 * The one error type of Tarmac. Expected answers (404, 409, 422…) and incidents (500) both use it;
 * the HTTP layer renders `status`, `title`, `detail` and `source` as a JSON:API error object.
 */
export class TarmacError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly title: string;
  readonly detail: string | undefined;
  readonly source: ErrorSource | undefined;

  constructor(code: ErrorCode, options: TarmacErrorOptions = {}) {
    const title = options.title ?? defaultTitleForCode(code);
    super(options.detail === undefined ? title : `${title}: ${options.detail}`, { cause: options.cause });
    this.name = "TarmacError";
    this.code = code;
    this.status = httpStatusForCode(code);
    this.title = title;
    this.detail = options.detail;
    this.source = options.source;
  }

  /** 4xx errors are answers to the client; 5xx ones are incidents worth a stack trace. */
  get isExpected(): boolean {
    // A 503 asking the client to retry (a state upload still pending) is an answer too.
    return this.status < 500 || this.code === "service_unavailable";
  }
}

export function isTarmacError(error: unknown): error is TarmacError {
  return error instanceof TarmacError;
}

export function notFound(detail?: string): TarmacError {
  return new TarmacError("not_found", detail === undefined ? {} : { detail });
}

export function conflict(detail?: string): TarmacError {
  return new TarmacError("conflict", detail === undefined ? {} : { detail });
}

export function transitionNotAllowed(detail?: string): TarmacError {
  return new TarmacError("conflict", { title: TRANSITION_NOT_ALLOWED, ...(detail === undefined ? {} : { detail }) });
}

export function unprocessable(detail: string, source?: ErrorSource): TarmacError {
  return new TarmacError("unprocessable", source === undefined ? { detail } : { detail, source });
}

export function badRequest(detail: string, source?: ErrorSource): TarmacError {
  return new TarmacError("bad_request", source === undefined ? { detail } : { detail, source });
}

export function forbidden(detail?: string): TarmacError {
  return new TarmacError("forbidden", detail === undefined ? {} : { detail });
}

export function unauthorized(detail?: string): TarmacError {
  return new TarmacError("unauthorized", detail === undefined ? {} : { detail });
}
