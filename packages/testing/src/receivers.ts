import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server } from "node:http";
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from "node:net";

/** One request a webhook receiver got. */
export interface ReceivedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  /** The raw body, exactly as sent (signatures are over these bytes). */
  raw: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
  /** Whether X-TFE-Notification-Signature is the HMAC-SHA512 of the raw body under the receiver's token. */
  signatureValid: boolean;
}

export interface WebhookReceiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Status the receiver answers with (200 unless changed). */
  status: number;
  /** Delay before answering, in ms. */
  delayMs: number;
  close(): Promise<void>;
}

function verifySignature(raw: string, header: string | string[] | undefined, token: string | undefined): boolean {
  if (!token || typeof header !== "string" || header === "") return false;
  const expected = createHmac("sha512", token).update(raw, "utf8").digest("hex");
  return expected.length === header.length && timingSafeEqual(Buffer.from(expected), Buffer.from(header));
}

/**
 * A local HTTP receiver of notifications. With `token` it checks each request's
 * X-TFE-Notification-Signature the way HCP's docs tell receivers to. `port` reuses a port (a
 * receiver that comes back after being down).
 */
export async function startWebhookReceiver(options: { token?: string; port?: number; status?: number } = {}): Promise<WebhookReceiver> {
  const requests: ReceivedRequest[] = [];
  const receiver = { requests, status: options.status ?? 200, delayMs: 0 } as WebhookReceiver;
  const server: Server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8");
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        json = undefined;
      }
      requests.push({
        path: req.url ?? "/",
        headers: req.headers,
        raw,
        json,
        signatureValid: verifySignature(raw, req.headers["x-tfe-notification-signature"], options.token),
      });
      setTimeout(() => res.writeHead(receiver.status, { "Content-Type": "text/plain", "X-Receiver": "test" }).end(`answered ${receiver.status}`), receiver.delayMs);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  if (!address || typeof address !== "object") throw new Error("receiver has no port");
  receiver.port = address.port;
  receiver.url = `http://127.0.0.1:${address.port}/hook`;
  receiver.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return receiver;
}

/** One message an SMTP receiver accepted. */
export interface ReceivedMail {
  from: string;
  to: string[];
  /** The DATA section, headers and body, dot-unstuffed. */
  data: string;
}

export interface SmtpReceiver {
  host: string;
  port: number;
  messages: ReceivedMail[];
  close(): Promise<void>;
}

/**
 * A minimal SMTP server (RFC 5321's commands a client needs to hand over a message: EHLO/HELO,
 * MAIL, RCPT, DATA, RSET, NOOP, QUIT), enough to receive what a real SMTP client sends.
 */
export async function startSmtpReceiver(): Promise<SmtpReceiver> {
  const messages: ReceivedMail[] = [];
  const sockets = new Set<Socket>();
  const server: TcpServer = createTcpServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.setEncoding("utf8");
    let buffer = "";
    let inData = false;
    let data: string[] = [];
    let from = "";
    let to: string[] = [];
    const reply = (line: string) => socket.write(`${line}\r\n`);
    reply("220 localhost test SMTP ready");
    socket.on("data", (chunk: string) => {
      buffer += chunk;
      let index: number;
      while ((index = buffer.indexOf("\r\n")) >= 0) {
        const line = buffer.slice(0, index);
        buffer = buffer.slice(index + 2);
        if (inData) {
          if (line === ".") {
            inData = false;
            messages.push({ from, to, data: data.join("\r\n") });
            data = [];
            reply("250 2.0.0 OK queued");
          } else {
            data.push(line.startsWith("..") ? line.slice(1) : line);
          }
          continue;
        }
        const command = line.slice(0, 4).toUpperCase();
        if (command === "EHLO") {
          socket.write("250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
        } else if (command === "HELO") {
          reply("250 localhost");
        } else if (command === "MAIL") {
          from = /<([^>]*)>/.exec(line)?.[1] ?? "";
          to = [];
          reply("250 2.1.0 OK");
        } else if (command === "RCPT") {
          to.push(/<([^>]*)>/.exec(line)?.[1] ?? "");
          reply("250 2.1.5 OK");
        } else if (command === "DATA") {
          inData = true;
          reply("354 End data with <CR><LF>.<CR><LF>");
        } else if (command === "RSET") {
          from = "";
          to = [];
          reply("250 2.0.0 OK");
        } else if (command === "NOOP") {
          reply("250 2.0.0 OK");
        } else if (command === "QUIT") {
          reply("221 2.0.0 Bye");
          socket.end();
        } else {
          reply("502 5.5.2 Command not implemented");
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const address = server.address();
  if (!address || typeof address !== "object") throw new Error("SMTP receiver has no port");
  return {
    host: "127.0.0.1",
    port: address.port,
    messages,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
