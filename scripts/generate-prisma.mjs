// `npm run db:generate` (and turbo's `//#db:generate`, and every `npm start`): writes the Prisma
// client into packages/db/src/generated, only when its inputs changed since the last generation:
// the schema and the versions of prisma and @prisma/client. `prisma generate` empties and rewrites
// that directory, so regenerating an unchanged client under a running process (a test suite
// importing it while `npm start` prepares the same checkout) would make its imports fail.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const generated = path.join(root, "packages", "db", "src", "generated");
const stamp = path.join(generated, "inputs.sha256");

/** Digest of what the generated client is made from. */
function inputsDigest() {
  const hash = createHash("sha256");
  hash.update(readFileSync(path.join(root, "prisma", "schema.prisma")));
  for (const pkg of ["prisma", "@prisma/client"]) {
    const manifest = path.join(root, "node_modules", pkg, "package.json");
    hash.update(`\n${pkg}@${existsSync(manifest) ? JSON.parse(readFileSync(manifest, "utf8")).version : "absent"}`);
  }
  return hash.digest("hex");
}

/** True when it generated; false when the client on disk was made from the same inputs. */
export function generatePrismaClient({ force = false } = {}) {
  const digest = inputsDigest();
  const current = existsSync(stamp) ? readFileSync(stamp, "utf8").trim() : "";
  if (!force && current === digest && existsSync(path.join(generated, "prisma", "client.ts"))) {
    console.log("Prisma client in packages/db/src/generated is up to date (--force regenerates it)");
    return false;
  }
  rmSync(stamp, { force: true });
  execFileSync(path.join(root, "node_modules", ".bin", "prisma"), ["generate"], { cwd: root, stdio: "inherit" });
  writeFileSync(stamp, `${digest}\n`);
  return true;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  generatePrismaClient({ force: process.argv.includes("--force") });
}
