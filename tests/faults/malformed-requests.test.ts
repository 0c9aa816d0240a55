import { connect } from "node:net";
import { gzipSync } from "node:zlib";
import { startGatewayTestEnv, type GatewayTestEnv } from "@tarmac/testing";

/**
 * Ten thousand malformed requests of many kinds against a real gateway: none may answer 5xx,
 * and every answer that has a body is a JSON:API error document. HTTP-level cases go through
 * fetch; what Node's HTTP parser itself refuses goes over raw sockets.
 */
const TOTAL = 10_000;
const CONCURRENCY = 16;

let env: GatewayTestEnv;
let port: number;

beforeAll(async () => {
  env = await startGatewayTestEnv();
  port = Number(new URL(env.gateway.url).port);
}, 120_000);

afterAll(async () => {
  await env?.close();
});

interface Answer {
  status: number;
  contentType: string | null;
  body: string;
}

/** `lenient`: the request parses and the API ignores what it cannot use, so a 2xx is a fair answer too. */
type Kind = { name: string; send: (i: number) => Promise<Answer | null>; lenient?: boolean; mustAnswer?: boolean };

/** Node's own answer to what its parser refuses has no body; ours must be a document. */
const parserLevel = (name: string, bytes: () => string): Kind => ({ name, send: () => raw(bytes()), mustAnswer: true });

const JSONAPI = "application/vnd.api+json";

/** Requests whose connection closed without an answer, twice in a row: listed, as raw() kinds' silences are counted. */
const dropped: string[] = [];

/**
 * One request through fetch. A connection the server closed without an answer (fetch reuses
 * kept-alive connections, and under load one may close as a request goes out on it) is tried once
 * more on a fresh one; a second silence is no answer, as for raw bytes, never a pass for a 5xx.
 */
async function http(method: string, path: string, init: { body?: string | Buffer; headers?: Record<string, string>; token?: boolean } = {}): Promise<Answer | null> {
  const headers: Record<string, string> = { ...(init.token === false ? {} : { Authorization: `Bearer ${env.gateway.adminToken}` }), ...init.headers };
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await fetch(`${env.gateway.url}${path}`, { method, headers, ...(init.body !== undefined ? { body: init.body } : {}) });
      return { status: res.status, contentType: res.headers.get("content-type"), body: await res.text() };
    } catch (err) {
      if (!(err instanceof TypeError)) throw err;
      if (attempt === 2) {
        dropped.push(`${method} ${path}: ${(err as Error).message} (${String((err as { cause?: unknown }).cause)})`);
        return null;
      }
    }
  }
}

/**
 * How long a raw request waits for its answer. An answer arrives in milliseconds; the deadline
 * only ends the wait for one that never comes, and a loaded machine (other suites running beside
 * this one) must not turn a slow answer into none.
 */
const RAW_ANSWER_DEADLINE_MS = 30_000;

/** Writes raw bytes on a fresh connection and reads until the server closes it (or a deadline). */
function raw(bytes: string | Buffer): Promise<Answer | null> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), RAW_ANSWER_DEADLINE_MS);
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      // One answer is all we want: stop once a complete one (by Content-Length) is in.
      const text = Buffer.concat(chunks).toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      const length = /\r\ncontent-length: *(\d+)/i.exec(text);
      if (end >= 0 && length && text.length >= end + 4 + Number(length[1])) socket.destroy();
    });
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString("utf8");
      if (text === "") return resolve(null);
      const status = /^HTTP\/1\.1 (\d{3})/.exec(text);
      if (!status) return reject(new Error(`not an HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      const end = text.indexOf("\r\n\r\n");
      const head = text.slice(0, end);
      const type = /\r\ncontent-type: *([^\r\n]+)/i.exec(head);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      const rest = text.slice(end + 4);
      resolve({ status: Number(status[1]), contentType: type?.[1] ?? null, body: length ? rest.slice(0, Number(length[1])) : rest });
    });
    socket.write(bytes);
  });
}

const org = (i: number) => ({ data: { type: "organizations", attributes: { name: `org-${i}`, email: "x@example.com" } } });

const kinds: Kind[] = [
  // Percent-encoding that is not UTF-8, in paths the router decodes.
  { name: "lone surrogate in a path", send: () => http("GET", "/api/v2/runs/%ED%A0%80") },
  { name: "truncated escape in a path", send: () => http("GET", "/api/v2/organizations/%E0%A4%A/workspaces") },
  { name: "overlong UTF-8 in a path", send: () => http("GET", "/api/v2/workspaces/%C0%AF") },
  { name: "bare 0xFF in a path", send: (i) => http("PATCH", `/api/v2/workspaces/ws-%FF${i}`, { body: "{}", headers: { "Content-Type": JSONAPI } }) },
  { name: "bad escape in a capability path", send: () => http("PUT", "/_archivist/uploads/%ED%A0%80/%FF", { body: "x", token: false }) },
  { name: "bad escape in the query", send: () => http("GET", "/api/v2/organizations?page%5Bnumber%5D=%E0%A4%A&q=%FF"), lenient: true },
  { name: "NUL in a path", send: () => http("GET", "/api/v2/runs/run-%00") },
  // Bodies.
  { name: "gzip declared on a plain body", send: (i) => http("POST", "/api/v2/organizations", { body: JSON.stringify(org(i)), headers: { "Content-Type": JSONAPI, "Content-Encoding": "gzip" } }) },
  { name: "deflate declared on a plain body", send: (i) => http("POST", "/api/v2/organizations", { body: JSON.stringify(org(i)), headers: { "Content-Type": JSONAPI, "Content-Encoding": "deflate" } }) },
  { name: "an unknown content encoding", send: (i) => http("POST", "/api/v2/organizations", { body: JSON.stringify(org(i)), headers: { "Content-Type": JSONAPI, "Content-Encoding": "zstd-x" } }) },
  { name: "gzip of something that is not JSON", send: () => http("POST", "/api/v2/organizations", { body: gzipSync("not json at all {"), headers: { "Content-Type": JSONAPI, "Content-Encoding": "gzip" } }) },
  { name: "an unsupported charset", send: (i) => http("POST", "/api/v2/organizations", { body: JSON.stringify(org(i)), headers: { "Content-Type": `${JSONAPI}; charset=klingon` } }) },
  { name: "truncated JSON", send: () => http("POST", "/api/v2/organizations", { body: '{"data": {"type": "organizations", "attributes": {', headers: { "Content-Type": JSONAPI } }) },
  { name: "JSON nested 100 000 deep", send: () => http("POST", "/api/v2/organizations", { body: "[".repeat(100_000), headers: { "Content-Type": JSONAPI } }) },
  { name: "a JSON scalar as the document", send: () => http("POST", "/api/v2/organizations", { body: '"organizations"', headers: { "Content-Type": JSONAPI } }) },
  { name: "binary garbage as the body", send: (i) => http("PATCH", "/api/v2/organizations/nope", { body: Buffer.from([0xff, 0xfe, 0x00, i % 256, 0x80]), headers: { "Content-Type": JSONAPI } }) },
  { name: "data of the wrong type", send: () => http("POST", "/api/v2/runs", { body: '{"data": {"type": "bananas", "attributes": 7}}', headers: { "Content-Type": JSONAPI } }) },
  // Query parameters and headers the API does not expect.
  { name: "a page number beyond any offset", send: () => http("GET", "/api/v2/organizations?page[number]=99999999999999999999") },
  { name: "a negative page size", send: () => http("GET", "/api/v2/organizations?page[size]=-5"), lenient: true },
  { name: "a malformed bearer token", send: () => http("GET", "/api/v2/organizations", { token: false, headers: { Authorization: "Bearer" } }) },
  { name: "a 12 KB token", send: () => http("GET", "/api/v2/organizations", { token: false, headers: { Authorization: `Bearer ${"t".repeat(12_000)}` } }) },
  // What Node's HTTP parser refuses before express sees it.
  parserLevel("a request line that is not HTTP", () => "GARBAGE\r\n\r\n"),
  parserLevel("an unknown HTTP version", () => "GET /api/v2/ping HTTP/9.9\r\nHost: x\r\n\r\n"),
  parserLevel("a header without a colon", () => "GET /api/v2/ping HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n"),
  parserLevel("headers over the size limit", () => `GET /api/v2/ping HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`),
  parserLevel("a URL over the size limit", () => `GET /api/v2/${"a".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`),
  parserLevel("Content-Length and Transfer-Encoding together", () => "POST /api/v2/organizations HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
  parserLevel("a non-numeric Content-Length", () => "POST /api/v2/organizations HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"),
  parserLevel("a bad chunk size", () => `POST /api/v2/organizations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${env.gateway.adminToken}\r\nContent-Type: ${JSONAPI}\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n`),
  parserLevel("a control character in a header value", () => "GET /api/v2/ping HTTP/1.1\r\nHost: x\r\nX-Evil: a\x01b\r\n\r\n"),
  parserLevel("a space in the request target", () => "GET /api/v2/ping now HTTP/1.1\r\nHost: x\r\n\r\n"),
];

function isErrorDocument(answer: Answer): boolean {
  if (!answer.contentType?.startsWith(JSONAPI)) return false;
  try {
    const doc = JSON.parse(answer.body) as { errors?: { status?: unknown; title?: unknown }[] };
    return Array.isArray(doc.errors) && doc.errors.length > 0 && doc.errors.every((e) => e.status === String(answer.status) && typeof e.title === "string");
  } catch {
    return false;
  }
}

describe("malformed requests", () => {
  it(`answers ${TOTAL} malformed requests with 4xx JSON:API error documents, never 5xx`, async () => {
    const byKind = new Map<string, Map<string, number>>();
    const serverErrors: string[] = [];
    const notDocuments: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < TOTAL) {
        const i = next++;
        const kind = kinds[i % kinds.length]!;
        const answer = await kind.send(i);
        const key = answer === null ? "no answer" : String(answer.status);
        const counts = byKind.get(kind.name) ?? new Map<string, number>();
        counts.set(key, (counts.get(key) ?? 0) + 1);
        byKind.set(kind.name, counts);
        if (answer === null || answer.body === "") {
          if (kind.mustAnswer) notDocuments.push(`${kind.name}: ${answer === null ? "no answer" : `${answer.status} without a body`}`);
          if (answer === null) continue;
        }
        if (answer.status >= 500) serverErrors.push(`${kind.name}: ${answer.status} ${answer.body.slice(0, 200)}`);
        if (answer.status < 400 && !kind.lenient) notDocuments.push(`${kind.name}: answered ${answer.status}`);
        else if (answer.status >= 400 && answer.body !== "" && !isErrorDocument(answer)) notDocuments.push(`${kind.name}: ${answer.status} ${answer.contentType} ${answer.body.slice(0, 200)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));

    for (const [name, counts] of byKind) process.stdout.write(`${name}: ${[...counts].map(([s, n]) => `${s}×${n}`).join(", ")}\n`);
    process.stdout.write(`malformed requests: ${TOTAL}, 5xx answers: ${serverErrors.length}, dropped twice: ${dropped.length}\n`);
    for (const d of new Set(dropped)) process.stdout.write(`dropped: ${d}\n`);
    expect([...new Set(serverErrors)]).toEqual([]);
    expect([...new Set(notDocuments)]).toEqual([]);
  }, 300_000);

  it("keeps connections alive longer than clients keep them idle", async () => {
    const res = await fetch(`${env.gateway.url}/api/v2/ping`);
    expect(res.status).toBe(204);
    expect(res.headers.get("keep-alive")).toBe("timeout=65");
  });

  it("still answers a well-formed request afterwards", async () => {
    expect((await http("GET", "/api/v2/ping"))?.status).toBe(204);
  });
});
