import type { teamsRepo } from "@tarmac/db";
import type { WorkspaceAccess } from "@tarmac/domain";
import { toMany, toOne, type Resource } from "@tarmac/jsonapi";

const ORG_ACCESS_KEYS = [
  "manage-policies",
  "manage-workspaces",
  "manage-vcs-settings",
  "manage-policy-overrides",
  "delegate-policy-overrides",
  "manage-modules",
  "manage-providers",
  "manage-run-tasks",
  "manage-projects",
  "manage-membership",
  "manage-teams",
  "manage-organization-access",
  "access-secret-teams",
  "read-projects",
  "read-workspaces",
  "manage-agent-pools",
] as const;

/**
 * The flags Tarmac stores and enforces: manage-workspaces (and read-workspaces, which it implies),
 * manage-run-tasks and manage-policy-overrides; owners have everything.
 */
function organizationAccess(team: teamsRepo.TeamView): Record<string, boolean> {
  const stored: Partial<Record<(typeof ORG_ACCESS_KEYS)[number], boolean>> = {
    "manage-workspaces": team.manageWorkspaces,
    "read-workspaces": team.manageWorkspaces,
    "manage-run-tasks": team.manageRunTasks,
    "manage-policy-overrides": team.managePolicyOverrides,
  };
  return Object.fromEntries(ORG_ACCESS_KEYS.map((k) => [k, team.isOwners || stored[k] === true]));
}

/** A `teams` resource; `canManage` is whether the caller owns the organization. */
export function serializeTeam(team: teamsRepo.TeamView, opts: { canManage: boolean }): Resource {
  const m = opts.canManage;
  return {
    id: team.id,
    type: "teams",
    attributes: {
      name: team.name,
      visibility: team.visibility,
      "users-count": team.memberships.length,
      "allow-member-token-management": false,
      "sso-team-id": null,
      "organization-access": organizationAccess(team),
      permissions: {
        "can-update-membership": m,
        "can-destroy": m && !team.isOwners,
        "can-update-organization-access": m && !team.isOwners,
        "can-update-api-token": m,
        "can-update-visibility": m,
        "can-update-name": m && !team.isOwners,
        "can-update-sso-team-id": false,
        "can-update-member-token-management": false,
        "can-view-api-token": m,
      },
    },
    relationships: {
      organization: toOne("organizations", team.organization.name),
      users: toMany("users", team.memberships.map((x) => x.userId)),
      "authentication-token": { links: { related: `/api/v2/teams/${team.id}/authentication-token` } },
    },
    links: { self: `/api/v2/teams/${team.id}` },
  };
}

/** The fixed permission sets behind each access level (notes §8), as HCP spells them out. */
function accessDetails(access: WorkspaceAccess): Record<string, unknown> {
  switch (access) {
    case "read":
      return { runs: "read", variables: "read", "state-versions": "read", "sentinel-mocks": "none", "workspace-locking": false, "run-tasks": false };
    case "plan":
      return { runs: "plan", variables: "read", "state-versions": "read", "sentinel-mocks": "none", "workspace-locking": false, "run-tasks": false };
    case "write":
      return { runs: "apply", variables: "write", "state-versions": "write", "sentinel-mocks": "read", "workspace-locking": true, "run-tasks": false };
    case "admin":
      return { runs: "apply", variables: "write", "state-versions": "write", "sentinel-mocks": "read", "workspace-locking": true, "run-tasks": true };
  }
}

export function serializeTeamWorkspace(tws: teamsRepo.TeamWorkspaceView): Resource {
  return {
    id: tws.id,
    type: "team-workspaces",
    attributes: {
      access: tws.access,
      ...accessDetails(tws.access),
      "policy-overrides": false,
    },
    relationships: {
      team: toOne("teams", tws.teamId, `/api/v2/teams/${tws.teamId}`),
      workspace: toOne("workspaces", tws.workspaceId, `/api/v2/workspaces/${tws.workspaceId}`),
    },
    links: { self: `/api/v2/team-workspaces/${tws.id}` },
  };
}
