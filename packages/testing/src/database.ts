import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { Client } from "pg";

export const REPO_ROOT = path.resolve(__dirname, "../../..");
const MIGRATIONS_DIR = path.join(REPO_ROOT, "prisma", "migrations");

/** The server the tests use; a database name is appended per test file. */
export function adminUrl(database = "postgres"): string {
  const base = process.env.TARMAC_TEST_PG_URL ?? "postgresql://postgres@127.0.0.1:5432";
  return `${base.replace(/\/+$/, "")}/${database}`;
}

/** Template name keyed by the migrations' content, so a schema change makes a new one. */
export function templateDatabaseName(): string {
  const hash = createHash("sha256");
  for (const dir of readdirSync(MIGRATIONS_DIR).sort()) {
    const file = path.join(MIGRATIONS_DIR, dir, "migration.sql");
    try {
      hash.update(dir).update(readFileSync(file));
    } catch {
      // migration_lock.toml and other non-directories
    }
  }
  return `tarmac_tpl_${hash.digest("hex").slice(0, 12)}`;
}

async function withAdmin<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: adminUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Runs `prisma migrate deploy` against a database: the same path production uses. */
export function migrateDeploy(databaseUrl: string): void {
  execFileSync(path.join(REPO_ROOT, "node_modules", ".bin", "prisma"), ["migrate", "deploy"], {
    cwd: REPO_ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: "pipe",
  });
}

/**
 * Creates the migrated template database once per schema version. An advisory
 * lock makes concurrent test runs wait for each other instead of racing.
 */
export async function ensureTemplateDatabase(): Promise<string> {
  const name = templateDatabaseName();
  await withAdmin(async (c) => {
    await c.query("SELECT pg_advisory_lock(727274)");
    try {
      const exists = await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
      if (exists.rowCount === 0) {
        const building = `${name}_build`;
        await c.query(`DROP DATABASE IF EXISTS "${building}"`);
        await c.query(`CREATE DATABASE "${building}"`);
        migrateDeploy(adminUrl(building));
        await c.query(`ALTER DATABASE "${building}" RENAME TO "${name}"`);
      }
    } finally {
      await c.query("SELECT pg_advisory_unlock(727274)");
    }
  });
  return name;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one test file (copied from the template). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = process.env.TARMAC_TEST_TEMPLATE_DB ?? (await ensureTemplateDatabase());
  const name = `tarmac_t_${randomBytes(6).toString("hex")}`;
  await withAdmin((c) => c.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`));
  return {
    name,
    url: adminUrl(name),
    drop: () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}

/** An empty database (no schema), for tests of the migrations themselves. */
export async function createEmptyDatabase(): Promise<TestDatabase> {
  const name = `tarmac_e_${randomBytes(6).toString("hex")}`;
  await withAdmin((c) => c.query(`CREATE DATABASE "${name}"`));
  return {
    name,
    url: adminUrl(name),
    drop: () => withAdmin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined),
  };
}
