import {
  accessAtLeast,
  canApplyRuns,
  canQueueRun,
  canReadRuns,
  isAdmin,
  runPermissions,
  WORKSPACE_ACCESS_LEVELS,
  WORKSPACE_PERMISSION_KEYS,
  workspacePermissions,
  type WorkspaceAccess,
} from "./access";

const LEVELS: (WorkspaceAccess | null)[] = [null, "read", "plan", "write", "admin"];

describe("workspace access levels", () => {
  it("order read < plan < write < admin, and no access is below all", () => {
    expect([...WORKSPACE_ACCESS_LEVELS]).toEqual(["read", "plan", "write", "admin"]);
    const table = LEVELS.map((access) => WORKSPACE_ACCESS_LEVELS.map((level) => accessAtLeast(access, level)));
    expect(table).toEqual([
      [false, false, false, false],
      [true, false, false, false],
      [true, true, false, false],
      [true, true, true, false],
      [true, true, true, true],
    ]);
  });

  it("gate reading, queueing, applying and administering runs", () => {
    expect(LEVELS.map(canReadRuns)).toEqual([false, true, true, true, true]);
    expect(LEVELS.map(canQueueRun)).toEqual([false, false, true, true, true]);
    expect(LEVELS.map(canApplyRuns)).toEqual([false, false, false, true, true]);
    expect(LEVELS.map(isAdmin)).toEqual([false, false, false, false, true]);
  });
});

describe("run permissions", () => {
  it.each([
    [null, [false, false, false, false, false, false]],
    ["read", [false, false, false, false, false, false]],
    ["plan", [false, false, true, false, false, false]],
    ["write", [true, true, true, true, true, false]],
    ["admin", [true, true, true, true, true, true]],
  ] as [WorkspaceAccess | null, boolean[]][])("for %s access", (access, [apply, cancel, comment, discard, forceExecute, forceCancel]) => {
    expect(runPermissions(access)).toEqual({
      "can-apply": apply,
      "can-cancel": cancel,
      "can-comment": comment,
      "can-discard": discard,
      "can-force-execute": forceExecute,
      "can-force-cancel": forceCancel,
      "can-override-policy-check": false,
    });
  });

  it("let an organization token act on no run, even as admin", () => {
    const perms = runPermissions("admin", "organization");
    expect(perms["can-apply"] || perms["can-cancel"] || perms["can-discard"] || perms["can-force-execute"] || perms["can-force-cancel"]).toBe(false);
    expect(perms["can-comment"]).toBe(false);
    expect(runPermissions("admin", "team")).toEqual(runPermissions("admin", "user"));
  });
});

describe("workspace permissions", () => {
  it("carry every key clients read", () => {
    const expectedKeys = [
      "can-update", "can-destroy", "can-queue-run", "can-read-run", "can-read-variable", "can-update-variable",
      "can-read-state-versions", "can-read-state-outputs", "can-create-state-versions",
      "can-queue-apply", "can-queue-destroy", "can-lock", "can-unlock", "can-force-unlock",
      "can-read-settings", "can-manage-tags", "can-manage-run-tasks", "can-force-delete",
      "can-manage-assessments", "can-manage-ephemeral-workspaces", "can-read-assessment-results",
    ];
    expect([...WORKSPACE_PERMISSION_KEYS].sort()).toEqual([...expectedKeys].sort());
    for (const access of LEVELS) expect(Object.keys(workspacePermissions(access)).sort()).toEqual([...expectedKeys].sort());
  });

  it("grant what each fixed permission set includes", () => {
    const granted = (access: WorkspaceAccess | null) =>
      Object.entries(workspacePermissions(access)).filter(([, v]) => v).map(([k]) => k).sort();
    const read = ["can-read-run", "can-read-variable", "can-read-state-versions", "can-read-state-outputs", "can-read-settings", "can-read-assessment-results"];
    const plan = [...read, "can-queue-run"];
    const write = [...plan, "can-update-variable", "can-create-state-versions", "can-queue-apply", "can-queue-destroy", "can-lock", "can-unlock"];
    expect(granted(null)).toEqual([]);
    expect(granted("read")).toEqual(read.sort());
    expect(granted("plan")).toEqual(plan.sort());
    expect(granted("write")).toEqual(write.sort());
    expect(granted("admin")).toEqual([...WORKSPACE_PERMISSION_KEYS].sort());
  });

  it("let the CLI plan with plan access and apply with write access", () => {
    expect(workspacePermissions("plan")["can-queue-run"]).toBe(true);
    const plan = workspacePermissions("plan");
    expect(plan["can-update"] || plan["can-queue-apply"]).toBe(false);
    expect(workspacePermissions("write")["can-queue-apply"]).toBe(true);
  });

  it("never let an organization token queue runs", () => {
    const perms = workspacePermissions("admin", "organization");
    expect([perms["can-queue-run"], perms["can-queue-apply"], perms["can-queue-destroy"]]).toEqual([false, false, false]);
    expect(perms["can-update"]).toBe(true);
  });
});
