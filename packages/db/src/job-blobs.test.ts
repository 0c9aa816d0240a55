import { createTestDatabase, type TestDatabase } from "@tarmac/testing";
import { Client } from "pg";
import { createDb, type Db } from "./client";
import { seedWorkspace } from "./test-seed";
import { storePlanFile, storePhaseLog } from "./repositories/jobs";

/** A worker's uploads of what a phase produced: stored once, in one statement each. */
describe("phase blobs stored once", () => {
  let database: TestDatabase;
  let db: Db;
  let n = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, poolSize: 4 });
    await seedWorkspace(db);
  });
  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  const newRun = async (status: "planning" | "applying" | "planned" = "planning"): Promise<string> => {
    const id = `run-${++n}`;
    await db.run.create({
      data: { id, organizationId: "org-1", workspaceId: "ws-1", configurationVersionId: "cv-1", operation: "plan_and_apply", terraformVersion: "1.9.8", status },
    });
    await db.plan.create({ data: { id: `plan-${id}`, runId: id, status: status === "planning" ? "running" : "finished" } });
    await db.apply.create({ data: { id: `apply-${id}`, runId: id, status: status === "applying" ? "running" : "pending" } });
    return id;
  };
  const blobsOf = async (runId: string) => {
    const plan = await db.plan.findUniqueOrThrow({ where: { runId }, select: { planFileBlobId: true } });
    return plan.planFileBlobId ? db.blob.findUniqueOrThrow({ where: { id: plan.planFileBlobId } }) : null;
  };

  it("stores the bytes and points the phase at them; the same bytes again are unchanged, others a conflict", async () => {
    const runId = await newRun();
    const before = await db.blob.count();
    expect(await storePlanFile(db, runId, Buffer.from("plan-bytes"))).toBe("stored");
    const blob = await blobsOf(runId);
    expect(blob).toMatchObject({ contentType: "application/octet-stream", size: 10 });
    expect(Buffer.from(blob!.data).toString()).toBe("plan-bytes");

    expect(await storePlanFile(db, runId, Buffer.from("plan-bytes"))).toBe("unchanged");
    expect(await storePlanFile(db, runId, Buffer.from("other"))).toBe("conflict");
    expect((await blobsOf(runId))?.id).toBe(blob!.id);
    // Neither the retry nor the refused upload left a blob behind.
    expect(await db.blob.count()).toBe(before + 1);
  });

  it("is not_found for a run without the phase, and writes no blob", async () => {
    const before = await db.blob.count();
    expect(await storePlanFile(db, "run-missing", Buffer.from("x"))).toBe("not_found");
    expect(await db.blob.count()).toBe(before);
  });

  it("stores an apply's log on the apply, not the plan", async () => {
    const runId = await newRun("applying");
    expect(await storePhaseLog(db, runId, "apply", Buffer.from("log"))).toBe("stored");
    expect((await db.apply.findUniqueOrThrow({ where: { runId } })).logBlobId).not.toBeNull();
    expect((await db.plan.findUniqueOrThrow({ where: { runId } })).logBlobId).toBeNull();
  });

  it("writes nothing once the phase has ended, and says the run's status", async () => {
    const runId = await newRun("planned");
    const before = await db.blob.count();
    expect(await storePlanFile(db, runId, Buffer.from("late"))).toEqual({ ended: "planned" });
    expect(await storePhaseLog(db, runId, "plan", Buffer.from("late"))).toEqual({ ended: "planned" });
    // The apply has not started: its URL is not alive yet either.
    expect(await storePhaseLog(db, runId, "apply", Buffer.from("early"))).toEqual({ ended: "planned" });
    expect(await db.blob.count()).toBe(before);
    expect(await blobsOf(runId)).toBeNull();
  });

  it("still takes a phase's artifacts after its run ended under a running terraform (until the phase reports its end)", async () => {
    const runId = await newRun();
    await db.run.update({ where: { id: runId }, data: { status: "discarded" } });
    expect(await storePhaseLog(db, runId, "plan", Buffer.from("interrupted"))).toBe("stored");
  });

  it.each([
    ["the same bytes", "same", ["stored", "unchanged"]],
    ["other bytes", "different", ["conflict", "stored"]],
  ])("of two concurrent first uploads of %s, one stores and the other finds it", async (_what, kind, outcomes) => {
    const runId = await newRun();
    const before = await db.blob.count();
    const holder = new Client({ connectionString: database.url });
    await holder.connect();
    try {
      // Both uploads start while the phase's row is locked, so they meet at the lock.
      await holder.query("BEGIN");
      await holder.query("SELECT 1 FROM plans WHERE run_id = $1 FOR UPDATE", [runId]);
      const uploads = [storePlanFile(db, runId, Buffer.from("bytes-1")), storePlanFile(db, runId, Buffer.from(kind === "same" ? "bytes-1" : "bytes-2"))];
      await new Promise((resolve) => setTimeout(resolve, 200));
      await holder.query("COMMIT");
      expect([...(await Promise.all(uploads))].sort()).toEqual(outcomes);
    } finally {
      await holder.end();
    }
    expect(await db.blob.count()).toBe(before + 1);
  });
});
