import { injectTraceContext } from "@tarmac/telemetry";
import { subjectsFor } from "@tarmac/contracts";
import { inTransaction, runsRead, runsWrite, type WorkspaceModel } from "@tarmac/db";
import { newId, notFound, runOperation, unprocessable } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import type { RunRow } from "../serializers/runs";

/** A run's attributes as the create body carries them (validated by the route). */
export interface CreateRunAttributes {
  "allow-empty-apply"?: boolean | null;
  "allow-config-generation"?: boolean | null;
  "auto-apply"?: boolean | null;
  "debugging-mode"?: boolean | null;
  "is-destroy"?: boolean | null;
  message?: string | null;
  refresh?: boolean | null;
  "refresh-only"?: boolean | null;
  "replace-addrs"?: string[] | null;
  "target-addrs"?: string[] | null;
  "invoke-action-addrs"?: string[] | null;
  "policy-paths"?: string[] | null;
  variables?: { key: string; value: string }[] | null;
  "plan-only"?: boolean | null;
  "save-plan"?: boolean | null;
  "terraform-version"?: string | null;
}

export type RunConfigurationVersion = Pick<runsRead.RunConfigurationVersion, "id" | "status" | "speculative">;

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
  /** That configuration version as read with the workspace (runsRead.findRunTarget); null: none found. */
  configurationVersion: runsRead.RunConfigurationVersion | null;
}

/** A run just queued, with what its document shows that its row does not, when the write told. */
export interface QueuedRun {
  run: RunRow;
  /** Known from the write (no query needed for the run's document); null for a run with task stages. */
  known: { extras: runsRead.RunExtras; taskStageIds: string[] } | null;
}

/**
 * Checks the configuration version read with the workspace, then writes the run with its plan,
 * apply, `created` run event and run.created outbox event: as one statement on its own (atomic
 * without a transaction), or, when the workspace has run tasks, in a transaction with its task
 * stages. The scheduler takes it from there.
 */
export async function queueRun(deps: GatewayDeps, input: QueueRunInput): Promise<QueuedRun> {
  const cvId = input.configurationVersionId ?? input.workspace.latestConfigurationVersionId;
  if (!cvId) throw unprocessable("Configuration version is missing", { pointer: "/data/relationships/configuration-version" });
  const cv = input.configurationVersion;
  if (!cv || cv.organizationId !== input.workspace.organizationId) throw notFound("configuration version not found");
  const run = buildNewRun({ ...input, configurationVersion: cv });
  const subjects = subjectsFor(deps.env.TARMAC_NATS_PREFIX);
  // The outbox row carries the request's trace context: the scheduler's handling, the job and the
  // worker's terraform commands all continue this request's trace.
  const headers = injectTraceContext({});
  const eventId = newId("re");
  const at = deps.now();
  const written = await runsWrite.insertRun(deps.db, run, at, subjects, eventId, headers, { unlessRunTasks: true });
  if (written.run) {
    return {
      run: written.run,
      known: { extras: { costEstimateId: null, eventIds: [eventId], commentIds: [], positionInQueue: written.runsAhead }, taskStageIds: [] },
    };
  }
  // The workspace has run tasks: the run and its stages are written together.
  const row = await inTransaction(deps.db, (tx) => runsWrite.createRun(tx, run, at, subjects, eventId, headers));
  return { run: row, known: null };
}
