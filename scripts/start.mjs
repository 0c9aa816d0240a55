// `npm start`: prepares the checkout, builds the apps (`turbo run build`: apps/<app>/dist), then
// runs the gateway, the scheduler, one worker and the notifier in the foreground with prefixed
// logs. Ctrl-C stops them all.
import { spawn } from "node:child_process";
import path from "node:path";
import { existsSync } from "node:fs";
import { buildApps, prepare, root, DEFAULT_DATABASE_URL } from "./prepare.mjs";
import { certificatePaths } from "./dev-cert.mjs";

await prepare();
buildApps();

const env = {
  ...process.env,
  DATABASE_URL: process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
  REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  NATS_URL: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
  // Two glibc malloc arenas instead of one per allocating thread, as in the Dockerfile.
  MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? "2",
};
// `npm run dev-cert` made a certificate: serve HTTPS with it, unless the TLS variables are
// set (to other files, or to "" for plain HTTP).
const devCert = certificatePaths();
if (env.TARMAC_TLS_CERT_FILE === undefined && env.TARMAC_TLS_KEY_FILE === undefined && existsSync(devCert.cert) && existsSync(devCert.key)) {
  env.TARMAC_TLS_CERT_FILE = devCert.cert;
  env.TARMAC_TLS_KEY_FILE = devCert.key;
  console.log(`[start] HTTPS with ${path.relative(root, devCert.cert)} (npm run dev-cert); terraform CLI: export SSL_CERT_FILE=${devCert.bundle}`);
}
const isTls = Boolean(env.TARMAC_TLS_CERT_FILE && env.TARMAC_TLS_KEY_FILE);
env.PORT ??= isTls ? "8443" : "8080";
if (isTls) {
  // Workers reach the gateway over plain HTTP on loopback, whatever certificate it presents.
  env.TARMAC_INTERNAL_PORT ??= "8083";
  env.TARMAC_PUBLIC_URL ??= `https://localhost:${env.PORT}`;
} else {
  env.TARMAC_PUBLIC_URL ??= `http://127.0.0.1:${env.PORT}`;
}
// Unset, the scheduler hands workers the internal listener when there is one, else the public URL.

const concurrently = path.join(root, "node_modules", ".bin", "concurrently");
// Compiled JavaScript; stack traces point into the TypeScript through the source maps.
// V8 heap settings as in the Dockerfile (NODE_OPTIONS there): small semi-spaces, a bounded old generation.
const app = (name) => `"${process.execPath}" --enable-source-maps --max-semi-space-size=2 --max-old-space-size=384 apps/${name}/dist/main.js`;
const child = spawn(
  concurrently,
  [
    "--names", "gateway,scheduler,worker,notifier",
    "--prefix-colors", "cyan,magenta,yellow,green",
    "--kill-others",
    "--kill-signal", "SIGTERM",
    app("gateway"),
    app("scheduler"),
    app("worker"),
    app("notifier"),
  ],
  { cwd: root, env, stdio: "inherit" },
);
// concurrently forwards SIGINT/SIGTERM to the apps; we only wait for it.
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => {});
child.on("exit", (code) => process.exit(code ?? 0));
