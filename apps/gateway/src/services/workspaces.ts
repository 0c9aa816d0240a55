import { subjectsFor, type WorkspaceLockChangedEvent } from "@tarmac/contracts";
import {
  enqueueOutbox,
  inTransaction,
  lockWorkspaceForUpdate,
  newSecret,
  outboxMessages,
  sshKeysRepo,
  stateVersionUploadsRepo,
  workspacesRepo,
  type Tx,
} from "@tarmac/db";
import { conflict, notFound, type WorkspaceAccess } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import type { Principal } from "../http/auth";
import { invalidAttribute, withUniqueAs } from "../http/request-body";
import { statePendingError } from "../http/state-lock";
import { workspaceAccessMap, type LoadedWorkspace, type OrganizationContext } from "../http/workspace-access";
import { applyRelationChanges, projectForCreate, type WorkspaceRelationChanges } from "../http/workspace-relations";
import { holdingRunId, isWorkspaceLocked, lockHolder } from "../serializers/workspaces";
import { resolveExecution, type ExecutionRequest } from "./agent-pools";

/**
 * Workspace writes: each decision and its outbox events in one transaction, under the workspace's
 * row lock where the decision depends on its current state (locking, safe-delete).
 */

type WorkspaceView = workspacesRepo.WorkspaceView;

const nameTaken = () => invalidAttribute("Name has already been taken", "/data/attributes/name");

export interface CreatedWorkspace {
  workspace: WorkspaceView;
  access: WorkspaceAccess;
}

/** A new workspace with its project and tags; a duplicate name (even a concurrent one) is a 422. */
export async function createWorkspace(
  deps: GatewayDeps,
  ctx: OrganizationContext,
  settings: workspacesRepo.WorkspaceSettings & { name: string },
  changes: WorkspaceRelationChanges,
  execution: ExecutionRequest = {},
): Promise<CreatedWorkspace> {
  const workspace = await withUniqueAs(
    () =>
      inTransaction(deps.db, async (tx) => {
        if (await workspacesRepo.isWorkspaceNameTaken(tx, ctx.organization.id, settings.name)) throw nameTaken();
        const projectId = await projectForCreate(tx, ctx, changes);
        const pool = await resolveExecution(
          tx,
          { id: null, organizationId: ctx.organization.id, executionMode: settings.executionMode ?? "remote", agentPoolId: null },
          execution,
        );
        const created = await workspacesRepo.createWorkspace(tx, ctx.organization.id, { ...settings, ...pool, projectId });
        await applyRelationChanges(tx, ctx, created.id, { ...changes, projectId: undefined });
        return (await workspacesRepo.findWorkspaceView(tx, created.id)) ?? created;
      }),
    nameTaken,
  );
  // Whoever may create a workspace can at least read it: its creator sees it in the answer.
  const access = (await workspaceAccessMap(deps.db, ctx, [workspace.id])).get(workspace.id) ?? "read";
  return { workspace, access };
}

export async function updateWorkspace(
  deps: GatewayDeps,
  loaded: LoadedWorkspace,
  settings: workspacesRepo.WorkspaceSettings,
  changes: WorkspaceRelationChanges,
  execution: ExecutionRequest = {},
): Promise<WorkspaceView> {
  const ws = loaded.workspace;
  return withUniqueAs(
    () =>
      inTransaction(deps.db, async (tx) => {
        if (settings.name !== undefined && (await workspacesRepo.isWorkspaceNameTaken(tx, ws.organizationId, settings.name, ws.id))) {
          throw nameTaken();
        }
        // Checked before any write; a bad pool leaves the workspace as it was.
        const pool = await resolveExecution(tx, ws, execution);
        await applyRelationChanges(tx, loaded.organization, ws.id, changes);
        return workspacesRepo.updateWorkspace(tx, ws.id, { ...settings, ...pool });
      }),
    nameTaken,
  );
}

export async function deleteWorkspace(deps: GatewayDeps, workspaceId: string): Promise<void> {
  await workspacesRepo.deleteWorkspace(deps.db, workspaceId);
}

/** The tfe provider's default delete: refused while the workspace manages resources or is locked. */
export async function safeDeleteWorkspace(deps: GatewayDeps, workspaceId: string): Promise<void> {
  const deleted = await inTransaction(deps.db, async (tx) => {
    const ws = await lockedView(tx, workspaceId);
    if (ws.resourceCount > 0) throw conflict("Workspace has resources under management; destroy them or force-delete the workspace");
    if (isWorkspaceLocked(ws)) throw conflict("workspace is locked");
    return workspacesRepo.deleteWorkspace(tx, ws.id);
  });
  if (!deleted) throw notFound();
}

/** Assigns an SSH key of the workspace's organization (422 otherwise), or unassigns with null. */
export async function setWorkspaceSshKey(deps: GatewayDeps, workspace: WorkspaceView, keyId: string | null): Promise<WorkspaceView> {
  if (keyId !== null) {
    const key = await sshKeysRepo.findSshKey(deps.db, keyId);
    if (!key || key.organizationId !== workspace.organizationId) {
      throw invalidAttribute("SSH key not found in this organization", "/data/attributes/id");
    }
  }
  await sshKeysRepo.setWorkspaceSshKey(deps.db, workspace.id, keyId);
  const updated = await workspacesRepo.findWorkspaceView(deps.db, workspace.id);
  if (!updated) throw notFound();
  return updated;
}

async function lockedView(tx: Tx, workspaceId: string): Promise<WorkspaceView> {
  if (!(await lockWorkspaceForUpdate(tx, workspaceId))) throw notFound();
  const ws = await workspacesRepo.findWorkspaceView(tx, workspaceId);
  if (!ws) throw notFound();
  return ws;
}

/** Takes the manual lock for the principal (409 when anything holds the workspace), with its lock_changed event. */
export async function lockWorkspace(deps: GatewayDeps, p: Principal, workspaceId: string, reason: string | null): Promise<WorkspaceView> {
  const at = deps.now();
  const subjects = subjectsFor(deps.env.TARMAC_NATS_PREFIX);
  const requestId = newSecret(9);
  return inTransaction(deps.db, async (tx) => {
    const ws = await lockedView(tx, workspaceId);
    if (isWorkspaceLocked(ws)) throw conflict("workspace already locked");
    const userId = p.kind === "user" ? p.user.id : null;
    const teamId = p.kind === "team" ? p.team.id : null;
    await workspacesRepo.setManualLock(tx, ws.id, { reason, userId, teamId, at });
    const lockedBy: WorkspaceLockChangedEvent["lockedBy"] = userId ? { type: "users", id: userId } : teamId ? { type: "teams", id: teamId } : null;
    await enqueueOutbox(tx, outboxMessages.workspaceLockChangedMessage(subjects, { workspaceId: ws.id, locked: true, lockedBy, at, requestId }));
    return (await workspacesRepo.findWorkspaceView(tx, ws.id))!;
  });
}

/** The detail go-tfe parses to tell who holds a lock (notes §1.2). */
function lockedByText(ws: WorkspaceView): string {
  const holder = lockHolder(ws);
  if (holder?.type === "users") return `is locked by User ${ws.lockedByUser?.username ?? holder.id}`;
  if (holder?.type === "teams") return `is locked by Team ${ws.lockedByTeam?.name ?? holder.id}`;
  if (holder?.type === "runs") return `is locked by Run ${holder.id}`;
  return "is locked by Organization token";
}

function mayRelease(p: Principal, ws: WorkspaceView): boolean {
  if (ws.lockedByUserId) return p.kind === "user" && p.user.id === ws.lockedByUserId;
  if (ws.lockedByTeamId) return p.kind === "team" && p.team.id === ws.lockedByTeamId;
  return p.kind === "organization";
}

/**
 * Releases the manual lock: only its holder may, unless `force`. A pending state version keeps
 * the lock until its upload lands (`terraformVersion` words the 409 for that CLI); force-unlock
 * abandons it. Emits lock_changed, then queue_changed: a pending run may start now.
 */
export async function unlockWorkspace(
  deps: GatewayDeps,
  p: Principal,
  workspaceId: string,
  { force, terraformVersion }: { force: boolean; terraformVersion: string | undefined },
): Promise<WorkspaceView> {
  const at = deps.now();
  const subjects = subjectsFor(deps.env.TARMAC_NATS_PREFIX);
  const requestId = newSecret(9);
  return inTransaction(deps.db, async (tx) => {
    const ws = await lockedView(tx, workspaceId);
    if (!ws.locked) {
      // A run holding the queue is released by finishing, not by unlocking.
      if (holdingRunId(ws)) throw conflict(`Unable to unlock workspace. The workspace ${lockedByText(ws)}.`);
      throw conflict("Unable to unlock workspace. The workspace is not locked.");
    }
    if (!force && !mayRelease(p, ws)) {
      throw conflict(`Unable to unlock workspace. The workspace ${lockedByText(ws)}.`);
    }
    if (force) await stateVersionUploadsRepo.discardPendingStateVersions(tx, ws.id);
    else if (await stateVersionUploadsRepo.isLatestStateVersionPending(tx, ws.id)) throw statePendingError(terraformVersion);
    await workspacesRepo.setManualLock(tx, ws.id, null);
    await enqueueOutbox(tx, [
      outboxMessages.workspaceLockChangedMessage(subjects, { workspaceId: ws.id, locked: false, lockedBy: null, at, requestId }),
      outboxMessages.workspaceQueueChangedMessage(subjects, { workspaceId: ws.id, reason: force ? "force_unlocked" : "unlocked", at, requestId }),
    ]);
    return (await workspacesRepo.findWorkspaceView(tx, ws.id))!;
  });
}
