import { createTestDatabase, type TestDatabase } from "@tarmac/testing";
import { createDb, type Db } from "./client";
import { findTokenOwner } from "./repositories/auth";
import { loadRunExtras } from "./repositories/runs-read";
import { canUserApply } from "./repositories/scheduler";
import { teamStandingsOnWorkspace } from "./repositories/workspace-access";
import { hashSecret } from "./secrets";

/** The single-statement lookups every API request makes: token, access, run relations. */
describe("request lookups", () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, poolSize: 4 });
    await db.organization.create({ data: { id: "org-1", name: "acme", email: "a@b.c" } });
    await db.organization.create({ data: { id: "org-2", name: "other", email: "o@b.c" } });
    await db.user.create({ data: { id: "user-1", username: "ann", email: "ann@b.c" } });
    await db.team.create({ data: { id: "team-own", organizationId: "org-1", name: "owners", isOwners: true } });
    await db.team.create({ data: { id: "team-dev", organizationId: "org-1", name: "devs" } });
    await db.team.create({ data: { id: "team-ops", organizationId: "org-1", name: "ops", manageWorkspaces: true } });
    await db.teamMembership.create({ data: { teamId: "team-dev", userId: "user-1" } });
    await db.workspace.create({ data: { id: "ws-1", organizationId: "org-1", name: "w1" } });
    await db.workspace.create({ data: { id: "ws-2", organizationId: "org-1", name: "w2" } });
    await db.teamWorkspaceAccess.create({ data: { id: "tws-1", teamId: "team-dev", workspaceId: "ws-1", access: "plan" } });
    type TokenSubject = { kind: "user" | "team" | "organization"; userId?: string; teamId?: string; organizationId?: string; expiredAt?: Date };
    const token = (id: string, data: TokenSubject) => db.apiToken.create({ data: { ...data, id, tokenHash: hashSecret(id) } });
    await token("tok-user", { kind: "user", userId: "user-1" });
    await token("tok-team", { kind: "team", teamId: "team-dev" });
    await token("tok-org", { kind: "organization", organizationId: "org-1" });
    await token("tok-expired", { kind: "user", userId: "user-1", expiredAt: new Date(Date.now() - 1000) });
    await token("tok-orphan", { kind: "team" });
  });
  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  it("resolves each kind of token with its owner, and refuses expired, orphaned and unknown ones", async () => {
    expect(await findTokenOwner(db, "tok-user")).toEqual({
      kind: "user",
      tokenId: "tok-user",
      user: { id: "user-1", username: "ann", email: "ann@b.c", isSiteAdmin: false },
    });
    expect(await findTokenOwner(db, "tok-team")).toEqual({
      kind: "team",
      tokenId: "tok-team",
      team: { id: "team-dev", name: "devs", organizationId: "org-1", isOwners: false },
    });
    expect(await findTokenOwner(db, "tok-org")).toEqual({ kind: "organization", tokenId: "tok-org", organizationId: "org-1", organizationName: "acme" });
    expect(await findTokenOwner(db, "tok-expired")).toBeNull();
    expect(await findTokenOwner(db, "tok-orphan")).toBeNull();
    expect(await findTokenOwner(db, "nope")).toBeNull();
  });

  it("reads a principal's teams with their grant on one workspace", async () => {
    expect(await teamStandingsOnWorkspace(db, { userId: "user-1" }, "org-1", "ws-1")).toEqual([
      { teamId: "team-dev", isOwners: false, manageWorkspaces: false, access: "plan" },
    ]);
    expect(await teamStandingsOnWorkspace(db, { userId: "user-1" }, "org-1", "ws-2")).toEqual([
      { teamId: "team-dev", isOwners: false, manageWorkspaces: false, access: null },
    ]);
    expect(await teamStandingsOnWorkspace(db, { userId: "user-1" }, "org-2", "ws-1")).toEqual([]);
    expect(await teamStandingsOnWorkspace(db, { teamId: "team-ops" }, "org-1", "ws-2")).toEqual([
      { teamId: "team-ops", isOwners: false, manageWorkspaces: true, access: null },
    ]);
    expect(await teamStandingsOnWorkspace(db, { teamId: "team-ops" }, "org-2", "ws-2")).toEqual([]);
  });

  // Auto-apply (the scheduler) and the API's `can-apply` (the gateway) must agree: a member of a
  // team with the manage-workspaces organization permission administers every workspace.
  it("lets the scheduler auto-apply for exactly the users the API reports can apply", async () => {
    await db.user.create({ data: { id: "user-ops", username: "otto", email: "otto@b.c" } });
    await db.teamMembership.create({ data: { teamId: "team-ops", userId: "user-ops" } });
    await db.user.create({ data: { id: "user-writer", username: "wes", email: "wes@b.c" } });
    await db.team.create({ data: { id: "team-writers", organizationId: "org-1", name: "writers" } });
    await db.teamMembership.create({ data: { teamId: "team-writers", userId: "user-writer" } });
    await db.teamWorkspaceAccess.create({ data: { id: "tws-w", teamId: "team-writers", workspaceId: "ws-2", access: "write" } });

    expect(await canUserApply(db, "user-ops", "ws-1", "org-1")).toBe(true);
    expect(await canUserApply(db, "user-ops", "ws-2", "org-1")).toBe(true);
    expect(await canUserApply(db, "user-writer", "ws-2", "org-1")).toBe(true);
    expect(await canUserApply(db, "user-writer", "ws-1", "org-1")).toBe(false);
    // A plan grant is not enough to apply.
    expect(await canUserApply(db, "user-1", "ws-1", "org-1")).toBe(false);
    expect(await canUserApply(db, "nobody", "ws-1", "org-1")).toBe(false);
  });

  it("loads a page's cost estimates, events and comments in creation order", async () => {
    await db.configurationVersion.create({ data: { id: "cv-1", workspaceId: "ws-1", status: "uploaded" } });
    const run = (id: string) =>
      db.run.create({
        data: { id, organizationId: "org-1", workspaceId: "ws-1", configurationVersionId: "cv-1", operation: "plan_and_apply", terraformVersion: "1.9.8", status: "applied" },
      });
    const a = await run("run-a");
    const b = await run("run-b");
    await db.costEstimate.create({ data: { id: "ce-a", runId: "run-a" } });
    await db.comment.create({ data: { id: "wsc-2", runId: "run-a", body: "second", createdAt: new Date("2026-01-02") } });
    await db.comment.create({ data: { id: "wsc-1", runId: "run-a", body: "first", createdAt: new Date("2026-01-01") } });
    const extras = await loadRunExtras(db, [a, b]);
    expect(extras.get("run-a")).toEqual({ costEstimateId: "ce-a", eventIds: [], commentIds: ["wsc-1", "wsc-2"], positionInQueue: 0 });
    expect(extras.get("run-b")).toEqual({ costEstimateId: null, eventIds: [], commentIds: [], positionInQueue: 0 });
  });
});
