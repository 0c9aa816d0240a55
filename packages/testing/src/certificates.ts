import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import https from "node:https";
import path from "node:path";
import { REPO_ROOT } from "./database";

export interface TestCertificates {
  dir: string;
  /** The throwaway CA (PEM file) and its contents. */
  caCert: string;
  ca: Buffer;
  /** Certificate for localhost, 127.0.0.1 and ::1, and its key. */
  cert: string;
  key: string;
  /** The CA plus the system roots: what SSL_CERT_FILE points the terraform CLI at. */
  bundle: string;
}

/** A throwaway CA and localhost certificate in `dir`, made by `npm run dev-cert` (openssl). */
export function makeTestCertificates(dir: string): TestCertificates {
  execFileSync(process.execPath, [path.join(REPO_ROOT, "scripts", "dev-cert.mjs"), "--out", dir, "--force", "--quiet"], { stdio: ["ignore", "pipe", "pipe"] });
  const caCert = path.join(dir, "ca.pem");
  return {
    dir,
    caCert,
    ca: readFileSync(caCert),
    cert: path.join(dir, "localhost.pem"),
    key: path.join(dir, "localhost-key.pem"),
    bundle: path.join(dir, "ca-bundle.pem"),
  };
}

export interface HttpsAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One HTTPS request trusting only `ca` (Node's fetch takes no per-request CA). */
export function httpsRequest(
  url: string,
  { ca, method = "GET", headers = {}, body }: { ca?: Buffer; method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ...(ca ? { ca } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end(body);
  });
}
