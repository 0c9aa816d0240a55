/**
 * Why a request to the gateway failed, in words an operator can act on. Node's fetch says only
 * `fetch failed`, with the reason (refused, unknown host, an untrusted certificate) in its cause;
 * its http client puts the reason's code on the error itself, and an aborted request's reason
 * (a timeout) in its cause.
 * `origin` is the gateway's scheme, host and port: never the job URL, whose path is a secret.
 */

const CERTIFICATE_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_GET_ISSUER_CERT",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

const HINTS: Record<string, string> = {
  ECONNREFUSED: "connection refused: is the gateway listening there?",
  ENOTFOUND: "unknown host",
  EAI_AGAIN: "host name lookup failed",
  ECONNRESET: "connection reset",
  ETIMEDOUT: "connection timed out",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
  EPROTO: "TLS handshake failed (is it an HTTP port reached with https://, or the reverse?)",
};

interface ErrorWithCause {
  message?: string;
  code?: string;
  name?: string;
  cause?: unknown;
}

export function describeFetchError(err: unknown, origin: string): string {
  const cause = innermost(err);
  const code = cause?.code ?? "";
  const detail = cause?.message ?? String(err);
  if (CERTIFICATE_CODES.has(code)) {
    return (
      `the gateway at ${origin} presented a certificate this worker does not trust (${code}: ${detail}); ` +
      "point TARMAC_GATEWAY_URL at the gateway's internal listener (TARMAC_INTERNAL_PORT) or trust its CA with NODE_EXTRA_CA_CERTS"
    );
  }
  if ((err as ErrorWithCause)?.name === "TimeoutError" || cause?.name === "TimeoutError") return `the gateway at ${origin} did not answer in time`;
  const hint = HINTS[code];
  return `cannot reach the gateway at ${origin}: ${hint ? `${hint} (${code})` : code ? `${code}: ${detail}` : detail}`;
}

function innermost(err: unknown): ErrorWithCause | undefined {
  let current = err as ErrorWithCause | undefined;
  for (let depth = 0; depth < 5 && current?.cause && typeof current.cause === "object"; depth++) {
    current = current.cause as ErrorWithCause;
  }
  return current;
}

/** scheme://host:port of a URL, without its path (job URLs carry a secret in their path). */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(unparseable URL)";
  }
}
