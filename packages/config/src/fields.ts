import { z } from "zod";

/**
 * Field builders for environment variables. Every builder takes the raw string (or nothing),
 * applies its default when the variable is unset, and on bad input reports what it expected
 * and what it got, so `parseEnv` can name the variable and the reason in one line.
 * A builder called without a default makes its variable required.
 */

export type EnvField<T> = z.ZodType<T, string | undefined>;

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** Quotes a raw value for an error message, hiding any password embedded in a URL. */
export function describeValue(raw: string): string {
  return JSON.stringify(raw.replace(/(\/\/[^/:@\s]*:)[^@/\s]*@/, "$1***@"));
}

function envField<T>(
  expected: string,
  parse: (raw: string) => T | undefined,
  defaultValue: T | undefined,
): EnvField<T> {
  return z
    .string()
    .optional()
    .transform((raw, ctx): T => {
      if (raw === undefined) {
        if (defaultValue !== undefined) return defaultValue;
        ctx.addIssue({ code: "custom", message: "is required but not set" });
        return z.NEVER;
      }
      const value = parse(raw.trim());
      if (value === undefined) {
        ctx.addIssue({ code: "custom", message: `expected ${expected}, got ${describeValue(raw)}` });
        return z.NEVER;
      }
      return value;
    });
}

function parseInteger(raw: string, min: number, max: number): number | undefined {
  if (!/^[+]?\d+$/.test(raw)) return undefined;
  const value = Number(raw);
  return Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined;
}

export interface PortOptions {
  /** Accept 0, which asks the operating system for a free port (tests, sidecar health servers). */
  allowZero?: boolean;
}

export function port(defaultValue?: number, options: PortOptions = {}): EnvField<number> {
  const min = options.allowZero ? 0 : 1;
  return envField(
    `an integer between ${min} and 65535`,
    (raw) => parseInteger(raw, min, 65535),
    defaultValue,
  );
}

export interface UrlOptions {
  /** Accepted schemes with their trailing colon, e.g. `["redis:", "rediss:"]`. Any scheme when omitted. */
  protocols?: readonly string[];
}

/** A URL, returned exactly as given (drivers parse their own connection strings). */
export function url(defaultValue?: string, options: UrlOptions = {}): EnvField<string> {
  const { protocols } = options;
  const expected =
    protocols && protocols.length > 0
      ? `a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}`
      : "an absolute URL";
  return envField(
    expected,
    (raw) => {
      // `localhost:5432` parses as a URL with scheme "localhost:"; insist on `scheme://`.
      if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) || !URL.canParse(raw)) return undefined;
      const parsed = new URL(raw);
      if (protocols && protocols.length > 0 && !protocols.includes(parsed.protocol)) return undefined;
      return raw;
    },
    defaultValue,
  );
}

export function positiveInt(defaultValue?: number): EnvField<number> {
  return envField(
    "a positive integer",
    (raw) => parseInteger(raw, 1, Number.MAX_SAFE_INTEGER),
    defaultValue,
  );
}

/** A scheduling priority for child processes, as nice(1) takes it: 0 (unchanged) to 19 (lowest). */
export function niceness(defaultValue?: number): EnvField<number> {
  return envField(
    "a niceness from 0 to 19",
    (raw) => parseInteger(raw, 0, 19),
    defaultValue,
  );
}

/** A duration as a whole number of milliseconds (0 allowed: "no wait"). */
export function durationMs(defaultValue?: number): EnvField<number> {
  return envField(
    "a duration in milliseconds (a non-negative integer)",
    (raw) => parseInteger(raw, 0, Number.MAX_SAFE_INTEGER),
    defaultValue,
  );
}

export function bool(defaultValue?: boolean): EnvField<boolean> {
  return envField(
    "true, false, 1 or 0",
    (raw) => {
      switch (raw.toLowerCase()) {
        case "true":
        case "1":
          return true;
        case "false":
        case "0":
          return false;
        default:
          return undefined;
      }
    },
    defaultValue,
  );
}

export function logLevel(defaultValue: LogLevel = "info"): EnvField<LogLevel> {
  return envField(
    `one of ${LOG_LEVELS.join(", ")}`,
    (raw) => LOG_LEVELS.find((level) => level === raw.toLowerCase()),
    defaultValue,
  );
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A comma-separated list of environment variable names (blank entries dropped), e.g. what terraform may inherit. */
export function envNameList() {
  return z
    .string()
    .default("")
    .transform((v, ctx) => {
      const names = v
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s !== "");
      for (const name of names) {
        if (!ENV_NAME.test(name)) {
          ctx.addIssue({ code: "custom", message: `"${name}" is not an environment variable name` });
          return z.NEVER;
        }
      }
      return names;
    });
}
