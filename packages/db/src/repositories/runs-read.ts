import type { Phase } from "@tarmac/domain";
import { queryRows, type Db, type Tx } from "../client";
import { Prisma } from "../generated/prisma/client";
import type {
  ApplyModel,
  ConfigurationVersionModel,
  CostEstimateModel,
  PlanModel,
  RunModel,
  UserModel,
  WorkspaceModel,
} from "../generated/prisma/models";
import { runsAheadCondition } from "./queue-position";
import { workspaceViewInclude, type WorkspaceView } from "./workspaces";

/**
 * Reads behind the Runs API: one run, the facts its document needs for a page of
 * runs (batched, never one query per run), its plan and apply, and log bytes.
 */

export type RunRow = RunModel;

/** What a run document shows beyond the run row itself. */
export interface RunExtras {
  costEstimateId: string | null;
  eventIds: string[];
  commentIds: string[];
  /** Live: unfinished non-speculative runs ahead of a pending run in its workspace; 0 otherwise. */
  positionInQueue: number;
}

/** Every column of `runs` under its model field's name: raw statements return RunRow as Prisma would. */
const RUN_FIELDS: Record<keyof RunRow, string> = {
  id: "id",
  seq: "seq",
  organizationId: "organization_id",
  workspaceId: "workspace_id",
  configurationVersionId: "configuration_version_id",
  status: "status",
  statusTimestamps: "status_timestamps",
  statusChangedAt: "status_changed_at",
  operation: "operation",
  source: "source",
  triggerReason: "trigger_reason",
  message: "message",
  isDestroy: "is_destroy",
  refresh: "refresh",
  refreshOnly: "refresh_only",
  planOnly: "plan_only",
  savePlan: "save_plan",
  autoApply: "auto_apply",
  allowEmptyApply: "allow_empty_apply",
  allowConfigGeneration: "allow_config_generation",
  debuggingMode: "debugging_mode",
  terraformVersion: "terraform_version",
  targetAddrs: "target_addrs",
  replaceAddrs: "replace_addrs",
  variables: "variables",
  hasChanges: "has_changes",
  agentPoolName: "agent_pool_name",
  commitSha: "commit_sha",
  vcsUsername: "vcs_username",
  createdById: "created_by_id",
  confirmedById: "confirmed_by_id",
  canceledById: "canceled_by_id",
  canceledAt: "canceled_at",
  cancelRequestedAt: "cancel_requested_at",
  forceCancelAvailableAt: "force_cancel_available_at",
  createdAt: "created_at",
  updatedAt: "updated_at",
};

/** `SELECT ${RUN_COLUMNS} FROM runs …`: the select list of a RunRow. */
export const RUN_COLUMNS = Prisma.raw(
  Object.entries(RUN_FIELDS)
    .map(([field, column]) => (column === "status" ? `status::text AS status` : `${column} AS "${field}"`))
    .join(", "),
);

/**
 * The most frequent read of all (clients poll it), past Prisma's query compiler (see queryRows):
 * through `findUnique` it cost about three times the CPU of this statement.
 */
export async function findRun(db: Db | Tx, runId: string): Promise<RunRow | null> {
  const rows = await queryRows<RunRow>(db, Prisma.sql`SELECT ${RUN_COLUMNS} FROM runs WHERE id = ${runId}`);
  return rows[0] ?? null;
}

/** A run row with everything its document shows beyond the row, read in the same statement. */
export interface RunDocumentRow {
  run: RunRow;
  extras: RunExtras;
  /** Its task stages' ids, oldest first (the document's `task-stages`). */
  taskStageIds: string[];
}

/**
 * What loadRunExtras and the task stages add to a run document, as columns over `runs r`: the
 * run and its document in one statement, where separate reads cost a round trip each. The queue
 * position is counted only for a pending run that waits for its workspace (see positionsInQueue).
 */
export const RUN_DOCUMENT_EXTRA_COLUMNS = Prisma.raw(`
  (SELECT ce.id FROM cost_estimates ce WHERE ce.run_id = r.id) AS "x_costEstimateId",
  ARRAY(SELECT e.id FROM run_events e WHERE e.run_id = r.id ORDER BY e.created_at, e.id) AS "x_eventIds",
  ARRAY(SELECT c.id FROM comments c WHERE c.run_id = r.id ORDER BY c.created_at, c.id) AS "x_commentIds",
  ARRAY(SELECT ts.id FROM task_stages ts WHERE ts.run_id = r.id ORDER BY ts.created_at, ts.id) AS "x_taskStageIds",
  CASE WHEN r.status = 'pending' AND r.plan_only = false AND r.save_plan = false THEN (
    SELECT count(*) FROM runs o
    WHERE o.workspace_id = r.workspace_id AND o.seq < r.seq AND ${runsAheadCondition("o").sql}
  ) ELSE 0 END AS "x_positionInQueue"`);

type DocumentColumns = RunRow & {
  x_costEstimateId: string | null;
  x_eventIds: string[];
  x_commentIds: string[];
  x_taskStageIds: string[];
  x_positionInQueue: bigint | number;
};

/** Splits a row selected with RUN_COLUMNS and RUN_DOCUMENT_EXTRA_COLUMNS into the run and its extras. */
export function runDocumentRowOf(row: Record<string, unknown>): RunDocumentRow {
  const { x_costEstimateId, x_eventIds, x_commentIds, x_taskStageIds, x_positionInQueue, ...run } = row as DocumentColumns;
  return {
    run: run as RunRow,
    extras: { costEstimateId: x_costEstimateId, eventIds: x_eventIds, commentIds: x_commentIds, positionInQueue: Number(x_positionInQueue) },
    taskStageIds: x_taskStageIds,
  };
}

/**
 * A run with what its document shows (GET /runs/:id, which clients poll): one prepared statement
 * where findRun, loadRunExtras and the task stages took three.
 */
export async function findRunDocument(db: Db | Tx, runId: string): Promise<RunDocumentRow | null> {
  const rows = await queryRows<Record<string, unknown>>(
    db,
    Prisma.sql`SELECT ${RUN_COLUMNS}, ${RUN_DOCUMENT_EXTRA_COLUMNS} FROM runs r WHERE r.id = ${runId}`,
    // One row by primary key: the generic plan is the custom one, so it is prepared once per connection.
    { prepareAs: "tarmac_run_document" },
  );
  return rows[0] ? runDocumentRowOf(rows[0]) : null;
}

/** What queueing a run reads of its workspace (its identity and the run defaults it sets), and its lock for live streams. */
export type RunWorkspace = Pick<
  WorkspaceModel,
  "id" | "organizationId" | "autoApply" | "terraformVersion" | "allowDestroyPlan" | "latestConfigurationVersionId" | "locked"
>;

/**
 * The workspace a run is created in, past Prisma's query compiler (see queryRows): run creation
 * is the hottest write, and through `findUnique` this read cost several times its statement.
 */
export async function findWorkspace(db: Db | Tx, workspaceId: string): Promise<RunWorkspace | null> {
  const rows = await queryRows<RunWorkspace>(
    db,
    Prisma.sql`SELECT id, organization_id AS "organizationId", auto_apply AS "autoApply", terraform_version AS "terraformVersion",
      allow_destroy_plan AS "allowDestroyPlan", latest_configuration_version_id AS "latestConfigurationVersionId", locked
    FROM workspaces WHERE id = ${workspaceId}`,
    { prepareAs: "tarmac_run_workspace" },
  );
  return rows[0] ?? null;
}

export async function findWorkspaces(db: Db | Tx, ids: readonly string[]): Promise<WorkspaceModel[]> {
  if (ids.length === 0) return [];
  return db.workspace.findMany({ where: { id: { in: [...new Set(ids)] } } });
}

/** A run's workspace with the configuration version it is created from, read together. */
export interface RunTarget {
  workspace: RunWorkspace;
  /** The version named, else the workspace's latest; null when there is none or it does not exist. */
  configurationVersion: RunConfigurationVersion | null;
}

/**
 * The workspace a run is created in (findWorkspace's row) and the configuration version it is
 * created from, in one statement: the version `configurationVersionId` names, or when null the
 * workspace's latest, with the organization of the version's own workspace.
 */
export async function findRunTarget(db: Db | Tx, workspaceId: string, configurationVersionId: string | null): Promise<RunTarget | null> {
  const rows = await queryRows<RunWorkspace & { cv_id: string | null; cv_status: RunConfigurationVersion["status"] | null; cv_speculative: boolean | null; cv_organization_id: string | null }>(
    db,
    Prisma.sql`SELECT w.id, w.organization_id AS "organizationId", w.auto_apply AS "autoApply", w.terraform_version AS "terraformVersion",
      w.allow_destroy_plan AS "allowDestroyPlan", w.latest_configuration_version_id AS "latestConfigurationVersionId", w.locked,
      cv.id AS cv_id, cv.status::text AS cv_status, cv.speculative AS cv_speculative, cvw.organization_id AS cv_organization_id
    FROM workspaces w
    LEFT JOIN configuration_versions cv ON cv.id = COALESCE(${configurationVersionId}::text, w.latest_configuration_version_id)
    LEFT JOIN workspaces cvw ON cvw.id = cv.workspace_id
    WHERE w.id = ${workspaceId}`,
    { prepareAs: "tarmac_run_target" },
  );
  const row = rows[0];
  if (!row) return null;
  const { cv_id: id, cv_status: status, cv_speculative: speculative, cv_organization_id: organizationId, ...workspace } = row;
  return {
    workspace,
    configurationVersion: id !== null && status !== null && speculative !== null && organizationId !== null ? { id, status, speculative, organizationId } : null,
  };
}

/** What run creation checks of a configuration version: its status, kind and organization. */
export interface RunConfigurationVersion {
  id: string;
  status: ConfigurationVersionModel["status"];
  speculative: boolean;
  organizationId: string;
}

export async function findConfigurationVersions(db: Db | Tx, ids: readonly string[]): Promise<ConfigurationVersionModel[]> {
  if (ids.length === 0) return [];
  return db.configurationVersion.findMany({ where: { id: { in: [...new Set(ids)] } } });
}

export async function findUsers(db: Db | Tx, ids: readonly (string | null)[]): Promise<UserModel[]> {
  const wanted = [...new Set(ids.filter((x): x is string => typeof x === "string"))];
  if (wanted.length === 0) return [];
  return db.user.findMany({ where: { id: { in: wanted } } });
}

export async function findPlan(db: Db | Tx, planId: string): Promise<PlanModel | null> {
  return db.plan.findUnique({ where: { id: planId } });
}

export async function findApply(db: Db | Tx, applyId: string): Promise<ApplyModel | null> {
  return db.apply.findUnique({ where: { id: applyId } });
}

export async function findPlansAndApplies(
  db: Db | Tx,
  runIds: readonly string[],
): Promise<{ plans: PlanModel[]; applies: ApplyModel[] }> {
  if (runIds.length === 0) return { plans: [], applies: [] };
  const ids = [...new Set(runIds)];
  const [plans, applies] = await Promise.all([
    db.plan.findMany({ where: { runId: { in: ids } } }),
    db.apply.findMany({ where: { runId: { in: ids } } }),
  ]);
  return { plans, applies };
}

export async function findCostEstimate(db: Db | Tx, id: string): Promise<CostEstimateModel | null> {
  return db.costEstimate.findUnique({ where: { id } });
}

export async function findCostEstimates(db: Db | Tx, runIds: readonly string[]): Promise<CostEstimateModel[]> {
  if (runIds.length === 0) return [];
  return db.costEstimate.findMany({ where: { runId: { in: [...new Set(runIds)] } } });
}

/**
 * Position of each pending non-speculative run in its workspace's queue: how many unfinished
 * non-speculative runs were created before it. One query for the whole page.
 */
export async function positionsInQueue(
  db: Db | Tx,
  runs: readonly Pick<RunRow, "id" | "status" | "planOnly" | "savePlan">[],
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  // Plan-only and saved-plan runs plan without waiting for the workspace (notes §7.1).
  const ids = runs.filter((r) => r.status === "pending" && !r.planOnly && !r.savePlan).map((r) => r.id);
  if (ids.length === 0) return out;
  // A saved-plan run ahead only takes the workspace once confirmed for apply.
  const rows = await queryRows<{ id: string; ahead: bigint }>(db, Prisma.sql`
    SELECT r.id, (
      SELECT count(*) FROM runs o
      WHERE o.workspace_id = r.workspace_id AND o.seq < r.seq AND ${runsAheadCondition("o")}
    ) AS ahead
    FROM runs r WHERE r.id = ANY(${ids}::text[])`);
  for (const row of rows) out.set(row.id, Number(row.ahead));
  return out;
}

/**
 * Cost estimate, run events and comments of a page of runs in one statement, plus the queue
 * position of its pending runs (a second one, only when some run is pending).
 */
export async function loadRunExtras(db: Db | Tx, runs: readonly RunRow[]): Promise<Map<string, RunExtras>> {
  const out = new Map<string, RunExtras>();
  if (runs.length === 0) return out;
  const ids = runs.map((r) => r.id);
  const [related, positions] = await Promise.all([
    queryRows<{ run_id: string; cost_estimate_id: string | null; event_ids: string[]; comment_ids: string[] }>(db, Prisma.sql`
      SELECT r.id AS run_id,
        (SELECT ce.id FROM cost_estimates ce WHERE ce.run_id = r.id) AS cost_estimate_id,
        ARRAY(SELECT e.id FROM run_events e WHERE e.run_id = r.id ORDER BY e.created_at, e.id) AS event_ids,
        ARRAY(SELECT c.id FROM comments c WHERE c.run_id = r.id ORDER BY c.created_at, c.id) AS comment_ids
      FROM unnest(${ids}::text[]) AS r(id)`),
    positionsInQueue(db, runs),
  ]);
  for (const r of runs) {
    out.set(r.id, { costEstimateId: null, eventIds: [], commentIds: [], positionInQueue: positions.get(r.id) ?? 0 });
  }
  for (const row of related) {
    const e = out.get(row.run_id);
    if (!e) continue;
    e.costEstimateId = row.cost_estimate_id;
    e.eventIds = row.event_ids;
    e.commentIds = row.comment_ids;
  }
  return out;
}

/** Team access levels on the workspaces of one organization, for the given teams. */
export async function teamAccessInOrganization(
  db: Db | Tx,
  organizationId: string,
  teamIds: readonly string[],
): Promise<{ workspaceId: string; access: "read" | "plan" | "write" | "admin" }[]> {
  if (teamIds.length === 0) return [];
  return db.teamWorkspaceAccess.findMany({
    where: { teamId: { in: [...teamIds] }, workspace: { organizationId } },
    select: { workspaceId: true, access: true },
  });
}

export type PhaseKind = Phase;

export function phaseKindOf(id: string): PhaseKind | null {
  if (id.startsWith("plan-")) return "plan";
  if (id.startsWith("apply-")) return "apply";
  return null;
}

/**
 * Where a phase's log lives: the finished log's blob once stored, else nothing durable yet (the
 * caller reads the live Redis key). `null` when the phase does not exist.
 */
export async function phaseLogBlobId(db: Db | Tx, phaseId: string): Promise<{ blobId: string | null } | null> {
  const kind = phaseKindOf(phaseId);
  if (kind === null) return null;
  const row =
    kind === "plan"
      ? await db.plan.findUnique({ where: { id: phaseId }, select: { logBlobId: true } })
      : await db.apply.findUnique({ where: { id: phaseId }, select: { logBlobId: true } });
  return row ? { blobId: row.logBlobId } : null;
}

/** Bytes [offset, offset+limit) of a blob, sliced in the database so a large log is never loaded whole. */
export async function readBlobRange(db: Db | Tx, blobId: string, offset: number, limit: number): Promise<Buffer> {
  // Blobs are far smaller than 2 GiB; beyond that there is nothing to read (and no int overflow).
  if (offset >= 2 ** 31 - 1 || limit <= 0) return Buffer.alloc(0);
  const length = Math.min(limit, 2 ** 31 - 1);
  // Hex text: the Prisma pg adapter cannot read a bytea computed by a raw query.
  const rows = await db.$queryRaw<{ part: string | null }[]>`
    SELECT encode(substring(data FROM ${offset + 1}::int FOR ${length}::int), 'hex') AS part FROM blobs WHERE id = ${blobId}`;
  const part = rows[0]?.part;
  return part ? Buffer.from(part, "hex") : Buffer.alloc(0);
}

/** Workspace views (the workspace serializer's input) for the runs of a page, in one query. */
export async function findWorkspaceViews(db: Db | Tx, ids: readonly string[]): Promise<WorkspaceView[]> {
  if (ids.length === 0) return [];
  return db.workspace.findMany({ where: { id: { in: [...new Set(ids)] } }, include: workspaceViewInclude });
}

/** State versions written by each run (an apply's `state-versions`). */
export async function stateVersionIdsByRun(db: Db | Tx, runIds: readonly string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (runIds.length === 0) return out;
  const rows = await db.stateVersion.findMany({
    where: { runId: { in: [...new Set(runIds)] } },
    select: { id: true, runId: true },
    orderBy: { serial: "asc" },
  });
  for (const r of rows) {
    if (r.runId === null) continue;
    out.set(r.runId, [...(out.get(r.runId) ?? []), r.id]);
  }
  return out;
}

/** The JSON plan's bytes, once stored. */
export async function planJsonBytes(db: Db | Tx, planId: string): Promise<Buffer | null> {
  const plan = await db.plan.findUnique({ where: { id: planId }, select: { jsonBlobId: true } });
  if (!plan?.jsonBlobId) return null;
  const blob = await db.blob.findUnique({ where: { id: plan.jsonBlobId }, select: { data: true } });
  return blob ? Buffer.from(blob.data) : null;
}

/** The JSON plan and the provider schemas it was made with (either null until uploaded). */
export async function planDocumentParts(db: Db | Tx, planId: string): Promise<{ planJson: Buffer | null; providerSchemas: Buffer | null }> {
  const plan = await db.plan.findUnique({ where: { id: planId }, select: { jsonBlobId: true, providerSchemasBlobId: true } });
  const ids = [plan?.jsonBlobId, plan?.providerSchemasBlobId].filter((id): id is string => typeof id === "string");
  const blobs = ids.length === 0 ? [] : await db.blob.findMany({ where: { id: { in: ids } }, select: { id: true, data: true } });
  const bytesOf = (id: string | null | undefined) => {
    const blob = id ? blobs.find((b) => b.id === id) : undefined;
    return blob ? Buffer.from(blob.data) : null;
  };
  return { planJson: bytesOf(plan?.jsonBlobId), providerSchemas: bytesOf(plan?.providerSchemasBlobId) };
}
