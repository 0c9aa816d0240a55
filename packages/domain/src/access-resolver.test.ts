import {
  accessFromTeamStandings,
  canOverrideTaskStages,
  ORGANIZATION_PERMISSION_KEYS,
  organizationPermissions,
  organizationRoleOf,
  permits,
  resolveAccess,
  runPermissions,
  WORKSPACE_PERMISSION_KEYS,
  workspacePermissions,
  type Standing,
  type TeamOrganizationAccess,
  type WorkspaceAccess,
} from "./access";

const team = (flags: { isOwners?: boolean; manageWorkspaces?: boolean; manageRunTasks?: boolean; managePolicyOverrides?: boolean } = {}) => ({
  isOwners: flags.isOwners ?? false,
  manageWorkspaces: flags.manageWorkspaces ?? false,
  manageRunTasks: flags.manageRunTasks ?? false,
  managePolicyOverrides: flags.managePolicyOverrides ?? false,
});
const member = (teams: readonly TeamOrganizationAccess[], grants: WorkspaceAccess[] = [], tokenKind: "user" | "team" = "user"): Standing => ({
  kind: "member",
  tokenKind,
  teams,
  grants,
});

describe("the access resolver", () => {
  it("gives no access and no role to a principal without standing", () => {
    const resolved = resolveAccess(null);
    expect(resolved.access).toBeNull();
    expect(Object.values(resolved.workspace).some(Boolean)).toBe(false);
    expect(Object.values(resolved.run).some(Boolean)).toBe(false);
    expect(organizationRoleOf(null)).toBeNull();
    expect(organizationRoleOf(member([]))).toBeNull();
    expect(resolveAccess(member([], ["admin"])).access).toBeNull();
  });

  it("makes site admins, the organization's token and the owners team owners with admin on every workspace", () => {
    for (const standing of [{ kind: "site-admin" }, { kind: "organization-token" }, member([team({ isOwners: true })])] as Standing[]) {
      expect(organizationRoleOf(standing)).toEqual({ role: "owner", managesWorkspaces: true, managesRunTasks: true, managesPolicyOverrides: true });
      expect(resolveAccess(standing).access).toBe("admin");
    }
  });

  it("gives manage-workspaces teams admin on every workspace without making them owners", () => {
    const standing = member([team(), team({ manageWorkspaces: true })], ["read"]);
    expect(organizationRoleOf(standing)).toMatchObject({ role: "member", managesWorkspaces: true, managesRunTasks: false });
    expect(resolveAccess(standing).access).toBe("admin");
    expect(resolveAccess(standing).run["can-force-cancel"]).toBe(true);
  });

  it("gives other members the best grant of their teams, and none without a grant", () => {
    expect(resolveAccess(member([team(), team()], ["read", "write", "plan"])).access).toBe("write");
    expect(resolveAccess(member([team()], [])).access).toBeNull();
    expect(organizationRoleOf(member([team()]))).toEqual({ role: "member", managesWorkspaces: false, managesRunTasks: false, managesPolicyOverrides: false });
  });

  it("agrees with the team-standing rule the scheduler uses for auto-apply", () => {
    const cases: { isOwners: boolean; manageWorkspaces: boolean; access: WorkspaceAccess | null }[][] = [
      [],
      [{ isOwners: false, manageWorkspaces: false, access: null }],
      [{ isOwners: false, manageWorkspaces: false, access: "plan" }],
      [{ isOwners: false, manageWorkspaces: true, access: null }],
      [{ isOwners: true, manageWorkspaces: false, access: "read" }],
      [
        { isOwners: false, manageWorkspaces: false, access: "read" },
        { isOwners: false, manageWorkspaces: false, access: "write" },
      ],
    ];
    const resolved = cases.map((teams) => resolveAccess(member(teams, teams.flatMap((t) => (t.access ? [t.access] : [])))).access);
    expect(cases.map(accessFromTeamStandings)).toEqual(resolved);
    expect(resolved).toEqual([null, null, "plan", "admin", "admin", "write"]);
  });

  it("reports exactly the permissions it enforces", () => {
    const standings: (Standing | null)[] = [
      null,
      { kind: "site-admin" },
      { kind: "organization-token" },
      member([team()], ["read"]),
      member([team()], ["plan"], "team"),
      member([team()], ["write"]),
      member([team({ manageWorkspaces: true })], [], "team"),
    ];
    for (const standing of standings) {
      const resolved = resolveAccess(standing);
      expect(resolved.workspace).toEqual(workspacePermissions(resolved.access, resolved.tokenKind));
      expect(resolved.run).toEqual(runPermissions(resolved.access, resolved.tokenKind));
      for (const key of WORKSPACE_PERMISSION_KEYS) expect(permits(resolved.access, resolved.tokenKind, key)).toBe(resolved.workspace[key]);
      for (const key of Object.keys(resolved.run) as (keyof typeof resolved.run)[]) {
        expect(permits(resolved.access, resolved.tokenKind, key)).toBe(resolved.run[key]);
      }
    }
  });

  it("never lets the organization's token start or act on runs", () => {
    const resolved = resolveAccess({ kind: "organization-token" });
    expect(resolved.tokenKind).toBe("organization");
    expect(permits(resolved.access, resolved.tokenKind, "can-queue-run")).toBe(false);
    expect(permits(resolved.access, resolved.tokenKind, "can-apply")).toBe(false);
    expect(permits(resolved.access, resolved.tokenKind, "can-update")).toBe(true);
    expect(permits(resolved.access, resolved.tokenKind, "can-read-run")).toBe(true);
  });

  it("lets a team token with plan access queue runs and comment but not apply", () => {
    const resolved = resolveAccess(member([team()], ["plan"], "team"));
    expect(resolved.tokenKind).toBe("team");
    expect(permits(resolved.access, resolved.tokenKind, "can-queue-run")).toBe(true);
    expect(permits(resolved.access, resolved.tokenKind, "can-comment")).toBe(true);
    expect(permits(resolved.access, resolved.tokenKind, "can-apply")).toBe(false);
  });
});

describe("organization permissions", () => {
  it("carry every key, let owners manage and members only traverse and read run tasks", () => {
    const owner = organizationPermissions({ role: "owner", managesWorkspaces: true });
    const manager = organizationPermissions({ role: "member", managesWorkspaces: true });
    const plain = organizationPermissions({ role: "member", managesWorkspaces: false });
    for (const perms of [owner, manager, plain]) expect(Object.keys(perms).sort()).toEqual([...ORGANIZATION_PERMISSION_KEYS].sort());
    expect([owner["can-update"], owner["can-create-team"], owner["can-create-project"], owner["can-create-workspace"]]).toEqual([true, true, true, true]);
    expect([manager["can-update"], manager["can-create-workspace"], manager["can-manage-tags"]]).toEqual([false, true, true]);
    // Members read the organization's run tasks (the run tasks routes let them), and manage nothing.
    expect(Object.entries(plain).filter(([, v]) => v).map(([k]) => k).sort()).toEqual(["can-access-via-teams", "can-read-run-tasks", "can-traverse"]);
    expect(owner["can-manage-sso"] || owner["can-update-ssh-keys"]).toBe(false);
  });

  it("tell an organization token it may manage its organization but not destroy it, as the routes enforce", () => {
    const role = organizationRoleOf({ kind: "organization-token" })!;
    const asToken = organizationPermissions(role, "organization");
    const asOwner = organizationPermissions(role, "user");
    expect(asToken["can-destroy"]).toBe(false);
    expect(asOwner["can-destroy"]).toBe(true);
    expect(asToken["can-update"]).toBe(true);
    expect(asToken["can-create-team"]).toBe(true);
    const differing = ORGANIZATION_PERMISSION_KEYS.filter((k) => asToken[k] !== asOwner[k]);
    expect(differing).toEqual(["can-destroy"]);
    expect(organizationPermissions({ role: "owner", managesWorkspaces: true }, "team")["can-destroy"]).toBe(true);
  });

  it("give can-manage-run-tasks to owners and members of a manage-run-tasks team, and nothing else with it", () => {
    const runTaskManager = organizationRoleOf(member([team(), team({ manageRunTasks: true })]))!;
    expect(runTaskManager).toMatchObject({ role: "member", managesRunTasks: true, managesWorkspaces: false });
    const perms = organizationPermissions(runTaskManager);
    expect(Object.entries(perms).filter(([, v]) => v).map(([k]) => k).sort()).toEqual(["can-access-via-teams", "can-manage-run-tasks", "can-read-run-tasks", "can-traverse"]);
    expect(organizationPermissions(organizationRoleOf(member([team({ manageWorkspaces: true })]))!)["can-manage-run-tasks"]).toBe(false);
    expect(organizationPermissions({ role: "owner", managesWorkspaces: true })["can-manage-run-tasks"]).toBe(true);
  });
});

describe("task stage overrides", () => {
  it("are for owners and manage-policy-overrides teams, never for an organization token", () => {
    expect(canOverrideTaskStages(organizationRoleOf(member([team({ isOwners: true })])), "user")).toBe(true);
    expect(canOverrideTaskStages(organizationRoleOf(member([team({ managePolicyOverrides: true })])), "team")).toBe(true);
    expect(canOverrideTaskStages(organizationRoleOf(member([team({ manageRunTasks: true, manageWorkspaces: true })])), "user")).toBe(false);
    expect(canOverrideTaskStages(organizationRoleOf({ kind: "organization-token" }), "organization")).toBe(false);
    expect(canOverrideTaskStages(organizationRoleOf({ kind: "site-admin" }), "user")).toBe(true);
    expect(canOverrideTaskStages(null, "user")).toBe(false);
  });
});
