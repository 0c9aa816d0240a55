// `npm test`: every test. Prepares the checkout (dependencies, Prisma client),
// typechecks every workspace, then runs jest from the root; test files create
// their own databases, queue prefixes and NATS subjects.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { prepare, root } from "./prepare.mjs";

await prepare({ database: false });
const bin = (name) => path.join(root, "node_modules", ".bin", name);
try {
  execFileSync(bin("turbo"), ["run", "typecheck", "--output-logs=errors-only", "--concurrency=2"], { cwd: root, stdio: "inherit" });
  // Cross-workspace tests (tests/) belong to no workspace: typecheck them here.
  execFileSync(bin("tsc"), ["-p", "tests"], { cwd: root, stdio: "inherit" });
  execFileSync(bin("jest"), ["--ci", ...process.argv.slice(2)], { cwd: root, stdio: "inherit" });
} catch (err) {
  process.exit(typeof err.status === "number" ? err.status : 1);
}
