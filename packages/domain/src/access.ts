import { z } from "zod";

/** The fixed workspace permission sets, weakest first; each includes the ones before it (notes §8). */
export const WORKSPACE_ACCESS_LEVELS = ["read", "plan", "write", "admin"] as const;

export type WorkspaceAccess = (typeof WORKSPACE_ACCESS_LEVELS)[number];
export const workspaceAccessSchema = z.enum(WORKSPACE_ACCESS_LEVELS);

/** Who holds the token. Organization tokens may read and manage workspaces but never start or act on runs. */
export const TOKEN_KINDS = ["user", "team", "organization"] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

function rank(access: WorkspaceAccess): number {
  switch (access) {
    case "read":
      return 0;
    case "plan":
      return 1;
    case "write":
      return 2;
    case "admin":
      return 3;
  }
}

/** `null` means no access at all (the caller answers 404, as HCP does). */
export function accessAtLeast(access: WorkspaceAccess | null, level: WorkspaceAccess): boolean {
  return access !== null && rank(access) >= rank(level);
}

export function canReadRuns(access: WorkspaceAccess | null): boolean {
  return accessAtLeast(access, "read");
}

/** Queue plans (speculative and normal) and create configuration versions. */
export function canQueueRun(access: WorkspaceAccess | null): boolean {
  return accessAtLeast(access, "plan");
}

/** Confirm, discard, cancel and force-execute runs (the runs API ties all four to "apply runs"). */
export function canApplyRuns(access: WorkspaceAccess | null): boolean {
  return accessAtLeast(access, "write");
}

export function isAdmin(access: WorkspaceAccess | null): boolean {
  return accessAtLeast(access, "admin");
}

/** The strongest of several grants; null when there are none. */
export function bestAccess(levels: Iterable<WorkspaceAccess>): WorkspaceAccess | null {
  let out: WorkspaceAccess | null = null;
  for (const l of levels) if (out === null || rank(l) > rank(out)) out = l;
  return out;
}

/** What access rules need to know of one team of a member in the workspace's organization. */
export interface TeamStandingOnWorkspace {
  isOwners: boolean;
  manageWorkspaces: boolean;
  /** The team's grant on the workspace (direct or through its project); null when it has none. */
  access: WorkspaceAccess | null;
}

/**
 * A member's access on a workspace from their teams in its organization: the owners team and
 * teams with the `manage-workspaces` organization permission administer every workspace (HCP),
 * anyone else has the best grant of their teams. Null: no access (the API answers 404).
 * The gateway's checks and the scheduler's auto-apply decision both use this one rule.
 */
export function accessFromTeamStandings(teams: readonly TeamStandingOnWorkspace[]): WorkspaceAccess | null {
  if (teams.some((t) => t.isOwners || t.manageWorkspaces)) return "admin";
  return bestAccess(teams.flatMap((t) => (t.access === null ? [] : [t.access])));
}

export interface RunPermissions {
  "can-apply": boolean;
  "can-cancel": boolean;
  "can-comment": boolean;
  "can-discard": boolean;
  "can-force-execute": boolean;
  "can-force-cancel": boolean;
  "can-override-policy-check": boolean;
}

/**
 * The run's `permissions` attribute. Clients dereference it without a nil check (notes §0.2), so it
 * is always complete. Tarmac runs no policy checks, so there is never one to override.
 */
export function runPermissions(access: WorkspaceAccess | null, tokenKind: TokenKind = "user"): RunPermissions {
  const mayAct = tokenKind !== "organization";
  return {
    "can-apply": mayAct && canApplyRuns(access),
    "can-cancel": mayAct && canApplyRuns(access),
    "can-comment": canQueueRun(access),
    "can-discard": mayAct && canApplyRuns(access),
    "can-force-execute": mayAct && canApplyRuns(access),
    "can-force-cancel": mayAct && isAdmin(access),
    "can-override-policy-check": false,
  };
}

export const WORKSPACE_PERMISSION_KEYS = [
  "can-update",
  "can-destroy",
  "can-queue-run",
  "can-read-run",
  "can-read-variable",
  "can-update-variable",
  "can-read-state-versions",
  "can-read-state-outputs",
  "can-create-state-versions",
  "can-queue-apply",
  "can-queue-destroy",
  "can-lock",
  "can-unlock",
  "can-force-unlock",
  "can-read-settings",
  "can-manage-tags",
  "can-manage-run-tasks",
  "can-force-delete",
  "can-manage-assessments",
  "can-manage-ephemeral-workspaces",
  "can-read-assessment-results",
] as const;

export type WorkspacePermissionKey = (typeof WORKSPACE_PERMISSION_KEYS)[number];
export type WorkspacePermissions = Record<WorkspacePermissionKey, boolean>;

/** The level each workspace permission needs; settings-like powers are admin's (notes §8). */
const WORKSPACE_PERMISSION_LEVEL: Readonly<Record<WorkspacePermissionKey, WorkspaceAccess>> = {
  "can-update": "admin",
  "can-destroy": "admin",
  "can-queue-run": "plan",
  "can-read-run": "read",
  "can-read-variable": "read",
  "can-update-variable": "write",
  "can-read-state-versions": "read",
  "can-read-state-outputs": "read",
  "can-create-state-versions": "write",
  "can-queue-apply": "write",
  "can-queue-destroy": "write",
  "can-lock": "write",
  "can-unlock": "write",
  "can-force-unlock": "admin",
  "can-read-settings": "read",
  "can-manage-tags": "admin",
  "can-manage-run-tasks": "admin",
  "can-force-delete": "admin",
  "can-manage-assessments": "admin",
  "can-manage-ephemeral-workspaces": "admin",
  "can-read-assessment-results": "read",
};

/** Powers an organization token lacks whatever its access: it cannot start runs (notes §8). */
const RUN_STARTING_KEYS: readonly WorkspacePermissionKey[] = ["can-queue-run", "can-queue-apply", "can-queue-destroy"];

/**
 * The workspace's `permissions` attribute. The CLI checks `can-queue-run` before a plan and
 * `can-update || can-queue-apply` before an apply (notes §8), so every key is always present.
 */
export function workspacePermissions(
  access: WorkspaceAccess | null,
  tokenKind: TokenKind = "user",
): WorkspacePermissions {
  const entries = WORKSPACE_PERMISSION_KEYS.map((key): [WorkspacePermissionKey, boolean] => {
    const blocked = tokenKind === "organization" && RUN_STARTING_KEYS.includes(key);
    return [key, !blocked && accessAtLeast(access, WORKSPACE_PERMISSION_LEVEL[key])];
  });
  return Object.fromEntries(entries) as WorkspacePermissions;
}
