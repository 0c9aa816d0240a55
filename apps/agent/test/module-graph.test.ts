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

/**
 * Clients of what an agent must never reach: the database (Prisma, pg), Redis (ioredis, BullMQ)
 * and NATS. An agent runs in someone else's network and talks to Tarmac over HTTPS only.
 */
const forbidden = /^(@prisma\/|pg$|pg\/|pg-|ioredis$|ioredis\/|bullmq$|bullmq\/|nats$|nats\/|@nats-io\/)/;
const forbiddenSources = ["packages/db/", "packages/queues/", "packages/events/"];

describe("the agent's module graph", () => {
  it("loads no database, Redis or NATS client, nor any module of @tarmac/db, @tarmac/queues or @tarmac/events", () => {
    const graph = moduleGraph("agent");
    expect(graph.bundled).toContain("apps/agent/src/main.ts");
    // It does run terraform through the shared runner.
    expect(graph.bundled).toContain("packages/runner/src/phase-service.ts");
    expect(graph.external.filter((p) => forbidden.test(p))).toEqual([]);
    expect(graph.bundled.filter((file) => forbiddenSources.some((dir) => file.startsWith(dir)))).toEqual([]);
  });

  it("is read the same way as the worker's, which does load Redis and NATS clients", () => {
    const graph = moduleGraph("worker");
    expect(graph.external.filter((p) => forbidden.test(p))).toEqual(expect.arrayContaining(["ioredis", "bullmq"]));
    expect(graph.bundled.some((file) => file.startsWith("packages/events/"))).toBe(true);
  });
});
