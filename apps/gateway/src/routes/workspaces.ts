import { Router, type Request, type Response } from "express";
import { z } from "zod";
import { runsRead, teamsRepo, usersRepo, workspacesRepo } from "@tarmac/db";
import { notFound, tokenKindOfStanding, type WorkspaceAccess } from "@tarmac/domain";
import { addIncluded, flattenQuery, paginate, parseInclude, parsePage, parseStringParam, type Resource } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { principalOf, type Principal } from "../http/auth";
import { jsonApiDocument, parseBody, resourceName } from "../http/request-body";
import { guards, organizationOf, workspaceOf } from "../http/requires";
import { sendDocument, sendEmpty } from "../http/respond";
import { workspaceAccessMap, type LoadedWorkspace, type OrganizationContext } from "../http/workspace-access";
import { includeProjectsAndTags, mayCreateWorkspace, parseProjectFilter, relationChangesOf, tagNamesAttribute, workspaceRelationships } from "../http/workspace-relations";
import { parseTaggedFilter } from "../http/tag-input";
import { serializeOrganization } from "../serializers/organizations";
import { serializeRun } from "../serializers/runs";
import { serializeTeam } from "../serializers/teams";
import { serializeUser } from "../serializers/users";
import { lockHolder, serializeWorkspace } from "../serializers/workspaces";
import type { ExecutionRequest } from "../services/agent-pools";
import * as workspaces from "../services/workspaces";

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
  /** go-tfe's WorkspaceCreateOptions/UpdateOptions `AgentPoolID`: required with execution-mode agent. */
  "agent-pool-id": z.string().min(1).max(64).nullable().optional(),
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

/**
 * The execution mode and agent pool a body asks for, checked by the service against the
 * workspace: the `agent-pool-id` attribute (go-tfe) or the `agent-pool` relationship.
 */
function executionFrom(a: WorkspaceAttributes, relationships: z.infer<typeof workspaceRelationships>): ExecutionRequest {
  const out: ExecutionRequest = {};
  const mode = a["execution-mode"] ?? (a.operations === undefined ? undefined : a.operations ? "remote" : "local");
  if (mode !== undefined) out.executionMode = mode;
  const relation = relationships?.["agent-pool"];
  if (a["agent-pool-id"] !== undefined) {
    out.agentPoolId = a["agent-pool-id"];
    out.agentPoolPointer = "/data/attributes/agent-pool-id";
  } else if (relation !== undefined) {
    out.agentPoolId = relation.data?.id ?? null;
    out.agentPoolPointer = "/data/relationships/agent-pool/data/id";
  }
  return out;
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
    addIncluded(included, [serializeOrganization(org.organization, { role: org.role, canManageWorkspaces: org.managesWorkspaces, canManageRunTasks: org.managesRunTasks === true, tokenKind: tokenKindOfStanding(org.standing) })]);
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

export function workspacesRouter(deps: GatewayDeps): Router {
  const r = Router();
  const requires = guards(deps);

  r.post("/organizations/:org/workspaces", requires("organization", "member"), async (req, res) => {
    const ctx = organizationOf(res);
    const body = parseBody(createBody, req.body).data;
    const attrs = body.attributes;
    const changes = relationChangesOf(attrs["tag-names"], body.relationships);
    if (!(await mayCreateWorkspace(deps, ctx, changes))) throw notFound();
    const execution = executionFrom(attrs, body.relationships);
    const created = await workspaces.createWorkspace(deps, ctx, { ...settingsFrom(attrs), name: attrs.name }, changes, execution);
    await sendWorkspace(deps, req, res, 201, { ...created, organization: ctx });
  });

  r.get("/organizations/:org/workspaces", requires("organization", "member"), async (req, res) => {
    const p = principalOf(req);
    const ctx = organizationOf(res);
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
    const orgName = ctx.organization.name;
    sendDocument(res, 200, {
      data,
      ...(included.length > 0 ? { included } : {}),
      ...paginate(page, total, `${deps.publicUrl}/api/v2/organizations/${encodeURIComponent(orgName)}/workspaces`, flattenQuery(query)),
    });
  });

  const show = async (req: Request, res: Response) => {
    await sendWorkspace(deps, req, res, 200, workspaceOf(res));
  };

  const update = async (req: Request, res: Response) => {
    const loaded = workspaceOf(res);
    const body = parseBody(updateBody, req.body).data;
    const changes = relationChangesOf(body.attributes["tag-names"], body.relationships);
    const execution = executionFrom(body.attributes, body.relationships);
    const workspace = await workspaces.updateWorkspace(deps, loaded, settingsFrom(body.attributes), changes, execution);
    await sendWorkspace(deps, req, res, 200, { ...loaded, workspace });
  };

  const destroy = async (_req: Request, res: Response) => {
    await workspaces.deleteWorkspace(deps, workspaceOf(res).workspace.id);
    sendEmpty(res, 204);
  };

  // The tfe provider deletes through safe-delete by default: refused while the workspace manages resources.
  const safeDestroy = async (_req: Request, res: Response) => {
    await workspaces.safeDeleteWorkspace(deps, workspaceOf(res).workspace.id);
    sendEmpty(res, 204);
  };

  for (const path of ["/workspaces/:id", "/organizations/:org/workspaces/:name"]) {
    r.post(`${path}/actions/safe-delete`, requires("workspace", "can-destroy"), safeDestroy);
    r.get(path, requires("workspace", "can-read-settings"), show);
    r.patch(path, requires("workspace", "can-update"), update);
    r.delete(path, requires("workspace", "can-destroy"), destroy);
  }

  // go-tfe assigns with {"data":{"type":"workspaces","attributes":{"id":"sshkey-…"}}} and unassigns with id null.
  r.patch("/workspaces/:id/relationships/ssh-key", requires("workspace", "can-update"), async (req, res) => {
    const loaded = workspaceOf(res);
    const keyId = parseBody(sshKeyRelationshipBody, req.body).data.attributes.id ?? null;
    const workspace = await workspaces.setWorkspaceSshKey(deps, loaded.workspace, keyId);
    await sendWorkspace(deps, req, res, 200, { ...loaded, workspace });
  });

  // Locking (notes §5.2, §5.3): decided under the workspace row lock, with the outbox event in the same transaction.
  r.post("/workspaces/:id/actions/lock", requires("workspace", "can-lock"), async (req, res) => {
    const loaded = workspaceOf(res);
    const body = parseBody(lockBody, req.body);
    const reason = body?.reason ?? body?.data?.attributes?.reason ?? null;
    const workspace = await workspaces.lockWorkspace(deps, principalOf(req), loaded.workspace.id, reason);
    await sendWorkspace(deps, req, res, 200, { ...loaded, workspace });
  });

  const release = (force: boolean) => async (req: Request, res: Response) => {
    const loaded = workspaceOf(res);
    const terraformVersion = req.get("Terraform-Version");
    const workspace = await workspaces.unlockWorkspace(deps, principalOf(req), loaded.workspace.id, { force, terraformVersion });
    await sendWorkspace(deps, req, res, 200, { ...loaded, workspace });
  };

  r.post("/workspaces/:id/actions/unlock", requires("workspace", "can-unlock"), release(false));
  r.post("/workspaces/:id/actions/force-unlock", requires("workspace", "can-force-unlock"), release(true));

  return r;
}
