// `npm run dev-cert`: a local certificate authority and a certificate for localhost,
// 127.0.0.1 and ::1, made with openssl under .tarmac/tls/ (gitignored). `npm start` serves
// HTTPS with it when present; the terraform CLI trusts it through SSL_CERT_FILE.
//
//   node scripts/dev-cert.mjs [--out DIR] [--force] [--quiet]
//
// An existing CA and certificate are kept (re-run with --force to replace them), so the
// exports printed last time stay valid.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_DIR = path.join(root, ".tarmac", "tls");

/** Where Debian, Alpine, Fedora and macOS (Homebrew openssl) keep the system's trusted roots. */
const SYSTEM_BUNDLES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/cert.pem",
];

export function certificatePaths(dir = DEFAULT_DIR) {
  return {
    dir,
    caCert: path.join(dir, "ca.pem"),
    caKey: path.join(dir, "ca-key.pem"),
    cert: path.join(dir, "localhost.pem"),
    key: path.join(dir, "localhost-key.pem"),
    // The CA plus the system's roots: SSL_CERT_FILE replaces Go's roots, and the terraform CLI
    // still needs them for registry.terraform.io and provider downloads.
    bundle: path.join(dir, "ca-bundle.pem"),
  };
}

function openssl(args, cwd) {
  try {
    execFileSync("openssl", args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    if (err.code === "ENOENT") throw new Error("openssl is not installed (Debian: apt-get install openssl)");
    throw new Error(`openssl ${args[0]} failed: ${err.stderr?.toString().trim() || err.message}`);
  }
}

export function makeCertificates({ dir = DEFAULT_DIR, force = false } = {}) {
  const p = certificatePaths(dir);
  if (!force && [p.caCert, p.cert, p.key, p.bundle].every((f) => existsSync(f))) return { ...p, created: false };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const f of Object.values(p)) if (f !== dir) rmSync(f, { force: true });
  const days = "825"; // the longest validity Apple's TLS clients accept for a server certificate
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  openssl(["req", "-x509", "-new", ...ec, "-keyout", p.caKey, "-out", p.caCert, "-days", days,
    "-subj", "/O=Tarmac development/CN=Tarmac local CA",
    "-addext", "basicConstraints=critical,CA:TRUE",
    "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
  const csr = path.join(dir, "localhost.csr");
  const ext = path.join(dir, "localhost.ext");
  openssl(["req", "-new", ...ec, "-keyout", p.key, "-out", csr, "-subj", "/O=Tarmac development/CN=localhost"], dir);
  // Go (the terraform CLI) and Node check the subjectAltName only, never the CN.
  writeFileSync(ext, [
    "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
    "basicConstraints=critical,CA:FALSE",
    "keyUsage=critical,digitalSignature,keyEncipherment",
    "extendedKeyUsage=serverAuth",
  ].join("\n") + "\n");
  openssl(["x509", "-req", "-in", csr, "-CA", p.caCert, "-CAkey", p.caKey, "-CAcreateserial",
    "-out", p.cert, "-days", days, "-extfile", ext], dir);
  rmSync(csr, { force: true });
  rmSync(ext, { force: true });
  rmSync(path.join(dir, "ca.srl"), { force: true });
  const system = SYSTEM_BUNDLES.find((f) => existsSync(f));
  writeFileSync(p.bundle, readFileSync(p.caCert, "utf8") + (system ? `\n${readFileSync(system, "utf8")}` : ""));
  return { ...p, created: true };
}

function main() {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf("--out");
  const dir = outIndex >= 0 ? path.resolve(args[outIndex + 1] ?? "") : DEFAULT_DIR;
  const made = makeCertificates({ dir, force: args.includes("--force") });
  if (args.includes("--quiet")) return;
  const rel = (f) => (f.startsWith(root + path.sep) ? path.relative(process.cwd(), f) || f : f);
  console.log(`${made.created ? "Created" : "Kept the existing"} local CA and certificate for localhost in ${rel(dir)}`);
  console.log(dir === DEFAULT_DIR
    ? "\n`npm start` now serves HTTPS on https://localhost:8443 with it (workers use http://127.0.0.1:8083)."
    : "\nFor the gateway:");
  console.log(`
  export TARMAC_TLS_CERT_FILE=${made.cert}
  export TARMAC_TLS_KEY_FILE=${made.key}

For the terraform CLI (trusts this CA and the system's roots):

  export SSL_CERT_FILE=${made.bundle}

For other tools: curl --cacert ${made.caCert} …, NODE_EXTRA_CA_CERTS=${made.caCert}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main();
  } catch (err) {
    console.error(`dev-cert: ${err.message}`);
    process.exit(1);
  }
}
