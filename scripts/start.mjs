// `npm start`: prepares the checkout, then runs the gateway, the scheduler and
// one worker in the foreground with prefixed logs. Ctrl-C stops all three.
import { spawn } from "node:child_process";
import path from "node:path";
import { prepare, root, DEFAULT_DATABASE_URL } from "./prepare.mjs";

await prepare();

const env = {
  ...process.env,
  DATABASE_URL: process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL,
  REDIS_URL: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  NATS_URL: process.env.NATS_URL ?? "nats://127.0.0.1:4222",
  PORT: process.env.PORT ?? "8080",
};
env.TARMAC_PUBLIC_URL ??= `http://127.0.0.1:${env.PORT}`;
env.TARMAC_GATEWAY_URL ??= env.TARMAC_PUBLIC_URL;

const tsx = path.join(root, "node_modules", ".bin", "tsx");
const concurrently = path.join(root, "node_modules", ".bin", "concurrently");
const app = (name) => `"${tsx}" apps/${name}/src/main.ts`;
const child = spawn(
  concurrently,
  [
    "--names", "gateway,scheduler,worker",
    "--prefix-colors", "cyan,magenta,yellow",
    "--kill-others",
    "--kill-signal", "SIGTERM",
    app("gateway"),
    app("scheduler"),
    app("worker"),
  ],
  { cwd: root, env, stdio: "inherit" },
);
// concurrently forwards SIGINT/SIGTERM to the apps; we only wait for it.
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => {});
child.on("exit", (code) => process.exit(code ?? 0));
