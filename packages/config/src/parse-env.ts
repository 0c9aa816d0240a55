import type { z } from "zod";

export interface ConfigIssue {
  /** The environment variable (or dotted path for nested schemas). */
  variable: string;
  message: string;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";

  constructor(readonly issues: readonly ConfigIssue[]) {
    super(`Invalid configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join("; ")}`);
  }
}

export type Env = Record<string, string | undefined>;

/**
 * Parses the environment once, at start. Empty values count as unset, so
 * `FOO=` (and docker-compose's `${FOO:-}`) falls back to the default instead of failing.
 * Throws a ConfigError naming every bad variable; only apps call this, libraries receive values.
 */
export function parseEnv<T extends z.ZodType>(schema: T, env: Env = process.env): z.output<T> {
  const present: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (value !== undefined && value.trim() !== "") present[key] = value;
  }
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  throw new ConfigError(
    result.error.issues.map((issue) => {
      const variable = issue.path.map(String).join(".") || "(configuration)";
      const first = issue.path[0];
      const isMissing = typeof first === "string" && !(first in present);
      const message = issue.code === "invalid_type" && isMissing ? "is required but not set" : issue.message;
      return { variable, message };
    }),
  );
}
