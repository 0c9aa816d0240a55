import { randomBytes } from "node:crypto";
import { closeSync, existsSync, fsyncSync, linkSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import path from "node:path";
import { z } from "zod";
import { ConfigError } from "./parse-env";

/**
 * The deployment key (TARMAC_ENCRYPTION_KEY) signs capability URLs and encrypts sensitive
 * variables, so a key anyone can read lets anyone read a run's secrets. In production
 * (NODE_ENV=production) it must be given, with at least 32 bytes of entropy; in development a
 * random one is generated once and kept in a local file the processes of one checkout share.
 */

/** Keys that were ever published (a former built-in default): refused everywhere, as any key. */
export const PUBLIC_KEYS: readonly string[] = ["tarmac-development-key-change-me"];

/** 32 random bytes in base64url without padding is 43 characters (`openssl rand -base64 32` gives 44). */
export const MIN_KEY_LENGTH = 43;

/**
 * The repository root: the nearest directory above this module with `package-lock.json`. Found by
 * looking, not by a fixed depth, since this module runs from packages/config/src (tsx) and bundled
 * into apps/<app>/dist (the build).
 */
function repositoryRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package-lock.json"))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(__dirname, "../../..");
  }
}

/** `.tarmac/encryption.key` at the repository root, whatever the process's working directory. */
export const DEFAULT_KEY_FILE = path.join(repositoryRoot(), ".tarmac", "encryption.key");

const key = () =>
  z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const value = raw?.trim();
      if (value === undefined || value === "") return undefined;
      if (PUBLIC_KEYS.includes(value)) {
        ctx.addIssue({ code: "custom", message: `is a publicly known key; generate one with \`openssl rand -base64 32\`` });
        return z.NEVER;
      }
      return value;
    });

/** Spread into an app's env schema (gateway and scheduler: the processes that hold the key). */
export const deploymentKeyEnv = {
  NODE_ENV: z.string().optional(),
  TARMAC_ENCRYPTION_KEY: key(),
  /** Earlier keys, comma-separated: still accepted for reading after a rotation. */
  TARMAC_ENCRYPTION_KEYS_OLD: z
    .string()
    .optional()
    .transform((raw, ctx) => {
      const keys = (raw ?? "")
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
      if (keys.some((k) => PUBLIC_KEYS.includes(k))) {
        ctx.addIssue({ code: "custom", message: "contains a publicly known key, which must never be accepted" });
        return z.NEVER;
      }
      return keys;
    }),
  /** Development only: where the generated key is kept. */
  TARMAC_ENCRYPTION_KEY_FILE: z.string().optional(),
};

export interface DeploymentKeyInput {
  NODE_ENV?: string | undefined;
  TARMAC_ENCRYPTION_KEY?: string | undefined;
  TARMAC_ENCRYPTION_KEYS_OLD: string[];
  TARMAC_ENCRYPTION_KEY_FILE?: string | undefined;
}

export interface DeploymentKeys {
  current: string;
  previous: readonly string[];
  /** Where the key came from, for the boot log. */
  source: "environment" | "generated" | "file";
  /** The development key file, when the key came from one. */
  file?: string;
}

export const isProduction = (env: { NODE_ENV?: string | undefined }): boolean => env.NODE_ENV === "production";

/**
 * The key ring of this process. Throws a ConfigError naming TARMAC_ENCRYPTION_KEY in
 * production when it is unset or too short; in development, without a key, reads (or
 * creates, once) the shared key file. `warn` receives what an operator should know.
 */
export function resolveDeploymentKeys(env: DeploymentKeyInput, warn: (message: string, fields?: Record<string, unknown>) => void): DeploymentKeys {
  const previous = env.TARMAC_ENCRYPTION_KEYS_OLD.filter((k) => k !== env.TARMAC_ENCRYPTION_KEY);
  const given = env.TARMAC_ENCRYPTION_KEY;
  if (given !== undefined) {
    if (given.length < MIN_KEY_LENGTH) {
      const message = `must be at least ${MIN_KEY_LENGTH} characters (32 random bytes, e.g. \`openssl rand -base64 32\`), got ${given.length}`;
      if (isProduction(env)) throw new ConfigError([{ variable: "TARMAC_ENCRYPTION_KEY", message }]);
      warn(`TARMAC_ENCRYPTION_KEY ${message}; production (NODE_ENV=production) refuses it`);
    }
    return { current: given, previous, source: "environment" };
  }
  if (isProduction(env)) {
    throw new ConfigError([
      {
        variable: "TARMAC_ENCRYPTION_KEY",
        message: "is required when NODE_ENV=production: at least 32 random bytes, e.g. `openssl rand -base64 32`, the same for every gateway and scheduler",
      },
    ]);
  }
  const file = path.resolve(env.TARMAC_ENCRYPTION_KEY_FILE ?? DEFAULT_KEY_FILE);
  const { key: current, created } = readOrCreateKeyFile(file);
  warn(
    created
      ? "TARMAC_ENCRYPTION_KEY is not set: generated a development key; set TARMAC_ENCRYPTION_KEY in production"
      : "TARMAC_ENCRYPTION_KEY is not set: using the development key file; set TARMAC_ENCRYPTION_KEY in production",
    { file },
  );
  return { current, previous, source: created ? "generated" : "file", file };
}

function readKey(file: string): string | undefined {
  try {
    const value = readFileSync(file, "utf8").trim();
    return value === "" ? undefined : value;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/**
 * Several processes may start at once (`npm start` runs three): each writes its candidate to a
 * private temporary file and links it into place, which fails if another process got there
 * first (like O_EXCL, but the file is never seen half-written); then everyone reads the winner.
 */
export function readOrCreateKeyFile(file: string): { key: string; created: boolean } {
  const existing = readKey(file);
  if (existing !== undefined) {
    if (existing.length < MIN_KEY_LENGTH || PUBLIC_KEYS.includes(existing)) {
      throw new ConfigError([{ variable: "TARMAC_ENCRYPTION_KEY_FILE", message: `${file} does not hold a usable key; delete it to generate a new one` }]);
    }
    return { key: existing, created: false };
  }
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const candidate = randomBytes(32).toString("base64url");
  const temp = `${file}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`;
  const fd = openSync(temp, "wx", 0o600);
  try {
    writeSync(fd, `${candidate}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  let created = true;
  try {
    linkSync(temp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    created = false;
  } finally {
    unlinkSync(temp);
  }
  const key = readKey(file);
  if (key === undefined) throw new ConfigError([{ variable: "TARMAC_ENCRYPTION_KEY_FILE", message: `${file} is empty` }]);
  return { key, created };
}
