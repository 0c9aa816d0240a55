import { Router, type Request, type Response } from "express";
import { z } from "zod";
import { subjectsFor, type WorkspaceLockChangedEvent, type WorkspaceQueueChangedEvent } from "@tarmac/contracts";
import {
  enqueueOutbox,
  inTransaction,
  lockWorkspaceForUpdate,
  newSecret,
  runsRead,
  sshKeysRepo,
  teamsRepo,
  usersRepo,
  workspacesRepo,
} from "@tarmac/db";
import { conflict, notFound, type WorkspaceAccess } from "@tarmac/domain";
import { addIncluded, flattenQuery, paginate, parseInclude, parsePage, parseStringParam, type Resource } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { principalOf, type Principal } from "../http/auth";
import { invalidAttribute, jsonApiDocument, parseBody, pathParam, resourceName, withUniqueAs } from "../http/request-body";
import { sendDocument, sendEmpty } from "../http/respond";
import {
  loadOrganizationForPrincipal,
  loadWorkspaceForPrincipal,
  workspaceAccessMap,
  type LoadedWorkspace,
  type OrganizationContext,
  type WorkspaceRef,
} from "../http/workspace-access";
import { applyRelationChanges, includeProjectsAndTags, mayCreateWorkspace, parseProjectFilter, projectForCreate, relationChangesOf, tagNamesAttribute, workspaceRelationships } from "../http/workspace-relations";
import { parseTaggedFilter } from "../http/tag-input";
import { serializeOrganization } from "../serializers/organizations";
import { serializeRun } from "../serializers/runs";
import { serializeTeam } from "../serializers/teams";
import { serializeUser } from "../serializers/users";
import { holdingRunId, isWorkspaceLocked, lockHolder, serializeWorkspace } from "../serializers/workspaces";
import { stateVersionUploadsRepo } from "@tarmac/db";
import { statePendingError } from "../http/state-lock";

const NAME_MAX = 90;

// "latest", a version, or a version constraint ("~> 1.9", ">= 1.5, < 2.0"), as HCP accepts;
// anything else is a 422 rather than a workspace no run could ever plan with.
const VERSION_PART = String.raw`\s*(?:(?:=|!=|>=|<=|>|<|~>)\s*)?v?\d+(?:\.\d+){0,2}(?:-[0-9A-Za-z.-]+)?\s*`;
const TERRAFORM_VERSION = new RegExp(`^(?:latest|${VERSION_PART}(?:,${VERSION_PART})*)$`);

const workspaceAttributes = z.object({
  name: resourceName(NAME_MAX).optional(),
  description: z.string().max(4096).nullable().optional(),
  "auto-apply": z.boolean().optional(),
  "terraform-version": z.string().min(1).max(100).regex(TERRAFORM_VERSION, "Terraform version is not a valid version or version constraint").optional(),
  "working-directory": z.string().max(1024).nullable().optional(),
  "execution-mode": z.enum(["remote", "local", "agent"]).optional(),
  /** Deprecated boolean form of execution-mode. */
  operations: z.boolean().optional(),
  "speculative-enabled": z.boolean().optional(),
  "queue-all-runs": z.boolean().optional(),
  "allow-destroy-plan": z.boolean().optional(),
  "file-triggers-enabled": z.boolean().optional(),
  "trigger-prefixes": z.array(z.string().max(1024)).max(100).optional(),
  "global-remote-state": z.boolean().optional(),
  // Accepted for compatibility; Tarmac always serves plain-text logs (notes §0.12).
  "structured-run-output-enabled": z.boolean().optional(),
  "tag-names": tagNamesAttribute.optional(),
  "source-name": z.string().nullable().optional(),
  "source-url": z.string().nullable().optional(),
});

type WorkspaceAttributes = z.infer<typeof workspaceAttributes>;

const sshKeyRelationshipBody = jsonApiDocument("workspaces", z.object({ id: z.string().min(1).max(64).nullable().optional() }));

const createBody = jsonApiDocument("workspaces", workspaceAttributes.extend({ name: resourceName(NAME_MAX) }), workspaceRelationships);
const updateBody = jsonApiDocument("workspaces", workspaceAttributes, workspaceRelationships);

// go-tfe marshals WorkspaceLockOptions as {"data":{"type":"","attributes":{"reason":…}}}; the docs say {"reason":…} (notes §1.1).
const lockBody = z
  .object({
    reason: z.string().max(4096).nullable().optional(),
    data: z
      .object({
        type: z.string().optional(),
        attributes: z.object({ reason: z.string().max(4096).nullable().optional() }).optional(),
      })
      .optional(),
  })
  .nullable()
  .optional();

function settingsFrom(a: WorkspaceAttributes): workspacesRepo.WorkspaceSettings {
  const s: workspacesRepo.WorkspaceSettings = {};
  if (a.name !== undefined) s.name = a.name;
  if (a.description !== undefined) s.description = a.description;
  if (a["auto-apply"] !== undefined) s.autoApply = a["auto-apply"];
  if (a["terraform-version"] !== undefined) s.terraformVersion = a["terraform-version"];
  if (a["working-directory"] !== undefined) s.workingDirectory = a["working-directory"] || null;
  if (a.operations !== undefined) s.executionMode = a.operations ? "remote" : "local";
  if (a["execution-mode"] !== undefined) s.executionMode = a["execution-mode"];
  if (a["speculative-enabled"] !== undefined) s.speculativeEnabled = a["speculative-enabled"];
  if (a["structured-run-output-enabled"] !== undefined) s.structuredRunOutputEnabled = a["structured-run-output-enabled"];
  if (a["queue-all-runs"] !== undefined) s.queueAllRuns = a["queue-all-runs"];
  if (a["allow-destroy-plan"] !== undefined) s.allowDestroyPlan = a["allow-destroy-plan"];
  if (a["file-triggers-enabled"] !== undefined) s.fileTriggersEnabled = a["file-triggers-enabled"];
  if (a["global-remote-state"] !== undefined) s.globalRemoteState = a["global-remote-state"];
  if (a["trigger-prefixes"] !== undefined) s.triggerPrefixes = a["trigger-prefixes"];
  return s;
}

const nameTaken = () => invalidAttribute("Name has already been taken", "/data/attributes/name");

function refOf(req: Request): WorkspaceRef {
  const id = req.params.id;
  if (typeof id === "string") return id;
  return { organizationName: pathParam(req, "org"), workspaceName: pathParam(req, "name") };
}

/** Related resources for `include=` (notes §1.4); unknown values are ignored. */
async function includedFor(
  deps: GatewayDeps,
  p: Principal,
  req: Request,
  items: { workspace: workspacesRepo.WorkspaceView; access: WorkspaceAccess | null }[],
  org: OrganizationContext,
): Promise<Resource[]> {
  const include = parseInclude(req.query as Record<string, unknown>);
  const included: Resource[] = [];
  if (include.has("organization")) {
    addIncluded(included, [serializeOrganization(org.organization, { role: org.role, canManageWorkspaces: org.managesWorkspaces })]);
  }
  if (include.has("locked_by")) {
    for (const { workspace } of items) {
      const holder = lockHolder(workspace);
      if (holder?.type === "users") {
        const user = await usersRepo.findUserById(deps.db, holder.id);
        if (user) addIncluded(included, [serializeUser(user, { showEmail: p.kind === "user" && p.user.id === user.id, isSelf: p.kind === "user" && p.user.id === user.id })]);
      } else if (holder?.type === "teams") {
        const team = await teamsRepo.findTeamView(deps.db, holder.id);
        if (team) addIncluded(included, [serializeTeam(team, { canManage: org.role === "owner" })]);
      }
    }
  }
  const runIds = new Set<string>();
  for (const { workspace } of items) {
    if (include.has("current_run") && workspace.currentRunId) runIds.add(workspace.currentRunId);
    const holder = lockHolder(workspace);
    if (include.has("locked_by") && holder?.type === "runs") runIds.add(holder.id);
  }
  if (runIds.size > 0) {
    const runs = (await Promise.all([...runIds].map((id) => runsRead.findRun(deps.db, id)))).filter(
      (r): r is runsRead.RunRow => r !== null,
    );
    const extras = await runsRead.loadRunExtras(deps.db, runs);
    for (const run of runs) {
      const access = items.find((i) => i.workspace.id === run.workspaceId)?.access ?? null;
      const ex = extras.get(run.id);
      if (ex) addIncluded(included, [serializeRun(run, ex, { access, tokenKind: p.kind, now: deps.now() })]);
    }
  }
  return included;
}

async function sendWorkspace(deps: GatewayDeps, req: Request, res: Response, status: number, loaded: LoadedWorkspace) {
  const p = principalOf(req);
  const included = await includedFor(deps, p, req, [loaded], loaded.organization);
  const data = serializeWorkspace(loaded.workspace, { access: loaded.access, tokenKind: p.kind });
  await includeProjectsAndTags(deps, req, loaded.organization, [data], included);
  sendDocument(res, status, { data, ...(included.length > 0 ? { included } : {}) });
}

function lockChangedEvent(deps: GatewayDeps, workspaceId: string, locked: boolean, lockedBy: WorkspaceLockChangedEvent["lockedBy"], at: Date) {
  const subjects = subjectsFor(deps.env.TARMAC_NATS_PREFIX);
  const payload: WorkspaceLockChangedEvent = { type: "workspace.lock_changed", workspaceId, locked, lockedBy, at: at.toISOString() };
  return { subject: subjects.workspaceLockChanged(workspaceId), payload, msgId: `workspace-lock:${workspaceId}:${newSecret(9)}` };
}

function queueChangedEvent(deps: GatewayDeps, workspaceId: string, reason: string, at: Date) {
  const subjects = subjectsFor(deps.env.TARMAC_NATS_PREFIX);
  const payload: WorkspaceQueueChangedEvent = { type: "workspace.queue_changed", workspaceId, reason, at: at.toISOString() };
  return { subject: subjects.workspaceQueueChanged(workspaceId), payload, msgId: `workspace-queue:${workspaceId}:${newSecret(9)}` };
}

/** The detail go-tfe parses to tell who holds a lock (notes §1.2). */
function lockedByText(ws: workspacesRepo.WorkspaceView): string {
  const holder = lockHolder(ws);
  if (holder?.type === "users") return `is locked by User ${ws.lockedByUser?.username ?? holder.id}`;
  if (holder?.type === "teams") return `is locked by Team ${ws.lockedByTeam?.name ?? holder.id}`;
  if (holder?.type === "runs") return `is locked by Run ${holder.id}`;
  return "is locked by Organization token";
}

function mayRelease(p: Principal, ws: workspacesRepo.WorkspaceView): boolean {
  if (ws.lockedByUserId) return p.kind === "user" && p.user.id === ws.lockedByUserId;
  if (ws.lockedByTeamId) return p.kind === "team" && p.team.id === ws.lockedByTeamId;
  return p.kind === "organization";
}

export function workspacesRouter(deps: GatewayDeps): Router {
  const r = Router();

  r.post("/organizations/:org/workspaces", async (req, res) => {
    const p = principalOf(req);
    const ctx = await loadOrganizationForPrincipal(deps, p, pathParam(req, "org"));
    const body = parseBody(createBody, req.body).data;
    const attrs = body.attributes;
    const changes = relationChangesOf(attrs["tag-names"], body.relationships);
    if (!(await mayCreateWorkspace(deps, ctx, changes))) throw notFound();
    const workspace = await withUniqueAs(
      () =>
        inTransaction(deps.db, async (tx) => {
          if (await workspacesRepo.isWorkspaceNameTaken(tx, ctx.organization.id, attrs.name)) throw nameTaken();
          const projectId = await projectForCreate(tx, ctx, changes);
          const created = await workspacesRepo.createWorkspace(tx, ctx.organization.id, { ...settingsFrom(attrs), name: attrs.name, projectId });
          await applyRelationChanges(tx, ctx, created.id, { ...changes, projectId: undefined });
          return (await workspacesRepo.findWorkspaceView(tx, created.id)) ?? created;
        }),
      nameTaken,
    );
    const access = ctx.managesWorkspaces ? "admin" : ((await workspaceAccessMap(deps.db, ctx, [workspace.id])).get(workspace.id) ?? "read");
    await sendWorkspace(deps, req, res, 201, { workspace, access, organization: ctx });
  });

  r.get("/organizations/:org/workspaces", async (req, res) => {
    const p = principalOf(req);
    const orgName = pathParam(req, "org");
    const ctx = await loadOrganizationForPrincipal(deps, p, orgName);
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const name = parseStringParam(query, "search", "name");
    const wildcard = parseStringParam(query, "search", "wildcard-name");
    const tags = parseStringParam(query, "search", "tags");
    const excludeTags = parseStringParam(query, "search", "exclude-tags");
    const tagged = parseTaggedFilter(query);
    const projectId = parseProjectFilter(query);
    const splitTags = (s: string | undefined) => s?.split(",").map((t) => t.trim().toLowerCase()).filter(Boolean);
    const allVisible = ctx.role === "owner" || ctx.managesWorkspaces;
    const { items, total } = await workspacesRepo.listWorkspaceViews(deps.db, {
      organizationId: ctx.organization.id,
      ...(allVisible ? {} : { teamIds: ctx.teamIds }),
      ...(name ? { nameContains: name } : {}),
      ...(wildcard ? { wildcardName: wildcard } : {}),
      ...(tags ? { tags: splitTags(tags)! } : {}),
      ...(excludeTags ? { excludeTags: splitTags(excludeTags)! } : {}),
      ...(tagged.length > 0 ? { tagged } : {}),
      ...(projectId ? { projectId } : {}),
      offset: page.offset,
      limit: page.size,
    });
    const access = await workspaceAccessMap(deps.db, ctx, items.map((w) => w.id));
    const rows = items.map((w) => ({ workspace: w, access: access.get(w.id) ?? null }));
    const included = await includedFor(deps, p, req, rows, ctx);
    const data = rows.map((row) => serializeWorkspace(row.workspace, { access: row.access, tokenKind: p.kind }));
    await includeProjectsAndTags(deps, req, ctx, data, included);
    sendDocument(res, 200, {
      data,
      ...(included.length > 0 ? { included } : {}),
      ...paginate(page, total, `${deps.publicUrl}/api/v2/organizations/${encodeURIComponent(orgName)}/workspaces`, flattenQuery(query)),
    });
  });

  const show = async (req: Request, res: Response) => {
    const loaded = await loadWorkspaceForPrincipal(deps, principalOf(req), refOf(req));
    await sendWorkspace(deps, req, res, 200, loaded);
  };

  const update = async (req: Request, res: Response) => {
    const p = principalOf(req);
    const loaded = await loadWorkspaceForPrincipal(deps, p, refOf(req), "admin");
    const body = parseBody(updateBody, req.body).data;
    const settings = settingsFrom(body.attributes);
    const changes = relationChangesOf(body.attributes["tag-names"], body.relationships);
    const ws = loaded.workspace;
    const workspace = await withUniqueAs(
      () =>
        inTransaction(deps.db, async (tx) => {
          if (settings.name !== undefined && (await workspacesRepo.isWorkspaceNameTaken(tx, ws.organizationId, settings.name, ws.id))) {
            throw nameTaken();
          }
          await applyRelationChanges(tx, loaded.organization, ws.id, changes);
          return workspacesRepo.updateWorkspace(tx, ws.id, settings);
        }),
      nameTaken,
    );
    await sendWorkspace(deps, req, res, 200, { ...loaded, workspace });
  };

  const destroy = async (req: Request, res: Response) => {
    const loaded = await loadWorkspaceForPrincipal(deps, principalOf(req), refOf(req), "admin");
    await workspacesRepo.deleteWorkspace(deps.db, loaded.workspace.id);
    sendEmpty(res, 204);
  };

  // The tfe provider deletes through safe-delete by default: refused while the workspace manages resources.
  const safeDestroy = async (req: Request, res: Response) => {
    const loaded = await loadWorkspaceForPrincipal(deps, principalOf(req), refOf(req), "admin");
    const deleted = await inTransaction(deps.db, async (tx) => {
      if (!(await lockWorkspaceForUpdate(tx, loaded.workspace.id))) throw notFound();
      const ws = await workspacesRepo.findWorkspaceView(tx, loaded.workspace.id);
      if (!ws) throw notFound();
      if (ws.resourceCount > 0) throw conflict("Workspace has resources under management; destroy them or force-delete the workspace");
      if (isWorkspaceLocked(ws)) throw conflict("workspace is locked");
      return workspacesRepo.deleteWorkspace(tx, ws.id);
    });
    if (!deleted) throw notFound();
    sendEmpty(res, 204);
  };

  r.post("/workspaces/:id/actions/safe-delete", safeDestroy);
  r.post("/organizations/:org/workspaces/:name/actions/safe-delete", safeDestroy);
  r.get("/organizations/:org/workspaces/:name", show);
  r.get("/workspaces/:id", show);
  r.patch("/organizations/:org/workspaces/:name", update);
  r.patch("/workspaces/:id", update);
  r.delete("/organizations/:org/workspaces/:name", destroy);
  r.delete("/workspaces/:id", destroy);

  // Locking (notes §5.2, §5.3). Decisions run under the workspace row lock, with the outbox event in the same transaction.

  // go-tfe assigns with {"data":{"type":"workspaces","attributes":{"id":"sshkey-…"}}} and unassigns with id null.
  r.patch("/workspaces/:id/relationships/ssh-key", async (req, res) => {
    const p = principalOf(req);
    const loaded = await loadWorkspaceForPrincipal(deps, p, pathParam(req, "id"), "admin");
    const keyId = parseBody(sshKeyRelationshipBody, req.body).data.attributes.id ?? null;
    if (keyId !== null) {
      const key = await sshKeysRepo.findSshKey(deps.db, keyId);
      if (!key || key.organizationId !== loaded.workspace.organizationId) {
        throw invalidAttribute("SSH key not found in this organization", "/data/attributes/id");
      }
    }
    await sshKeysRepo.setWorkspaceSshKey(deps.db, loaded.workspace.id, keyId);
    const workspace = await workspacesRepo.findWorkspaceView(deps.db, loaded.workspace.id);
    if (!workspace) throw notFound();
    await sendWorkspace(deps, req, res, 200, { ...loaded, workspace });
  });

  r.post("/workspaces/:id/actions/lock", async (req, res) => {
    const p = principalOf(req);
    const loaded = await loadWorkspaceForPrincipal(deps, p, pathParam(req, "id"), "write");
    const body = parseBody(lockBody, req.body);
    const reason = body?.reason ?? body?.data?.attributes?.reason ?? null;
    const at = deps.now();
    const workspace = await inTransaction(deps.db, async (tx) => {
      if (!(await lockWorkspaceForUpdate(tx, loaded.workspace.id))) throw notFound();
      const ws = await workspacesRepo.findWorkspaceView(tx, loaded.workspace.id);
      if (!ws) throw notFound();
      if (isWorkspaceLocked(ws)) throw conflict("workspace already locked");
      const userId = p.kind === "user" ? p.user.id : null;
      const teamId = p.kind === "team" ? p.team.id : null;
      await workspacesRepo.setManualLock(tx, ws.id, { reason, userId, teamId, at });
      const lockedBy = userId ? { type: "users" as const, id: userId } : teamId ? { type: "teams" as const, id: teamId } : null;
      await enqueueOutbox(tx, lockChangedEvent(deps, ws.id, true, lockedBy, at));
      return (await workspacesRepo.findWorkspaceView(tx, ws.id))!;
    });
    await sendWorkspace(deps, req, res, 200, { ...loaded, workspace });
  });

  const release = (force: boolean) => async (req: Request, res: Response) => {
    const p = principalOf(req);
    const loaded = await loadWorkspaceForPrincipal(deps, p, pathParam(req, "id"), force ? "admin" : "write");
    const at = deps.now();
    const workspace = await inTransaction(deps.db, async (tx) => {
      if (!(await lockWorkspaceForUpdate(tx, loaded.workspace.id))) throw notFound();
      const ws = await workspacesRepo.findWorkspaceView(tx, loaded.workspace.id);
      if (!ws) throw notFound();
      if (!ws.locked) {
        // A run holding the queue is released by finishing, not by unlocking.
        if (holdingRunId(ws)) throw conflict(`Unable to unlock workspace. The workspace ${lockedByText(ws)}.`);
        throw conflict("Unable to unlock workspace. The workspace is not locked.");
      }
      if (!force && !mayRelease(p, ws)) {
        throw conflict(`Unable to unlock workspace. The workspace ${lockedByText(ws)}.`);
      }
      // A pending state version keeps the lock until its upload lands; force-unlock abandons it.
      if (force) await stateVersionUploadsRepo.discardPendingStateVersions(tx, ws.id);
      else if (await stateVersionUploadsRepo.isLatestStateVersionPending(tx, ws.id)) throw statePendingError(req.get("Terraform-Version"));
      await workspacesRepo.setManualLock(tx, ws.id, null);
      await enqueueOutbox(tx, [
        lockChangedEvent(deps, ws.id, false, null, at),
        // A pending run may start now that the manual lock is gone.
        queueChangedEvent(deps, ws.id, force ? "force_unlocked" : "unlocked", at),
      ]);
      return (await workspacesRepo.findWorkspaceView(tx, ws.id))!;
    });
    await sendWorkspace(deps, req, res, 200, { ...loaded, workspace });
  };

  r.post("/workspaces/:id/actions/unlock", release(false));
  r.post("/workspaces/:id/actions/force-unlock", release(true));

  return r;
}
