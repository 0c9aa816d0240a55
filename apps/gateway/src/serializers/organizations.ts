import type { organizationsRepo } from "@tarmac/db";
import { organizationPermissions, type TokenKind } from "@tarmac/domain";
import { time, toOne, type Resource } from "@tarmac/jsonapi";

export interface OrganizationSerializeContext {
  role: "owner" | "member";
  /** Owners, and members of a team with organization-access manage-workspaces. */
  canManageWorkspaces: boolean;
  /** Owners, and members of a team with organization-access manage-run-tasks. */
  canManageRunTasks?: boolean;
  /** The kind of token asking: an organization token may not destroy its organization. */
  tokenKind?: TokenKind;
  /** go-tfe's Organization.DefaultProject; every organization has one. */
  defaultProjectId?: string | null;
}

export function organizationPath(name: string): string {
  return `/api/v2/organizations/${encodeURIComponent(name)}`;
}

/**
 * An `organizations` resource; its JSON:API id is its name (notes §1.5). The
 * Tarmac-only setting `tarmac-run-concurrency` rides along as an extra
 * attribute, which go-tfe and the provider ignore.
 */
export function serializeOrganization(org: organizationsRepo.Organization, ctx: OrganizationSerializeContext): Resource {
  const self = organizationPath(org.name);
  return {
    id: org.name,
    type: "organizations",
    attributes: {
      name: org.name,
      email: org.email,
      "external-id": org.id,
      "created-at": time(org.createdAt),
      "session-timeout": org.sessionTimeout,
      "session-remember": org.sessionRemember,
      "collaborator-auth-policy": org.collaboratorAuthPolicy,
      "cost-estimation-enabled": org.costEstimationEnabled,
      "plan-expired": false,
      "plan-expires-at": null,
      "plan-is-trial": false,
      "plan-is-enterprise": true,
      "plan-identifier": "tarmac",
      "fair-run-queuing-enabled": true,
      "saml-enabled": false,
      "owners-team-saml-role-id": null,
      "two-factor-conformant": true,
      "assessments-enforced": false,
      "allow-force-delete-workspaces": false,
      "send-passing-statuses-for-untriggered-speculative-plans": false,
      "aggregated-commit-status-enabled": false,
      "speculative-plan-management-enabled": true,
      "default-execution-mode": "remote",
      "tarmac-run-concurrency": org.runConcurrency,
      permissions: organizationPermissions({ role: ctx.role, managesWorkspaces: ctx.canManageWorkspaces, managesRunTasks: ctx.canManageRunTasks === true }, ctx.tokenKind),
    },
    relationships: {
      "entitlement-set": toOne("entitlement-sets", org.id, `${self}/entitlement-set`),
      "authentication-token": { links: { related: `${self}/authentication-token` } },
      "oauth-tokens": { links: { related: `${self}/oauth-tokens` } },
      "default-project": toOne("projects", ctx.defaultProjectId ?? null, ctx.defaultProjectId ? `/api/v2/projects/${ctx.defaultProjectId}` : undefined),
      "default-agent-pool": { data: null },
    },
    links: { self },
  };
}

/** What the organization may use; `operations: true` keeps the CLI on remote execution (notes §9.3). */
export function serializeEntitlementSet(org: organizationsRepo.Organization): Resource {
  return {
    id: org.id,
    type: "entitlement-sets",
    attributes: {
      operations: true,
      "state-storage": true,
      teams: true,
      "cost-estimation": org.costEstimationEnabled,
      agents: false,
      "audit-logging": false,
      "configuration-designer": false,
      "global-run-tasks": false,
      "module-tests-generation": false,
      "private-module-registry": false,
      "private-policy-agents": false,
      "private-vcs": false,
      "run-tasks": true,
      sentinel: false,
      "policy-enforcement": false,
      "self-serve-billing": false,
      sso: false,
      "user-limit": null,
      "vcs-integrations": false,
      "waypoint-actions": false,
      "waypoint-templates-and-addons": false,
    },
    links: { self: `/api/v2/entitlement-sets/${org.id}` },
  };
}
