// Brings a checkout to a runnable state: dependencies, the generated Prisma
// client, the database and its migrations. Safe to run on every start.
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generatePrismaClient } from "./generate-prisma.mjs";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/tarmac";

function run(cmd, args, env = process.env) {
  execFileSync(cmd, args, { cwd: root, stdio: "inherit", env });
}

function needsInstall() {
  const marker = path.join(root, "node_modules", ".package-lock.json");
  if (!existsSync(marker)) return true;
  return statSync(path.join(root, "package-lock.json")).mtimeMs > statSync(marker).mtimeMs;
}

export function installDependencies() {
  if (needsInstall()) {
    console.log("[prepare] installing dependencies (npm ci)");
    run("npm", ["ci", "--no-audit", "--no-fund"]);
  }
}

export { generatePrismaClient };

/** Creates the database named in the URL when it does not exist yet. */
export async function ensureDatabase(databaseUrl) {
  const { default: pg } = await import("pg");
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ""));
  const admin = new URL(databaseUrl);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (rowCount === 0) {
      console.log(`[prepare] creating database ${name}`);
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
    }
  } finally {
    await client.end();
  }
}

export function migrate(databaseUrl) {
  run(path.join(root, "node_modules", ".bin", "prisma"), ["migrate", "deploy"], { ...process.env, DATABASE_URL: databaseUrl });
}

/** `turbo run build`: each app bundled into apps/<app>/dist/main.js with its source map. */
export function buildApps() {
  run(path.join(root, "node_modules", ".bin", "turbo"), ["run", "build", "--output-logs=errors-only"]);
}

export async function prepare({ database = true } = {}) {
  installDependencies();
  generatePrismaClient();
  if (database) {
    const databaseUrl = process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
    await ensureDatabase(databaseUrl);
    migrate(databaseUrl);
  }
}
