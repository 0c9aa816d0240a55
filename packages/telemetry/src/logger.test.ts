import { createLogger } from "./index";

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (line: string) => void lines.push(line) } };
}

function parsedLines(lines: string[]): Record<string, unknown>[] {
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("createLogger", () => {
  it("writes one JSON object per line with the level as a word", () => {
    const { lines, destination } = capture();
    createLogger({ name: "gateway", destination }).info({ runId: "run-abc" }, "run created");
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith("\n")).toBe(true);
    expect(parsedLines(lines)[0]).toMatchObject({ level: "info", name: "gateway", runId: "run-abc", msg: "run created" });
    expect(typeof parsedLines(lines)[0]?.time).toBe("string");
  });

  it("redacts tokens, passwords and authorization headers", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ name: "gateway", destination });
    logger.info(
      {
        token: "at-top-level",
        job: { token: "tok_nested_secret", runId: "run-1" },
        user: { password: "hunter2" },
        req: { method: "GET", headers: { authorization: "Bearer abc.def", accept: "application/json" } },
        authorization: "Bearer xyz",
      },
      "request",
    );
    const line = lines[0] ?? "";
    for (const secret of ["at-top-level", "tok_nested_secret", "hunter2", "Bearer abc.def", "Bearer xyz"]) {
      expect(line).not.toContain(secret);
    }
    expect(JSON.parse(line)).toMatchObject({
      token: "[Redacted]",
      job: { token: "[Redacted]", runId: "run-1" },
      user: { password: "[Redacted]" },
      req: { method: "GET", headers: { authorization: "[Redacted]", accept: "application/json" } },
      authorization: "[Redacted]",
    });
  });

  it("honours the level", () => {
    const { lines, destination } = capture();
    const logger = createLogger({ name: "worker", level: "warn", destination });
    logger.info("dropped");
    logger.warn("kept");
    expect(parsedLines(lines).map((l) => l.msg)).toEqual(["kept"]);
  });

  it("adds no trace fields outside a span", () => {
    const { lines, destination } = capture();
    createLogger({ name: "worker", destination }).info("idle");
    expect(parsedLines(lines)[0]).not.toHaveProperty("trace_id");
  });
});
