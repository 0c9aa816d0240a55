import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * The scheduler is the only writer of run status: the gateway records users' actions and the
 * scheduler carries them out. This keeps the gateway's source away from every status writer of
 * @tarmac/db, so a route cannot start changing statuses again unnoticed.
 */
const STATUS_WRITERS = ["transitionRun", "requestCancel", "settlePhasesOfEndedRun", "decideActionRequest"];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith(".ts") ? [full] : [];
  });
}

describe("who writes run status", () => {
  const files = sourceFiles(path.join(__dirname, "..", "src"));

  it("finds the gateway's route files (the scan reads the right folder)", () => {
    expect(files.some((f) => f.endsWith(path.join("routes", "run-actions.ts")))).toBe(true);
  });

  it("never names a status writer anywhere in the gateway", () => {
    const uses = files.flatMap((file) => {
      const text = readFileSync(file, "utf8");
      return STATUS_WRITERS.filter((name) => new RegExp(`\\b${name}\\b`).test(text)).map((name) => `${path.relative(process.cwd(), file)}: ${name}`);
    });
    expect(uses).toEqual([]);
  });

  it("never updates the runs table's status in SQL of its own", () => {
    const raw = files.filter((file) => /UPDATE\s+runs\b/i.test(readFileSync(file, "utf8")));
    expect(raw).toEqual([]);
  });
});
