import { execFileSync } from "node:child_process";
import path from "node:path";
import { REPO_ROOT } from "@tarmac/testing";

/** The app's module graph as its build bundles it (scripts/build-app.mjs: the production build). */
function moduleGraph(app: string): { bundled: string[]; external: string[] } {
  const out = execFileSync(process.execPath, [path.join(REPO_ROOT, "scripts", "build-app.mjs"), app, "--graph"], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    timeout: 60_000,
  });
  return JSON.parse(out) as { bundled: string[]; external: string[] };
}

/** Packages that hold or reach the database: a worker has no database credentials and loads none. */
const databasePackage = /^(@prisma\/|pg$|pg\/|pg-|@tarmac\/db)/;

describe("the worker's module graph", () => {
  it("loads neither Prisma nor pg, nor any module of @tarmac/db", () => {
    const graph = moduleGraph("worker");
    expect(graph.bundled).toContain("apps/worker/src/main.ts");
    expect(graph.external.filter((p) => databasePackage.test(p))).toEqual([]);
    expect(graph.bundled.filter((file) => file.startsWith("packages/db/"))).toEqual([]);
  });

  it("is read the same way as the gateway's, which does load them", () => {
    const graph = moduleGraph("gateway");
    expect(graph.external).toEqual(expect.arrayContaining(["@prisma/adapter-pg", "pg"]));
    expect(graph.bundled.some((file) => file.startsWith("packages/db/"))).toBe(true);
  });
});
