// `npm test`: every test. Prepares the checkout (dependencies, Prisma client),
// typechecks every workspace, then runs jest from the root; test files create
// their own databases, queue prefixes and NATS subjects.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { prepare, root } from "./prepare.mjs";

await prepare({ database: false });
const results = path.join(tmpdir(), `tarmac-jest-${process.pid}.json`);

/** One plain closing line, whatever reporter the runner used. */
function summarize() {
  if (!existsSync(results)) return;
  const { numPassedTests, numFailedTests, numPendingTests } = JSON.parse(readFileSync(results, "utf8"));
  rmSync(results, { force: true });
  console.log(`tests: ${numPassedTests} passed, ${numFailedTests} failed${numPendingTests ? `, ${numPendingTests} skipped` : ""}`);
}
const bin = (name) => path.join(root, "node_modules", ".bin", name);
try {
  execFileSync(bin("turbo"), ["run", "typecheck", "--output-logs=errors-only", "--concurrency=2"], { cwd: root, stdio: "inherit" });
  // Cross-workspace tests (tests/) belong to no workspace: typecheck them here.
  execFileSync(bin("tsc"), ["-p", "tests"], { cwd: root, stdio: "inherit" });
  execFileSync(bin("jest"), ["--ci", "--json", `--outputFile=${results}`, ...process.argv.slice(2)], { cwd: root, stdio: "inherit" });
  summarize();
} catch (err) {
  summarize();
  process.exit(typeof err.status === "number" ? err.status : 1);
}
