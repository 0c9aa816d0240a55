import { injectTraceContext } from "@tarmac/telemetry";
import { Router, type Request, type Response } from "express";
import { z } from "zod";
import { subjectsFor } from "@tarmac/contracts";
import { inTransaction, runsRead, runsWrite, type Tx, type UserModel, type WorkspaceModel } from "@tarmac/db";
import {
  accessAtLeast,
  canApplyRuns,
  isId,
  newId,
  notFound,
  runOperation,
  TarmacError,
  unprocessable,
  type TokenKind,
  type WorkspaceAccess,
} from "@tarmac/domain";
import { addIncluded, flattenQuery, paginate, parseInclude, parsePage, type Resource } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { principalOf, refuseOrganizationToken, type Principal } from "../http/auth";
import { checkHclLiteral } from "@tarmac/terraform";
import { sendDocument } from "../http/respond";
import { loadWorkspaceRowForPrincipal, workspaceAccessOf } from "../http/workspace-access";
import { serializeApply } from "../serializers/applies";
import { serializeCostEstimate } from "../serializers/cost-estimates";
import { serializePlan } from "../serializers/plans";
import { serializeConfigurationVersion } from "../serializers/configuration-versions";
import { serializeRun, type RunRow } from "../serializers/runs";
import { serializeUser } from "../serializers/users";
import { serializeWorkspace } from "../serializers/workspaces";
import { taskStagesOfRuns } from "../services/run-tasks";

/** The run's workspace is only its identity: the run document and the access check need no more. */
export type RunContext = { run: RunRow; workspace: { id: string; organizationId: string }; access: WorkspaceAccess };

/**
 * A run the principal may see with at least `minimum` access on its workspace. Anything else is a
 * 404, exactly like a missing run (notes §1.2).
 */
export async function loadRunForPrincipal(
  deps: Pick<GatewayDeps, "db">,
  principal: Principal,
  runId: string,
  minimum: WorkspaceAccess = "read",
  tx?: Tx,
): Promise<RunContext> {
  // Ids that could not have been minted never reach the database (a NUL byte would make it fail).
  if (!isId("run", runId)) throw notFound("run not found");
  const run = await runsRead.findRun(tx ?? deps.db, runId);
  if (!run) throw notFound("run not found");
  const workspace = { id: run.workspaceId, organizationId: run.organizationId };
  const access = await workspaceAccessOf(tx ?? deps.db, principal, workspace);
  if (access === null || !accessAtLeast(access, minimum)) throw notFound("run not found");
  return { run, workspace, access };
}

export function tokenKindOf(p: Principal): TokenKind {
  return p.kind;
}

/** Users as the principal may see them: the email only to themself and to site admins. */
export function serializeUserFor(principal: Principal) {
  const selfId = principal.kind === "user" ? principal.user.id : null;
  const isSiteAdmin = principal.kind === "user" && principal.user.isSiteAdmin;
  return (user: UserModel) => serializeUser(user, { showEmail: isSiteAdmin || user.id === selfId, isSelf: user.id === selfId });
}

/** Include paths a run accepts; anything else is ignored, never a 400 (notes §0.3). */
function wants(include: Set<string>, path: string): boolean {
  if (include.has(path)) return true;
  for (const i of include) if (i.startsWith(`${path}.`)) return true;
  return false;
}

export interface RunDocumentOptions {
  include: Set<string>;
  principal: Principal;
  /** Access on each run's workspace (permissions, and the workspace include). */
  accessOf: (run: RunRow) => WorkspaceAccess | null;
  /** The organization queue reports its own positions. */
  positions?: Map<string, number>;
}

/**
 * Serializes a page of runs with their `included` resources. Everything is loaded in batched
 * queries (a fixed number per page, never per run).
 */
export async function buildRunDocuments(
  deps: GatewayDeps,
  runs: readonly RunRow[],
  opts: RunDocumentOptions,
): Promise<{ data: Resource[]; included: Resource[] }> {
  const db = deps.db;
  const now = deps.now();
  const tokenKind = tokenKindOf(opts.principal);
  const extras = await runsRead.loadRunExtras(db, runs);
  const data = runs.map((run) => {
    const e = extras.get(run.id)!;
    const positionInQueue = opts.positions ? (opts.positions.get(run.id) ?? 0) : e.positionInQueue;
    return serializeRun(run, { ...e, positionInQueue }, { access: opts.accessOf(run), tokenKind, now });
  });
  const included: Resource[] = [];
  const { include } = opts;
  if (runs.length === 0) return { data, included };
  // The CLI reads the run's stages right after creating it (`?include=task_stages`) and waits on them.
  const stages = await taskStagesOfRuns(deps, opts.principal, runs, wants(include, "task_stages"));
  for (const resource of data) {
    const ids = stages.idsByRun.get(resource.id) ?? [];
    const relationship = resource.relationships?.["task-stages"];
    if (relationship && ids.length > 0) relationship.data = ids.map((id) => ({ type: "task-stages", id }));
  }
  addIncluded(included, stages.included);
  if (include.size === 0) return { data, included };
  const runIds = runs.map((r) => r.id);
  const phaseCtx = { publicUrl: deps.publicUrl, keys: deps.keys, now: deps.now };
  if (wants(include, "plan") || wants(include, "apply")) {
    const { plans, applies } = await runsRead.findPlansAndApplies(db, runIds);
    if (wants(include, "plan")) addIncluded(included, plans.map((p) => serializePlan(p, phaseCtx)));
    if (wants(include, "apply")) {
      const svs = await runsRead.stateVersionIdsByRun(db, runIds);
      addIncluded(included, applies.map((a) => serializeApply(a, svs.get(a.runId) ?? [], phaseCtx)));
    }
  }
  if (wants(include, "created_by")) {
    const users = await runsRead.findUsers(db, runs.map((r) => r.createdById));
    addIncluded(included, users.map(serializeUserFor(opts.principal)));
  }
  if (wants(include, "cost_estimate")) {
    const estimates = await runsRead.findCostEstimates(db, runIds);
    addIncluded(included, estimates.map(serializeCostEstimate));
  }
  if (wants(include, "configuration_version")) {
    const cvs = await runsRead.findConfigurationVersions(db, runs.map((r) => r.configurationVersionId));
    addIncluded(included, cvs.map((cv) => serializeConfigurationVersion(cv)));
  }
  if (wants(include, "workspace")) {
    const views = await runsRead.findWorkspaceViews(db, runs.map((r) => r.workspaceId));
    const accessByWorkspace = new Map(runs.map((r) => [r.workspaceId, opts.accessOf(r)]));
    addIncluded(
      included,
      views.map((ws) => serializeWorkspace(ws, { access: accessByWorkspace.get(ws.id) ?? null, tokenKind })),
    );
  }
  // tf_policy_evaluations and configuration_version.ingress_attributes have nothing to include.
  return { data, included };
}

export async function sendRun(deps: GatewayDeps, req: Request, res: Response, status: number, ctx: RunContext): Promise<void> {
  const principal = principalOf(req);
  const { data, included } = await buildRunDocuments(deps, [ctx.run], {
    include: parseInclude(req.query as Record<string, unknown>),
    principal,
    accessOf: () => ctx.access,
  });
  sendDocument(res, status, { data: data[0], ...(included.length > 0 ? { included } : {}) });
}

// ---------------------------------------------------------------- create

const optBool = z.boolean().nullable().optional();
const addrs = z.array(z.string().min(1)).nullable().optional();

const createRunBody = z.object({
  data: z.object({
    type: z.literal("runs").optional(),
    attributes: z
      .object({
        "allow-empty-apply": optBool,
        "allow-config-generation": optBool,
        "auto-apply": optBool,
        "debugging-mode": optBool,
        "is-destroy": optBool,
        message: z.string().nullable().optional(),
        refresh: optBool,
        "refresh-only": optBool,
        "replace-addrs": addrs,
        "target-addrs": addrs,
        "invoke-action-addrs": addrs,
        "policy-paths": addrs,
        variables: z.array(z.object({ key: z.string().min(1), value: z.string() })).nullable().optional(),
        "plan-only": optBool,
        "save-plan": optBool,
        "terraform-version": z
          .string()
          .regex(/^(latest|\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?)$/, "must be a Terraform version such as 1.9.4")
          .nullable()
          .optional(),
      })
      .nullable()
      .optional(),
    relationships: z.object({
      workspace: z.object({ data: z.object({ type: z.literal("workspaces").optional(), id: z.string().min(1) }) }),
      "configuration-version": z
        .object({
          data: z.object({ type: z.literal("configuration-versions").optional(), id: z.string().min(1) }).nullable().optional(),
        })
        .nullable()
        .optional(),
    }),
  }),
});

export type CreateRunAttributes = NonNullable<z.infer<typeof createRunBody>["data"]["attributes"]>;

function pointerOf(path: readonly PropertyKey[]): string {
  // A body that is not even an object is missing its primary data.
  if (path.length === 0) return "/data";
  return "/" + path.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/");
}

/** The first zod issue as a 422 with a JSON pointer into the body. */
export function zodToUnprocessable(error: z.ZodError): TarmacError {
  const issue = error.issues[0];
  const pointer = issue ? pointerOf(issue.path) : "/data";
  return unprocessable(issue ? `${pointer}: ${issue.message}` : "malformed request body", { pointer });
}

function parseCreateBody(body: unknown): z.infer<typeof createRunBody> {
  const parsed = createRunBody.safeParse(body);
  if (!parsed.success) throw zodToUnprocessable(parsed.error);
  const vars = parsed.data.data.attributes?.variables ?? [];
  vars.forEach((v, i) => {
    const check = checkHclLiteral(v.value);
    if (!check.ok) {
      throw unprocessable(`variable "${v.key}" is not an HCL literal: ${check.reason}`, {
        pointer: `/data/attributes/variables/${i}/value`,
      });
    }
  });
  return parsed.data;
}

export interface RunConfigurationVersion {
  id: string;
  status: string;
  speculative: boolean;
}

export interface NewRunInput {
  workspace: Pick<WorkspaceModel, "id" | "organizationId" | "autoApply" | "terraformVersion" | "allowDestroyPlan">;
  /** Must belong to the workspace's organization (a configuration version of another workspace is a promotion). */
  configurationVersion: RunConfigurationVersion;
  attributes: CreateRunAttributes;
  createdById: string | null;
  /**
   * Whether whoever queues the run may apply runs: only then does auto-apply take effect
   * (notes §7.2). Defaults to true (runs queued by the system, e.g. by an upload).
   */
  queuedWithApplyPermission?: boolean;
  /** "tfe-api" unless given ("tfe-configuration-version" for runs queued by an upload). */
  source?: string;
}

/**
 * A run's row, with the reference's defaults, from validated attributes: 422 when the
 * configuration version is not uploaded, is-destroy meets refresh-only, or terraform-version is
 * set on a run that is not plan-only. Write it with `runsWrite.createRun` in a transaction.
 */
export function buildNewRun(input: NewRunInput): runsWrite.NewRun {
  const { workspace, configurationVersion: cv, attributes: a } = input;
  if (cv.status !== "uploaded") {
    throw unprocessable(`Configuration version is ${cv.status}, not uploaded`, {
      pointer: "/data/relationships/configuration-version/data/id",
    });
  }
  if (a["is-destroy"] && !workspace.allowDestroyPlan) {
    throw unprocessable("The workspace does not allow destroy plans (allow-destroy-plan is false)", {
      pointer: "/data/attributes/is-destroy",
    });
  }
  if (a["is-destroy"] && a["refresh-only"]) {
    throw unprocessable("is-destroy and refresh-only are mutually exclusive", { pointer: "/data/attributes/refresh-only" });
  }
  const planOnly = a["plan-only"] ?? cv.speculative;
  if (a["terraform-version"] && !planOnly) {
    throw unprocessable("terraform-version can only be set on plan-only runs", {
      pointer: "/data/attributes/terraform-version",
    });
  }
  const facts = {
    planOnly,
    savePlan: a["save-plan"] ?? false,
    refreshOnly: a["refresh-only"] ?? false,
    isDestroy: a["is-destroy"] ?? false,
    allowEmptyApply: a["allow-empty-apply"] ?? false,
  };
  return {
    id: newId("run"),
    organizationId: workspace.organizationId,
    workspaceId: workspace.id,
    configurationVersionId: cv.id,
    createdById: input.createdById,
    operation: runOperation(facts),
    source: input.source ?? "tfe-api",
    message: a.message ?? "Queued manually via the Terraform Enterprise API",
    ...facts,
    refresh: a.refresh ?? true,
    // A run queued by someone who cannot apply never applies by itself (notes §7.2).
    autoApply: (a["auto-apply"] ?? workspace.autoApply) && (input.queuedWithApplyPermission ?? true),
    allowConfigGeneration: a["allow-config-generation"] ?? false,
    debuggingMode: a["debugging-mode"] ?? false,
    terraformVersion: a["terraform-version"] ?? workspace.terraformVersion,
    targetAddrs: a["target-addrs"] ?? [],
    replaceAddrs: a["replace-addrs"] ?? [],
    variables: a.variables ?? [],
  };
}

export interface QueueRunInput extends Omit<NewRunInput, "configurationVersion" | "workspace"> {
  workspace: NewRunInput["workspace"] & Pick<WorkspaceModel, "latestConfigurationVersionId">;
  /** Undefined: the workspace's latest configuration version. */
  configurationVersionId?: string;
}

/**
 * Resolves the configuration version, then writes the run with its plan, apply, `created` run
 * event and run.created outbox event in one transaction. The scheduler takes it from there.
 */
export async function queueRun(deps: GatewayDeps, input: QueueRunInput): Promise<RunRow> {
  const cvId = input.configurationVersionId ?? input.workspace.latestConfigurationVersionId;
  if (!cvId) throw unprocessable("Configuration version is missing", { pointer: "/data/relationships/configuration-version" });
  const cv = await runsRead.findConfigurationVersion(deps.db, cvId);
  if (!cv || cv.organizationId !== input.workspace.organizationId) throw notFound("configuration version not found");
  const run = buildNewRun({ ...input, configurationVersion: cv });
  const subjects = subjectsFor(deps.env.TARMAC_NATS_PREFIX);
  // The outbox row carries the request's trace context: the scheduler's handling, the job and the
  // worker's terraform commands all continue this request's trace.
  const headers = injectTraceContext({});
  return inTransaction(deps.db, (tx) => runsWrite.createRun(tx, run, deps.now(), subjects, newId("re"), headers));
}

export function runsRouter(deps: GatewayDeps): Router {
  const router = Router();

  router.post("/runs", async (req, res) => {
    const principal = principalOf(req);
    refuseOrganizationToken(principal);
    const body = parseCreateBody(req.body);
    const { workspace, access } = await loadWorkspaceRowForPrincipal(deps, principal, body.data.relationships.workspace.data.id, "plan");
    const cvData = body.data.relationships["configuration-version"]?.data ?? null;
    const run = await queueRun(deps, {
      workspace,
      ...(cvData ? { configurationVersionId: cvData.id } : {}),
      attributes: body.data.attributes ?? {},
      createdById: principal.kind === "user" ? principal.user.id : null,
      queuedWithApplyPermission: canApplyRuns(access),
    });
    await sendRun(deps, req, res, 201, { run, workspace, access });
  });

  router.get("/runs/:id", async (req, res) => {
    const ctx = await loadRunForPrincipal(deps, principalOf(req), req.params.id);
    await sendRun(deps, req, res, 200, ctx);
  });

  // Policy checks are not run: the list is empty, which keeps the CLI from polling (notes §0.10).
  router.get("/runs/:id/policy-checks", async (req, res) => {
    const { run } = await loadRunForPrincipal(deps, principalOf(req), String(req.params.id));
    const query = req.query as Record<string, unknown>;
    const page = parsePage(query);
    const { meta, links } = paginate(page, 0, `${deps.publicUrl}/api/v2/runs/${run.id}/policy-checks`, flattenQuery(query));
    sendDocument(res, 200, { data: [], links, meta });
  });

  return router;
}
