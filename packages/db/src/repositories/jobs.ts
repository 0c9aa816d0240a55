import { createHash, randomUUID } from "node:crypto";
import { isJobPhaseLive, JOB_LIVE_RUN_STATUSES, type Phase, type PhaseStatus, type RunStatus } from "@tarmac/domain";
import { inSqlTransaction, queryRows, type Db, type Tx } from "../client";
import { Prisma } from "../generated/prisma/client";
import { asBuffer, blobSha256 } from "../blobs";
import { createStateVersion } from "./state-versions";

/**
 * What the gateway's job capability routes (`/_jobs/:runId/:secret/...`) read and write on
 * behalf of a worker, which holds no database credentials.
 */

export type JobPhase = Phase;

/*
 * The reads below are the statements of every job request a worker makes (a dozen per run, each
 * behind the capability check): on node-postgres directly (queryRows), one statement each,
 * since Prisma's query compiler cost several times their own CPU.
 */

export interface JobRunVariable {
  key: string;
  value: string;
  category: "terraform" | "env";
  hcl: boolean;
  sensitive: boolean;
}

/** The run's job spec inputs: its options, its workspace and the workspace's (raw, possibly encrypted) variables. */
export interface JobRun {
  id: string;
  isDestroy: boolean;
  refresh: boolean;
  refreshOnly: boolean;
  planOnly: boolean;
  savePlan: boolean;
  allowEmptyApply: boolean;
  debuggingMode: boolean;
  terraformVersion: string;
  targetAddrs: string[];
  replaceAddrs: string[];
  variables: unknown;
  workspace: {
    id: string;
    name: string;
    workingDirectory: string | null;
    terraformVersion: string;
    structuredRunOutputEnabled: boolean;
    variables: JobRunVariable[];
  };
}

type JobRunRow = Omit<JobRun, "workspace"> & {
  workspaceId: string;
  workspaceName: string;
  workingDirectory: string | null;
  workspaceTerraformVersion: string;
  structuredRunOutputEnabled: boolean;
  workspaceVariables: JobRunVariable[] | null;
};

/**
 * A read through a job URL, with the check that its phase still lives (isJobPhaseLive) in the
 * same statement: `not_found` without the run, `ended` once the phase has ended (the request is
 * refused, nothing is returned), otherwise the value.
 */
export type JobRead<T> = { kind: "not_found" } | { kind: "ended"; runStatus: RunStatus } | { kind: "live"; value: T };

const PHASE_TABLES: Record<JobPhase, Prisma.Sql> = { plan: Prisma.raw("plans"), apply: Prisma.raw("applies") };

/** Whether the job URL's phase lives, in SQL: the run as `r`, the phase's row as `ph`. */
function phaseLiveSql(phase: JobPhase): Prisma.Sql {
  const [queued, running] = JOB_LIVE_RUN_STATUSES[phase];
  return Prisma.sql`(r.status::text IN (${queued}, ${running}) OR ph.status::text = 'running')`;
}

type LivenessColumns = { runStatus: RunStatus; live: boolean };

/**
 * One statement: the run `r`, its row of the phase `ph`, whether the phase lives, and what
 * `columns` select from `joins` (left joins, so a missing artifact is a null, not a missing run).
 */
async function readLive<Row, T>(
  db: Db | Tx,
  phase: JobPhase,
  runId: string,
  columns: Prisma.Sql,
  joins: Prisma.Sql,
  prepareAs: string,
  map: (row: Row & LivenessColumns) => T,
): Promise<JobRead<T>> {
  const rows = await queryRows<Row & LivenessColumns>(
    db,
    Prisma.sql`SELECT r.status::text AS "runStatus", ${phaseLiveSql(phase)} AS live, ${columns}
       FROM runs r LEFT JOIN ${PHASE_TABLES[phase]} ph ON ph.run_id = r.id ${joins}
      WHERE r.id = ${runId}`,
    { prepareAs: `${prepareAs}_${phase}` },
  );
  const row = rows[0];
  if (!row) return { kind: "not_found" };
  if (!row.live) return { kind: "ended", runStatus: row.runStatus };
  return { kind: "live", value: map(row) };
}

/** The job spec's inputs, while the URL's phase lives. */
export async function findJobRun(db: Db | Tx, phase: JobPhase, runId: string): Promise<JobRead<JobRun>> {
  return readLive<JobRunRow, JobRun>(
    db,
    phase,
    runId,
    Prisma.sql`r.id, r.is_destroy AS "isDestroy", r.refresh, r.refresh_only AS "refreshOnly", r.plan_only AS "planOnly",
        r.save_plan AS "savePlan", r.allow_empty_apply AS "allowEmptyApply", r.debugging_mode AS "debuggingMode",
        r.terraform_version AS "terraformVersion", r.target_addrs AS "targetAddrs", r.replace_addrs AS "replaceAddrs", r.variables,
        w.id AS "workspaceId", w.name AS "workspaceName", w.working_directory AS "workingDirectory",
        w.terraform_version AS "workspaceTerraformVersion", w.structured_run_output_enabled AS "structuredRunOutputEnabled",
        (SELECT json_agg(json_build_object('key', v.key, 'value', v.value, 'category', v.category::text, 'hcl', v.hcl, 'sensitive', v.sensitive)
                         ORDER BY v.key)
           FROM workspace_variables v WHERE v.workspace_id = w.id) AS "workspaceVariables"`,
    Prisma.sql`JOIN workspaces w ON w.id = r.workspace_id`,
    "tarmac_job_run",
    (row) => {
      const { runStatus: _runStatus, live: _live, workspaceId, workspaceName, workingDirectory, workspaceTerraformVersion, structuredRunOutputEnabled, workspaceVariables, ...run } = row;
      return {
        ...run,
        workspace: {
          id: workspaceId,
          name: workspaceName,
          workingDirectory,
          terraformVersion: workspaceTerraformVersion,
          structuredRunOutputEnabled,
          variables: workspaceVariables ?? [],
        },
      };
    },
  );
}

/** What decides whether a job URL's phase is still alive: the run's status and its phases'. */
export async function findJobPhaseState(
  db: Db | Tx,
  runId: string,
): Promise<{ status: RunStatus; plan: { status: PhaseStatus } | null; apply: { status: PhaseStatus } | null } | null> {
  const rows = await queryRows<{ status: RunStatus; planStatus: PhaseStatus | null; applyStatus: PhaseStatus | null }>(
    db,
    Prisma.sql`SELECT r.status::text AS status, p.status::text AS "planStatus", a.status::text AS "applyStatus"
       FROM runs r LEFT JOIN plans p ON p.run_id = r.id LEFT JOIN applies a ON a.run_id = r.id
      WHERE r.id = ${runId}`,
    { prepareAs: "tarmac_job_phase_state" },
  );
  const row = rows[0];
  if (!row) return null;
  return {
    status: row.status,
    plan: row.planStatus === null ? null : { status: row.planStatus },
    apply: row.applyStatus === null ? null : { status: row.applyStatus },
  };
}

/** A blob (`b.data`, null when the joins find none) read through a job URL whose phase lives. */
async function readLiveBlob(db: Db | Tx, phase: JobPhase, runId: string, joins: Prisma.Sql, prepareAs: string): Promise<JobRead<Buffer | null>> {
  return readLive<{ data: Buffer | Uint8Array | null }, Buffer | null>(db, phase, runId, Prisma.sql`b.data`, joins, prepareAs, (row) =>
    row.data ? asBuffer(row.data) : null,
  );
}

/** The run's configuration archive (tar.gz; null when none was uploaded), while the URL's phase lives. */
export async function readConfigurationArchive(db: Db | Tx, phase: JobPhase, runId: string): Promise<JobRead<Buffer | null>> {
  return readLiveBlob(
    db,
    phase,
    runId,
    Prisma.sql`LEFT JOIN configuration_versions cv ON cv.id = r.configuration_version_id LEFT JOIN blobs b ON b.id = cv.archive_blob_id`,
    "tarmac_job_configuration",
  );
}

/** The workspace's current state (terraform state JSON; null for a workspace without state), while the URL's phase lives. */
export async function readCurrentState(db: Db | Tx, phase: JobPhase, runId: string): Promise<JobRead<Buffer | null>> {
  return readLiveBlob(
    db,
    phase,
    runId,
    Prisma.sql`LEFT JOIN workspaces w ON w.id = r.workspace_id LEFT JOIN state_versions sv ON sv.id = w.current_state_version_id
       LEFT JOIN blobs b ON b.id = sv.state_blob_id`,
    "tarmac_job_state",
  );
}

/** The plan file the apply applies (null when the plan saved none), while the URL's phase lives. */
export async function readPlanFile(db: Db | Tx, phase: JobPhase, runId: string): Promise<JobRead<Buffer | null>> {
  return readLiveBlob(db, phase, runId, Prisma.sql`LEFT JOIN plans pf ON pf.run_id = r.id LEFT JOIN blobs b ON b.id = pf.plan_file_blob_id`, "tarmac_job_plan_file");
}

type PlanBlobColumn = "planFileBlobId" | "jsonBlobId" | "providerSchemasBlobId" | "logBlobId";

/**
 * `stored` the first time; `unchanged` when the same bytes come again (a worker retrying an
 * upload whose answer it lost); `conflict` for different bytes: a phase's artifact is written
 * once, so a leaked job URL cannot replace what the phase produced. `ended` (with the run's
 * status) once the phase has ended: nothing is written through its URL any more.
 */
export type StoreOnceResult = "stored" | "unchanged" | "conflict" | "not_found" | { ended: RunStatus };

const sha256Of = (data: Buffer): string => createHash("sha256").update(data).digest("hex");

const PLAN_BLOB_COLUMNS: Record<PlanBlobColumn, Prisma.Sql> = {
  planFileBlobId: Prisma.raw("plan_file_blob_id"),
  jsonBlobId: Prisma.raw("json_blob_id"),
  providerSchemasBlobId: Prisma.raw("provider_schemas_blob_id"),
  logBlobId: Prisma.raw("log_blob_id"),
};

/**
 * Stores a blob and points the phase's column at it, unless the column already holds one or the
 * phase has ended: one statement, where a transaction took five round trips (a worker uploads
 * six of these per run) and the job URL's check one more. The phase's row is locked first: of
 * two concurrent first uploads, the second waits, then finds the first's blob and compares
 * bytes; a decision ending the phase (holding the row) is waited for as well. The blob is written
 * only when the column is empty and the phase lives.
 */
async function storePhaseBlobOnce(db: Db, phase: JobPhase, runId: string, column: Prisma.Sql, data: Buffer, contentType: string): Promise<StoreOnceResult> {
  const phaseTable = PHASE_TABLES[phase];
  const sha256 = sha256Of(data);
  const blobId = `blob-${randomUUID()}`;
  const [row] = await queryRows<{ found: boolean; live: boolean | null; runStatus: RunStatus | null; previous: string | null; previousSha256: string | null; stored: boolean }>(
    db,
    Prisma.sql`WITH phase AS (
      SELECT ph.${column} AS previous, ${phaseLiveSql(phase)} AS live, r.status::text AS run_status
        FROM ${phaseTable} ph JOIN runs r ON r.id = ph.run_id WHERE ph.run_id = ${runId} FOR UPDATE OF ph
    ), blob AS (
      INSERT INTO blobs (id, content_type, size, sha256, data)
      SELECT ${blobId}, ${contentType}, ${data.length}, ${sha256}, ${data} FROM phase WHERE phase.previous IS NULL AND phase.live
      RETURNING id
    ), pointed AS (
      UPDATE ${phaseTable} SET ${column} = blob.id FROM blob WHERE ${phaseTable}.run_id = ${runId} AND ${phaseTable}.${column} IS NULL
      RETURNING 1
    )
    SELECT EXISTS (SELECT 1 FROM phase) AS found, (SELECT live FROM phase) AS live, (SELECT run_status FROM phase) AS "runStatus",
      (SELECT previous FROM phase) AS previous,
      (SELECT b.sha256 FROM blobs b WHERE b.id = (SELECT previous FROM phase)) AS "previousSha256",
      EXISTS (SELECT 1 FROM pointed) AS stored`,
  );
  if (!row?.found) return "not_found";
  if (!row.live) return { ended: row.runStatus! };
  if (row.stored) return "stored";
  if (row.previous === null) return "conflict";
  // A blob a concurrent upload committed while this statement waited for the row is not in the
  // statement's snapshot: read its hash again.
  const previousSha256 = row.previousSha256 ?? (await blobSha256(db, row.previous));
  return previousSha256 === sha256 ? "unchanged" : "conflict";
}

async function storePlanBlobOnce(db: Db, runId: string, column: PlanBlobColumn, data: Buffer, contentType: string): Promise<StoreOnceResult> {
  return storePhaseBlobOnce(db, "plan", runId, PLAN_BLOB_COLUMNS[column], data, contentType);
}

export async function storePlanFile(db: Db, runId: string, data: Buffer): Promise<StoreOnceResult> {
  return storePlanBlobOnce(db, runId, "planFileBlobId", data, "application/octet-stream");
}

export async function storePlanJson(db: Db, runId: string, data: Buffer): Promise<StoreOnceResult> {
  return storePlanBlobOnce(db, runId, "jsonBlobId", data, "application/json");
}

/** `terraform providers schema -json` of the plan's working directory (the redacted plan needs it). */
export async function storeProviderSchemas(db: Db, runId: string, data: Buffer): Promise<StoreOnceResult> {
  return storePlanBlobOnce(db, runId, "providerSchemasBlobId", data, "application/json");
}

/** The finished log of a phase (STX … ETX); the log reader serves it instead of the live Redis copy. */
export async function storePhaseLog(db: Db, runId: string, phase: JobPhase, data: Buffer): Promise<StoreOnceResult> {
  if (phase === "plan") return storePlanBlobOnce(db, runId, "logBlobId", data, "text/plain");
  return storePhaseBlobOnce(db, "apply", runId, Prisma.raw("log_blob_id"), data, "text/plain");
}

export type StoreAppliedStateResult =
  | { ok: true; stateVersionId: string; created: boolean }
  | { ok: false; reason: "not_found" }
  | { ok: false; reason: "already_uploaded" }
  | { ok: false; reason: "not_applying"; runStatus: RunStatus };

/**
 * The state an apply produced, accepted while the apply phase lives (a canceled apply still
 * must write it: terraform saves what it did before stopping) and once per apply: a retried
 * upload of the same bytes returns the recorded version, other bytes are refused. An
 * unreadable state is a 422 and a serial already used by other bytes a 409 (TarmacErrors from
 * createStateVersion).
 */
export async function storeAppliedState(db: Db, runId: string, state: Buffer): Promise<StoreAppliedStateResult> {
  return inSqlTransaction(db, async (tx) => {
    // The run, its apply and the version this run recorded already (with its bytes' hash), in one statement.
    const [run] = await queryRows<{
      workspaceId: string;
      status: RunStatus;
      applyStatus: PhaseStatus | null;
      createdById: string | null;
      confirmedById: string | null;
      earlier: boolean;
      earlierSha256: string | null;
    }>(
      tx,
      Prisma.sql`SELECT r.workspace_id AS "workspaceId", r.status::text AS status, a.status::text AS "applyStatus",
        r.created_by_id AS "createdById", r.confirmed_by_id AS "confirmedById",
        e.id IS NOT NULL AS earlier, e.sha256 AS "earlierSha256"
      FROM runs r LEFT JOIN applies a ON a.run_id = r.id
      LEFT JOIN LATERAL (
        SELECT sv.id, b.sha256 FROM state_versions sv LEFT JOIN blobs b ON b.id = sv.state_blob_id WHERE sv.run_id = r.id LIMIT 1
      ) e ON true
      WHERE r.id = ${runId}`,
      { prepareAs: "tarmac_job_applied_state_run" },
    );
    if (!run) return { ok: false, reason: "not_found" };
    if (!isJobPhaseLive("apply", run.status, run.applyStatus)) return { ok: false, reason: "not_applying", runStatus: run.status };
    if (run.earlier && run.earlierSha256 !== sha256Of(state)) return { ok: false, reason: "already_uploaded" };
    const sv = await createStateVersion(tx, {
      workspaceId: run.workspaceId,
      runId,
      state,
      createdById: run.confirmedById ?? run.createdById,
    });
    return { ok: true, stateVersionId: sv.id, created: sv.created };
  });
}
