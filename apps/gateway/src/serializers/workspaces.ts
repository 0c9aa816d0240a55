import type { workspacesRepo } from "@tarmac/db";
import { holdsWorkspace, workspacePermissions, type TokenKind, type WorkspaceAccess } from "@tarmac/domain";
import { time, toOne, type Relationship, type Resource } from "@tarmac/jsonapi";

export type WorkspaceView = workspacesRepo.WorkspaceView;

export interface WorkspaceSerializeContext {
  /** The caller's access level on this workspace (null: none, only for internal use). */
  access: WorkspaceAccess | null;
  tokenKind: TokenKind;
}

/** The run that holds the workspace's queue right now, if any (DESIGN invariant 2). */
export function holdingRunId(ws: Pick<WorkspaceView, "currentRun">): string | null {
  const run = ws.currentRun;
  return run && holdsWorkspace(run) ? run.id : null;
}

/**
 * Who `locked-by` points at: a manual lock names its user or team; otherwise a
 * run holding the queue locks the workspace (notes §5.3), and go-tfe reads
 * "is locked by Run" from the unlock error.
 */
export function lockHolder(
  ws: Pick<WorkspaceView, "locked" | "lockedByUserId" | "lockedByTeamId" | "currentRun">,
): { type: "users" | "teams" | "runs"; id: string } | null {
  if (ws.locked) {
    if (ws.lockedByUserId) return { type: "users", id: ws.lockedByUserId };
    if (ws.lockedByTeamId) return { type: "teams", id: ws.lockedByTeamId };
    return null;
  }
  const runId = holdingRunId(ws);
  return runId ? { type: "runs", id: runId } : null;
}

export function isWorkspaceLocked(ws: Pick<WorkspaceView, "locked" | "currentRun">): boolean {
  return ws.locked || holdingRunId(ws) !== null;
}

export function workspacePath(ws: Pick<WorkspaceView, "id">): string {
  return `/api/v2/workspaces/${ws.id}`;
}

/**
 * A `workspaces` resource as HCP writes it (notes §5.1). `permissions` is always
 * complete: the CLI dereferences it without a nil check (notes §0.2).
 */
export function serializeWorkspace(ws: WorkspaceView, ctx: WorkspaceSerializeContext): Resource {
  const org = ws.organization.name;
  const holder = lockHolder(ws);
  const latestRunId = ws.runs[0]?.id ?? null;
  const self = workspacePath(ws);
  const rel = (related: string): Relationship => ({ links: { related: `${self}/${related}` } });
  return {
    id: ws.id,
    type: "workspaces",
    attributes: {
      name: ws.name,
      description: ws.description,
      environment: "default",
      "auto-apply": ws.autoApply,
      "auto-apply-run-trigger": false,
      "auto-destroy-at": null,
      "auto-destroy-status": null,
      "auto-destroy-activity-duration": null,
      "inherits-project-auto-destroy": false,
      "project-remote-state": false,
      "hyok-enabled": false,
      "no-code-upgrade-available": false,
      "source-module-id": null,
      "allow-destroy-plan": ws.allowDestroyPlan,
      "assessments-enabled": false,
      locked: isWorkspaceLocked(ws),
      "locked-reason": ws.locked ? (ws.lockedReason ?? "") : "",
      "execution-mode": ws.executionMode,
      // go-tfe's Workspace.AgentPoolID (older SDKs read only this; newer ones the relationship).
      "agent-pool-id": ws.agentPoolId,
      // The deprecated boolean: true for remote and agent execution, false for local.
      operations: ws.executionMode !== "local",
      "terraform-version": ws.terraformVersion,
      "working-directory": ws.workingDirectory ?? "",
      "speculative-enabled": ws.speculativeEnabled,
      "queue-all-runs": ws.queueAllRuns,
      "structured-run-output-enabled": ws.structuredRunOutputEnabled,
      "file-triggers-enabled": ws.fileTriggersEnabled,
      "global-remote-state": ws.globalRemoteState,
      "trigger-prefixes": ws.triggerPrefixes,
      "trigger-patterns": [],
      source: ws.source,
      "source-name": null,
      "source-url": null,
      "tag-names": ws.tagNames,
      "resource-count": ws.resourceCount,
      "apply-duration-average": null,
      "plan-duration-average": null,
      "policy-check-failures": null,
      "run-failures": null,
      "workspace-kpis-runs-count": null,
      "vcs-repo": null,
      "vcs-repo-identifier": null,
      "created-at": time(ws.createdAt),
      "updated-at": time(ws.updatedAt),
      "latest-change-at": time(ws.updatedAt),
      "last-assessment-result-at": null,
      permissions: workspacePermissions(ctx.access, ctx.tokenKind),
      actions: { "is-destroyable": true },
      "setting-overwrites": { "execution-mode": false, "agent-pool": false },
    },
    relationships: {
      organization: toOne("organizations", org),
      "current-run": toOne("runs", ws.currentRunId, ws.currentRunId ? `/api/v2/runs/${ws.currentRunId}` : undefined),
      "latest-run": toOne("runs", latestRunId, latestRunId ? `/api/v2/runs/${latestRunId}` : undefined),
      "current-configuration-version": toOne(
        "configuration-versions",
        ws.latestConfigurationVersionId,
        ws.latestConfigurationVersionId ? `/api/v2/configuration-versions/${ws.latestConfigurationVersionId}` : undefined,
      ),
      "current-state-version": toOne("state-versions", ws.currentStateVersionId, `${self}/current-state-version`),
      "locked-by": holder ? { data: holder } : { data: null },
      project: toOne("projects", ws.projectId ?? null, ws.projectId ? `/api/v2/projects/${ws.projectId}` : undefined),
      "tag-bindings": rel("tag-bindings"),
      "effective-tag-bindings": rel("effective-tag-bindings"),
      // The pool an agent-mode workspace runs on (null otherwise).
      "agent-pool": toOne("agent-pools", ws.agentPoolId),
      outputs: { data: [], links: { related: `${self}/current-state-version-outputs` } },
      vars: rel("vars"),
      "remote-state-consumers": rel("relationships/remote-state-consumers"),
      readme: { data: null },
      "ssh-key": toOne("ssh-keys", ws.sshKeyId),
      "current-assessment-result": { data: null },
    },
    links: {
      self,
      "self-html": `/app/${org}/workspaces/${ws.name}`,
    },
  };
}
