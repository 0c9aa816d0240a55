import { STATUS_CODES, type Server } from "node:http";
import type { Duplex } from "node:stream";
import { errorDocument, errorObject, MEDIA_TYPE } from "@tarmac/jsonapi";

/** What Node's HTTP parser (or its timers) refused, as the status a client should see. */
function statusFor(err: NodeJS.ErrnoException): number {
  switch (err.code) {
    case "HPE_HEADER_OVERFLOW":
      return 431;
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return 408;
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return 413;
    default:
      return 400;
  }
}

const DETAIL: Record<number, string> = {
  400: "The request could not be parsed as HTTP.",
  408: "The request was not received in time.",
  413: "The request is too large.",
  431: "The request's headers are too large.",
};

interface ParserSocket extends Duplex {
  _httpMessage?: { headersSent?: boolean } | null;
}

/**
 * Requests Node refuses before express sees them (malformed request line or headers,
 * headers over the size limit, bad chunked encoding) get the same JSON:API error document
 * as every other bad request instead of Node's bare `400 Bad Request`. As Node's own
 * handler does, nothing is written once a response has begun on the socket.
 */
export function answerClientErrors(server: Server): void {
  server.on("clientError", (err: NodeJS.ErrnoException, socket: ParserSocket) => {
    if (err.code === "ECONNRESET" || !socket.writable || socket._httpMessage?.headersSent) {
      socket.destroy();
      return;
    }
    const status = statusFor(err);
    const body = JSON.stringify(errorDocument([errorObject(status, (STATUS_CODES[status] ?? "bad request").toLowerCase(), DETAIL[status])]));
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n` +
        `Content-Type: ${MEDIA_TYPE}; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        "Connection: close\r\n\r\n" +
        body,
    );
  });
}
