import { z } from "zod";
import { ConfigError, bool, durationMs, logLevel, parseEnv, port, positiveInt, url } from "./index";

function parseOne<T>(field: z.ZodType<T, string | undefined>, value: string | undefined): T {
  return parseEnv(z.object({ VALUE: field }), { VALUE: value }).VALUE;
}

function rejects(field: z.ZodType<unknown, string | undefined>, value: string): string {
  try {
    parseOne(field, value);
  } catch (error) {
    if (error instanceof ConfigError) return error.issues[0]?.message ?? "";
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(value)} to be rejected`);
}

describe("port", () => {
  it("accepts 1..65535 and rejects everything else", () => {
    expect(parseOne(port(), "1")).toBe(1);
    expect(parseOne(port(), "65535")).toBe(65535);
    for (const bad of ["0", "65536", "-1", "80.5", "8o", "0x50", "1e3"]) {
      expect(rejects(port(), bad)).toBe(`expected an integer between 1 and 65535, got ${JSON.stringify(bad)}`);
    }
  });

  it("accepts 0 only when asked to, for a port chosen by the system", () => {
    expect(parseOne(port(8080, { allowZero: true }), "0")).toBe(0);
    expect(rejects(port(8080, { allowZero: true }), "x")).toBe('expected an integer between 0 and 65535, got "x"');
  });

  it("falls back to its default", () => {
    expect(parseOne(port(3000), undefined)).toBe(3000);
  });
});

describe("url", () => {
  it("returns the URL exactly as given", () => {
    const given = "postgresql://u@h:5432/db?schema=tarmac_1";
    expect(parseOne(url(), given)).toBe(given);
    // libpq's socket form has no host part.
    expect(parseOne(url(), "postgresql:///tarmac?host=/var/run/postgresql")).toBe(
      "postgresql:///tarmac?host=/var/run/postgresql",
    );
  });

  it("restricts schemes when asked", () => {
    const redis = url(undefined, { protocols: ["redis:", "rediss:"] });
    expect(parseOne(redis, "rediss://r:6379")).toBe("rediss://r:6379");
    expect(rejects(redis, "nats://n:4222")).toBe('expected a URL starting with redis:// or rediss://, got "nats://n:4222"');
  });

  it("rejects what is not an absolute URL", () => {
    expect(rejects(url(), "localhost:5432")).toBe('expected an absolute URL, got "localhost:5432"');
    expect(rejects(url(), "/just/a/path")).toBe('expected an absolute URL, got "/just/a/path"');
  });
});

describe("positiveInt and durationMs", () => {
  it("positiveInt refuses zero, durationMs accepts it", () => {
    expect(rejects(positiveInt(), "0")).toBe('expected a positive integer, got "0"');
    expect(parseOne(positiveInt(), "12")).toBe(12);
    expect(parseOne(durationMs(), "0")).toBe(0);
    expect(parseOne(durationMs(), "30000")).toBe(30000);
  });

  it("durationMs refuses units and fractions: the unit is always milliseconds", () => {
    for (const bad of ["10s", "1.5", "-1", "ten"]) {
      expect(rejects(durationMs(), bad)).toBe(
        `expected a duration in milliseconds (a non-negative integer), got ${JSON.stringify(bad)}`,
      );
    }
  });

  it("rejects integers beyond what a number holds exactly", () => {
    expect(rejects(positiveInt(), "9007199254740993")).toMatch(/^expected a positive integer/);
  });
});

describe("bool", () => {
  it("accepts true/false/1/0 in any case", () => {
    expect(parseOne(bool(), "true")).toBe(true);
    expect(parseOne(bool(), "TRUE")).toBe(true);
    expect(parseOne(bool(), "1")).toBe(true);
    expect(parseOne(bool(), "false")).toBe(false);
    expect(parseOne(bool(), "0")).toBe(false);
    expect(parseOne(bool(true), undefined)).toBe(true);
    expect(parseOne(bool(false), undefined)).toBe(false);
  });

  it("rejects anything ambiguous", () => {
    expect(rejects(bool(), "yes")).toBe('expected true, false, 1 or 0, got "yes"');
  });
});

describe("logLevel", () => {
  it("defaults to info and accepts pino's levels", () => {
    expect(parseOne(logLevel(), undefined)).toBe("info");
    expect(parseOne(logLevel("warn"), undefined)).toBe("warn");
    expect(parseOne(logLevel(), "trace")).toBe("trace");
    expect(parseOne(logLevel(), "silent")).toBe("silent");
    expect(rejects(logLevel(), "verbose")).toBe(
      'expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"',
    );
  });
});
