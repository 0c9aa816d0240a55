import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
import { ConfigError, MIN_KEY_LENGTH, deploymentKeyEnv, parseEnv, resolveDeploymentKeys, type DeploymentKeyInput } from "./index";

const schema = z.object(deploymentKeyEnv);
const STRONG = "Yq3JcWm0lV8n2xT4bE7rK9pA1sD6fG5hZ0uI3oL8wQc"; // 43 characters
const PUBLIC_DEFAULT = "tarmac-development-key-change-me";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), "tarmac-keys-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function resolve(env: Record<string, string>, warnings: string[] = []) {
  const parsed: DeploymentKeyInput = parseEnv(schema, { TARMAC_ENCRYPTION_KEY_FILE: path.join(dir, "encryption.key"), ...env });
  return resolveDeploymentKeys(parsed, (message) => warnings.push(message));
}

function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("deployment keys in production", () => {
  it("refuses to start without TARMAC_ENCRYPTION_KEY, naming it", () => {
    const err = configErrorOf(() => resolve({ NODE_ENV: "production" }));
    expect(err.issues[0]?.variable).toBe("TARMAC_ENCRYPTION_KEY");
    expect(err.message).toMatch(/TARMAC_ENCRYPTION_KEY: is required when NODE_ENV=production/);
  });

  it("refuses a key shorter than 32 random bytes in base64", () => {
    const err = configErrorOf(() => resolve({ NODE_ENV: "production", TARMAC_ENCRYPTION_KEY: STRONG.slice(0, MIN_KEY_LENGTH - 1) }));
    expect(err.message).toMatch(/TARMAC_ENCRYPTION_KEY: must be at least 43 characters/);
  });

  it("accepts a strong key, with old keys for reading, and never writes a key file", async () => {
    const keys = resolve({ NODE_ENV: "production", TARMAC_ENCRYPTION_KEY: STRONG, TARMAC_ENCRYPTION_KEYS_OLD: ` old-one , ${STRONG}, old-two ` });
    expect(keys).toMatchObject({ current: STRONG, previous: ["old-one", "old-two"], source: "environment" });
    await expect(stat(path.join(dir, "encryption.key"))).rejects.toThrow(/ENOENT/);
  });
});

describe("the former public default key", () => {
  it("is refused as the key and among the old keys, in any environment", () => {
    const envs: Array<Record<string, string>> = [{ TARMAC_ENCRYPTION_KEY: PUBLIC_DEFAULT }, { NODE_ENV: "production", TARMAC_ENCRYPTION_KEY: PUBLIC_DEFAULT }];
    for (const env of envs) {
      expect(configErrorOf(() => resolve(env)).message).toMatch(/TARMAC_ENCRYPTION_KEY: is a publicly known key/);
    }
    const err = configErrorOf(() => resolve({ TARMAC_ENCRYPTION_KEY: STRONG, TARMAC_ENCRYPTION_KEYS_OLD: `x,${PUBLIC_DEFAULT}` }));
    expect(err.issues[0]?.variable).toBe("TARMAC_ENCRYPTION_KEYS_OLD");
  });
});

describe("deployment keys in development", () => {
  it("generates a key file once (mode 0600), warns, and reuses it", async () => {
    const warnings: string[] = [];
    const first = resolve({}, warnings);
    expect(first.source).toBe("generated");
    expect(first.current.length).toBeGreaterThanOrEqual(MIN_KEY_LENGTH);
    const file = path.join(dir, "encryption.key");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, "utf8")).trim()).toBe(first.current);
    const second = resolve({ NODE_ENV: "development" }, warnings);
    expect(second).toMatchObject({ current: first.current, source: "file" });
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/TARMAC_ENCRYPTION_KEY is not set: generated a development key/);
  });

  it("warns about a short explicit key but uses it", () => {
    const warnings: string[] = [];
    expect(resolve({ TARMAC_ENCRYPTION_KEY: "short-dev-key" }, warnings).current).toBe("short-dev-key");
    expect(warnings[0]).toMatch(/production \(NODE_ENV=production\) refuses it/);
  });

  it("refuses a key file that holds no usable key", async () => {
    await writeFile(path.join(dir, "encryption.key"), `${PUBLIC_DEFAULT}\n`);
    expect(configErrorOf(() => resolve({})).issues[0]?.variable).toBe("TARMAC_ENCRYPTION_KEY_FILE");
  });

  it("gives processes starting at once the same key", async () => {
    const file = path.join(dir, "nested", "encryption.key");
    const fixture = path.join(__dirname, "__fixtures__", "read-key.ts");
    const runOne = () =>
      new Promise<{ key: string; created: boolean }>((done, fail) => {
        const child = spawn(process.execPath, ["--import", "tsx", fixture, file], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let err = "";
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        child.once("exit", (code) => (code === 0 ? done(JSON.parse(out) as { key: string; created: boolean }) : fail(new Error(err))));
      });
    const results = await Promise.all([runOne(), runOne(), runOne(), runOne()]);
    expect(new Set(results.map((r) => r.key)).size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect((await readFile(file, "utf8")).trim()).toBe(results[0]!.key);
  }, 30_000);
});
