import { createTestDatabase, type TestDatabase } from "@tarmac/testing";
import { createDb, type Db } from "./client";
import { listWorkspaceRuns } from "./repositories/run-lists";

/**
 * The workspace run list's total is a counter kept by triggers on runs
 * (migration 20261201_0500_workspace_run_counts): it must always equal the count it replaces.
 */
describe("the workspace run list total", () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, poolSize: 2 });
    await db.organization.create({ data: { id: "org-1", name: "acme", email: "a@b.c" } });
    for (const ws of ["ws-a", "ws-b"]) {
      await db.workspace.create({ data: { id: ws, organizationId: "org-1", name: ws } });
      await db.configurationVersion.create({ data: { id: `cv-${ws}`, workspaceId: ws, status: "uploaded" } });
    }
  });
  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  const run = (id: string, workspaceId: string, planOnly = false) => ({
    id,
    organizationId: "org-1",
    workspaceId,
    configurationVersionId: `cv-${workspaceId}`,
    operation: planOnly ? "plan_only" : "plan_and_apply",
    planOnly,
    terraformVersion: "1.9.8",
  });
  const totalOf = async (workspaceId: string) =>
    (await listWorkspaceRuns(db, workspaceId, { excludePlanOnly: true }, { offset: 0, size: 1 })).total;
  const counted = (workspaceId: string) => db.run.count({ where: { workspaceId, planOnly: false } });

  it("is 0 for a workspace without runs", async () => {
    expect(await totalOf("ws-a")).toBe(0);
  });

  it("follows single and bulk inserts, leaving plan-only runs out", async () => {
    await db.run.create({ data: run("run-1", "ws-a") });
    await db.run.create({ data: run("run-2", "ws-a", true) });
    await db.run.createMany({ data: [run("run-3", "ws-a"), run("run-4", "ws-b"), run("run-5", "ws-b"), run("run-6", "ws-b", true)] });
    expect(await totalOf("ws-a")).toBe(2);
    expect(await totalOf("ws-b")).toBe(2);
    expect(await totalOf("ws-a")).toBe(await counted("ws-a"));
  });

  it("follows deletes", async () => {
    await db.run.deleteMany({ where: { id: { in: ["run-1", "run-2", "run-4"] } } });
    expect(await totalOf("ws-a")).toBe(1);
    expect(await totalOf("ws-b")).toBe(1);
  });

  it("does not count a rolled-back insert", async () => {
    await expect(
      db.$transaction(async (tx) => {
        await tx.run.create({ data: run("run-7", "ws-b") });
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    expect(await totalOf("ws-b")).toBe(1);
  });

  it("goes with its workspace", async () => {
    await db.workspace.delete({ where: { id: "ws-b" } });
    const [row] = await db.$queryRaw<{ n: bigint }[]>`SELECT count(*) AS n FROM workspace_run_counts WHERE workspace_id = 'ws-b'`;
    expect(Number(row?.n)).toBe(0);
  });
});
