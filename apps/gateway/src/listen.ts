import http from "node:http";
import https from "node:https";
import type { Express } from "express";
import type { TlsMaterial } from "./tls";
import { answerClientErrors } from "./http/client-error";

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
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(new Error(`cannot listen on ${host ?? "*"}:${port}: ${err.message}`));
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve({ close: () => new Promise<void>((done) => server.close(() => done())) });
    });
  });
}
