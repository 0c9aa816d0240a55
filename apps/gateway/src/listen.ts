import http from "node:http";
import https from "node:https";
import type { Express } from "express";
import type { TlsMaterial } from "./tls";
import { answerClientErrors } from "./http/client-error";

/** How long an idle kept-alive connection stays open (announced in Keep-Alive: timeout=65). */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export interface Listening {
  close(): Promise<void>;
}

/**
 * Starts the express app over HTTP or, with a certificate, HTTPS. Resolves once the port is
 * bound, and rejects (EADDRINUSE, EACCES) instead of crashing later, so boot errors name the port.
 */
export function listen(app: Express, { port, host, tls }: { port: number; host?: string; tls: TlsMaterial | null }): Promise<Listening> {
  const server = tls ? https.createServer({ cert: tls.cert, key: tls.key }, app) : http.createServer(app);
  // https.Server emits the same clientError for requests its HTTP parser refuses.
  answerClientErrors(server as http.Server);
  // Kept-alive connections outlive the clients' idle timers (node's fetch: the announced timeout
  // less a second; Go's transport retries what it had not written), as load balancers' 60 s and
  // more do. With node's 5 s, a client whose timer ran late under load sent a POST on a connection
  // the gateway was closing that moment and lost it ("other side closed"; POSTs are not retried).
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Must exceed keepAliveTimeout, or a reused connection's next request can time out early.
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1_000;
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(new Error(`cannot listen on ${host ?? "*"}:${port}: ${err.message}`));
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve({ close: () => new Promise<void>((done) => server.close(() => done())) });
    });
  });
}
