import { createTestDatabase, type TestDatabase } from "@tarmac/testing";
import { createDb, inTransaction, type Db } from "./client";
import { defaultProjectId } from "./repositories/projects";
import { effectiveWorkspaceBindings, listBindings, mergeBindings, replaceFlatTags, workspaceTagWhere } from "./repositories/tags";
import { projectGrantsOnWorkspaces } from "./repositories/team-projects";
import { teamStandingsOnWorkspace } from "./repositories/workspace-access";

/** The storage rules of projects and tags, whichever code path writes the rows. */
describe("projects and tags in storage", () => {
  let database: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ databaseUrl: database.url, poolSize: 2 });
    await db.organization.create({ data: { id: "org-1", name: "acme", email: "a@b.c" } });
    await db.organization.create({ data: { id: "org-2", name: "other", email: "o@b.c" } });
  }, 60_000);

  afterAll(async () => {
    await db?.$disconnect();
    await database?.drop();
  });

  it("gives every organization one default project and puts project-less workspaces in it", async () => {
    const defaults = await db.project.findMany({ where: { isDefault: true }, orderBy: { organizationId: "asc" } });
    expect(defaults.map((p) => [p.organizationId, p.name])).toEqual([
      ["org-1", "Default Project"],
      ["org-2", "Default Project"],
    ]);
    expect(defaults[0]!.id).toMatch(/^prj-[1-9A-HJ-NP-Za-km-z]{16}$/);
    const ws = await db.workspace.create({ data: { id: "ws-d", organizationId: "org-1", name: "d" } });
    expect(ws.projectId).toBe(defaults[0]!.id);
    expect(await defaultProjectId(db, "org-1")).toBe(defaults[0]!.id);
    // Clearing the project puts the workspace back in the default one rather than in none.
    await db.project.create({ data: { id: "prj-other", organizationId: "org-1", name: "other" } });
    await db.workspace.update({ where: { id: "ws-d" }, data: { projectId: "prj-other" } });
    const cleared = await db.workspace.update({ where: { id: "ws-d" }, data: { projectId: null } });
    expect(cleared.projectId).toBe(defaults[0]!.id);
    await expect(db.project.create({ data: { id: "prj-second", organizationId: "org-1", name: "second", isDefault: true } })).rejects.toThrow();
  });

  it("refuses to delete a project that still holds workspaces", async () => {
    await db.project.create({ data: { id: "prj-full", organizationId: "org-1", name: "full" } });
    await db.workspace.create({ data: { id: "ws-f", organizationId: "org-1", name: "f", projectId: "prj-full" } });
    await expect(db.project.delete({ where: { id: "prj-full" } })).rejects.toThrow();
    expect(await db.project.count({ where: { id: "prj-full" } })).toBe(1);
  });

  it("mirrors value-less bindings into tag_names and lets a workspace override its project's keys", async () => {
    await db.project.create({ data: { id: "prj-t", organizationId: "org-1", name: "tagged" } });
    await db.workspace.create({ data: { id: "ws-t", organizationId: "org-1", name: "t", projectId: "prj-t" } });
    await inTransaction(db, async (tx) => {
      await mergeBindings(tx, { projectId: "prj-t" }, [
        { key: "env", value: "prod" },
        { key: "team", value: "core" },
      ]);
      await mergeBindings(tx, { workspaceId: "ws-t" }, [
        { key: "env", value: "dev" },
        { key: "app", value: "" },
      ]);
      await replaceFlatTags(tx, "ws-t", ["app", "web"]);
    });
    expect((await db.workspace.findUniqueOrThrow({ where: { id: "ws-t" } })).tagNames).toEqual(["app", "web"]);
    expect((await listBindings(db, { workspaceId: "ws-t" })).map((b) => [b.key, b.value])).toEqual([
      ["env", "dev"],
      ["app", ""],
      ["web", ""],
    ]);
    const effective = await effectiveWorkspaceBindings(db, "ws-t");
    expect(effective.map((b) => [b.key, b.value, b.inheritedFromProjectId])).toEqual([
      ["env", "dev", null],
      ["app", "", null],
      ["web", "", null],
      ["team", "core", "prj-t"],
    ]);
    const found = async (where: Parameters<typeof workspaceTagWhere>[0]) =>
      (await db.workspace.findMany({ where: { AND: [{ organizationId: "org-1" }, ...workspaceTagWhere(where)] }, select: { id: true } })).map((w) => w.id);
    expect(await found({ tagged: [{ key: "team", value: "core" }] })).toEqual(["ws-t"]);
    expect(await found({ tags: ["APP", "web"] })).toEqual(["ws-t"]);
    expect(await found({ tags: ["app"], excludeTags: ["team"] })).toEqual([]);
  });

  it("lets a team's project grant reach the project's workspaces, the best grant winning", async () => {
    await db.team.create({ data: { id: "team-p", organizationId: "org-1", name: "p" } });
    await db.project.create({ data: { id: "prj-g", organizationId: "org-1", name: "granted" } });
    await db.workspace.create({ data: { id: "ws-g", organizationId: "org-1", name: "g", projectId: "prj-g" } });
    await db.workspace.create({ data: { id: "ws-n", organizationId: "org-1", name: "n" } });
    await db.teamProjectAccess.create({ data: { id: "tprj-1", teamId: "team-p", projectId: "prj-g", access: "write", workspaceLevel: "write" } });
    expect(await projectGrantsOnWorkspaces(db, ["ws-g", "ws-n"], ["team-p"])).toEqual([{ workspaceId: "ws-g", access: "write" }]);
    expect((await teamStandingsOnWorkspace(db, { teamId: "team-p" }, "org-1", "ws-g"))[0]!.access).toBe("write");
    expect((await teamStandingsOnWorkspace(db, { teamId: "team-p" }, "org-1", "ws-n"))[0]!.access).toBeNull();
    await db.teamWorkspaceAccess.create({ data: { id: "tws-p", teamId: "team-p", workspaceId: "ws-g", access: "admin" } });
    expect((await teamStandingsOnWorkspace(db, { teamId: "team-p" }, "org-1", "ws-g"))[0]!.access).toBe("admin");
    await db.teamWorkspaceAccess.update({ where: { id: "tws-p" }, data: { access: "read" } });
    expect((await teamStandingsOnWorkspace(db, { teamId: "team-p" }, "org-1", "ws-g"))[0]!.access).toBe("write");
  });
});
