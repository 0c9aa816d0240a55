import { z } from "zod";

/** The fixed workspace permission sets, weakest first; each includes the ones before it (notes §8). */
export const WORKSPACE_ACCESS_LEVELS = ["read", "plan", "write", "admin"] as const;

export type WorkspaceAccess = (typeof WORKSPACE_ACCESS_LEVELS)[number];
export const workspaceAccessSchema = z.enum(WORKSPACE_ACCESS_LEVELS);

export function isWorkspaceAccess(value: string): value is WorkspaceAccess {
  return (WORKSPACE_ACCESS_LEVELS as readonly string[]).includes(value);
}

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
 * What the principal is in one organization, the only input of every access rule below. Loaded by
 * the caller (the gateway per request, the scheduler for auto-apply); null stands for no standing
 * at all (another organization's token, a user on none of its teams): the API answers 404.
 */
export type Standing =
  /** A user token of a site admin: owner of every organization, whatever its teams. */
  | { kind: "site-admin" }
  /** The organization's own organization token. */
  | { kind: "organization-token" }
  /**
   * A user's token (their teams in the organization) or a team's token (that one team). `grants`
   * are those teams' grants on the workspace in question, direct or through its project; empty
   * when the question is about the organization only.
   */
  | {
      kind: "member";
      tokenKind: "user" | "team";
      teams: readonly TeamOrganizationAccess[];
      grants: readonly WorkspaceAccess[];
    };

/** A team's owner flag and the organization-access flags Tarmac enforces (HCP's `organization-access`). */
export interface TeamOrganizationAccess {
  isOwners: boolean;
  manageWorkspaces: boolean;
  /** Create, change and delete the organization's run tasks. Absent reads as false. */
  manageRunTasks?: boolean;
  /** Override policy checks and failed mandatory run tasks. Absent reads as false. */
  managePolicyOverrides?: boolean;
}

export function tokenKindOfStanding(standing: Standing): TokenKind {
  switch (standing.kind) {
    case "site-admin":
      return "user";
    case "organization-token":
      return "organization";
    case "member":
      return standing.tokenKind;
  }
}

export interface OrganizationRole {
  role: "owner" | "member";
  /** Owners, and members of a team with the organization permission manage-workspaces. */
  managesWorkspaces: boolean;
  /** Owners, and members of a team with manage-run-tasks. */
  managesRunTasks?: boolean;
  /** Owners, and members of a team with manage-policy-overrides. */
  managesPolicyOverrides?: boolean;
}

/**
 * The principal's role in the organization: site admins, the organization's token and members of
 * the owners team own it; anyone on another team is a member; a user on no team has none (null).
 */
export function organizationRoleOf(standing: Standing | null): OrganizationRole | null {
  if (standing === null) return null;
  if (standing.kind !== "member") return { role: "owner", managesWorkspaces: true, managesRunTasks: true, managesPolicyOverrides: true };
  if (standing.teams.length === 0) return null;
  const owner = standing.teams.some((t) => t.isOwners);
  return {
    role: owner ? "owner" : "member",
    managesWorkspaces: owner || standing.teams.some((t) => t.manageWorkspaces),
    managesRunTasks: owner || standing.teams.some((t) => t.manageRunTasks === true),
    managesPolicyOverrides: owner || standing.teams.some((t) => t.managePolicyOverrides === true),
  };
}

/**
 * The principal's access on a workspace: owners (site admins and the organization's token
 * included) and manage-workspaces teams administer every workspace (HCP), anyone else has the
 * best grant of their teams. Null: no access (the API answers 404).
 */
export function workspaceAccessOfStanding(standing: Standing | null): WorkspaceAccess | null {
  const role = organizationRoleOf(standing);
  if (role === null || standing === null) return null;
  if (role.role === "owner" || role.managesWorkspaces) return "admin";
  return standing.kind === "member" ? bestAccess(standing.grants) : null;
}

/**
 * A member's access on a workspace from their teams in its organization, each with its grant on
 * the workspace. The gateway's checks and the scheduler's auto-apply decision both use this rule.
 */
export function accessFromTeamStandings(teams: readonly TeamStandingOnWorkspace[]): WorkspaceAccess | null {
  return workspaceAccessOfStanding({
    kind: "member",
    tokenKind: "user",
    teams,
    grants: teams.flatMap((t) => (t.access === null ? [] : [t.access])),
  });
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
    // Commenting is acting on the run: an organization token is refused, so it is not told otherwise.
    "can-comment": mayAct && canQueueRun(access),
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

export type RunPermissionKey = keyof RunPermissions;

/** Anything a route may require on a workspace or on one of its runs. */
export type Permission = WorkspacePermissionKey | RunPermissionKey;

const RUN_PERMISSION_KEYS: ReadonlySet<string> = new Set(Object.keys(runPermissions(null)));

function isRunPermission(permission: Permission): permission is RunPermissionKey {
  return RUN_PERMISSION_KEYS.has(permission);
}

/**
 * Whether `access` (with the token's kind) holds `permission`: read from the very sets the API
 * reports as `permissions`, so what a route enforces and what a client is told cannot disagree.
 */
export function permits(access: WorkspaceAccess | null, tokenKind: TokenKind, permission: Permission): boolean {
  if (isRunPermission(permission)) return runPermissions(access, tokenKind)[permission];
  // workspacePermissions(access, tokenKind)[permission], without building the whole table (every request asks).
  const blocked = tokenKind === "organization" && RUN_STARTING_KEYS.includes(permission);
  return !blocked && accessAtLeast(access, WORKSPACE_PERMISSION_LEVEL[permission]);
}

/** Everything the principal may do on one workspace and its runs, from its standing alone. */
export interface ResolvedAccess {
  access: WorkspaceAccess | null;
  tokenKind: TokenKind;
  workspace: WorkspacePermissions;
  run: RunPermissions;
}

/** The access resolver: standing in, the permission sets the API reports and enforces out. */
export function resolveAccess(standing: Standing | null): ResolvedAccess {
  const access = workspaceAccessOfStanding(standing);
  const tokenKind: TokenKind = standing === null ? "user" : tokenKindOfStanding(standing);
  return { access, tokenKind, workspace: workspacePermissions(access, tokenKind), run: runPermissions(access, tokenKind) };
}

export const ORGANIZATION_PERMISSION_KEYS = [
  "can-update",
  "can-update-authentication-token",
  "can-view-authentication",
  "can-destroy",
  "can-access-via-teams",
  "can-create-module",
  "can-create-team",
  "can-create-workspace",
  "can-manage-users",
  "can-view-users",
  "can-manage-subscription",
  "can-manage-sso",
  "can-update-oauth",
  "can-update-sentinel",
  "can-update-ssh-keys",
  "can-update-api-token",
  "can-traverse",
  "can-view-usage",
  "can-update-agent-pools",
  "can-manage-tags",
  "can-manage-varsets",
  "can-read-varsets",
  "can-manage-public-providers",
  "can-manage-public-modules",
  "can-manage-custom-providers",
  "can-manage-run-tasks",
  "can-read-run-tasks",
  "can-create-project",
] as const;

export type OrganizationPermissionKey = (typeof ORGANIZATION_PERMISSION_KEYS)[number];
export type OrganizationPermissions = Record<OrganizationPermissionKey, boolean>;

/** Who holds each organization permission; features Tarmac lacks are nobody's. */
type OrganizationPermissionHolder = "owner" | "workspace-manager" | "run-task-manager" | "member" | "nobody";

const ORGANIZATION_PERMISSION_HOLDERS: Readonly<Record<OrganizationPermissionKey, OrganizationPermissionHolder>> = {
  "can-update": "owner",
  "can-update-authentication-token": "owner",
  "can-view-authentication": "owner",
  "can-destroy": "owner",
  "can-access-via-teams": "member",
  "can-create-module": "nobody",
  "can-create-team": "owner",
  "can-create-workspace": "workspace-manager",
  "can-manage-users": "owner",
  "can-view-users": "owner",
  "can-manage-subscription": "nobody",
  "can-manage-sso": "nobody",
  "can-update-oauth": "nobody",
  "can-update-sentinel": "nobody",
  "can-update-ssh-keys": "nobody",
  "can-update-api-token": "owner",
  "can-traverse": "member",
  "can-view-usage": "owner",
  "can-update-agent-pools": "owner",
  "can-manage-tags": "workspace-manager",
  "can-manage-varsets": "nobody",
  "can-read-varsets": "nobody",
  "can-manage-public-providers": "nobody",
  "can-manage-public-modules": "nobody",
  "can-manage-custom-providers": "nobody",
  "can-manage-run-tasks": "run-task-manager",
  "can-read-run-tasks": "member",
  "can-create-project": "owner",
};

/** Powers an organization token lacks though it owns its organization: it cannot destroy it. */
const ORGANIZATION_TOKEN_LACKS: readonly OrganizationPermissionKey[] = ["can-destroy"];

/**
 * The organization's `permissions` attribute: owners manage everything, members only traverse.
 * With the token's kind, as the workspace and run permissions, so that what the API reports and
 * what its routes enforce cannot disagree.
 */
export function organizationPermissions(role: OrganizationRole, tokenKind: TokenKind = "user"): OrganizationPermissions {
  const held = (holder: OrganizationPermissionHolder): boolean => {
    switch (holder) {
      case "owner":
        return role.role === "owner";
      case "workspace-manager":
        return role.role === "owner" || role.managesWorkspaces;
      case "run-task-manager":
        return role.role === "owner" || role.managesRunTasks === true;
      case "member":
        return true;
      case "nobody":
        return false;
    }
  };
  const entries = ORGANIZATION_PERMISSION_KEYS.map((key): [OrganizationPermissionKey, boolean] => {
    const blocked = tokenKind === "organization" && ORGANIZATION_TOKEN_LACKS.includes(key);
    return [key, !blocked && held(ORGANIZATION_PERMISSION_HOLDERS[key])];
  });
  return Object.fromEntries(entries) as OrganizationPermissions;
}

/**
 * Whether the principal may override a task stage awaiting an override (HCP: the team permission
 * manage-policy-overrides; owners hold it). Overriding is acting on a run: an organization token
 * never may, as it may not apply runs.
 */
export function canOverrideTaskStages(role: OrganizationRole | null, tokenKind: TokenKind): boolean {
  if (role === null || tokenKind === "organization") return false;
  return role.role === "owner" || role.managesPolicyOverrides === true;
}
