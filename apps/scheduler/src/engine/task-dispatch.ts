import { createHmac } from "node:crypto";
import { mintRunTaskToken } from "@tarmac/contracts";
import { decryptValue, runTasksRepo } from "@tarmac/db";
import { planIdFor } from "@tarmac/domain";
import type { SchedulerContext } from "./context";
import { errorMessage } from "./errors";
import { withRunWorkspace } from "./effects";
import { driveRun } from "./lifecycle";
import { settleTaskStage } from "./task-stages";

export const DEFAULT_RUN_TASK_TIMEOUT_MS = 10 * 60_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_DELIVERY_ATTEMPTS = 10;
/** The access token outlives the task's timeout by this much, so a late callback still authenticates (and is refused as late). */
const TOKEN_GRACE_MS = 60 * 60_000;

/** The integration's view of the run (HCP's run tasks integration API, payload_version 1). */
export interface RunTaskPayload {
  payload_version: 1;
  stage: string;
  access_token: string;
  capabilities: { outcomes: boolean };
  configuration_version_download_url: string;
  configuration_version_id: string;
  is_speculative: boolean;
  organization_name: string;
  plan_json_api_url?: string;
  run_app_url: string;
  run_created_at: string;
  run_created_by: string | null;
  run_id: string;
  run_message: string;
  task_result_callback_url: string;
  task_result_enforcement_level: string;
  task_result_id: string;
  vcs_branch: string | null;
  vcs_commit_url: string | null;
  vcs_pull_request_url: string | null;
  vcs_repo_url: string | null;
  workspace_app_url: string;
  workspace_id: string;
  workspace_name: string;
  workspace_working_directory: string | null;
}

function publicUrlOf(ctx: SchedulerContext): string {
  return (ctx.settings.publicUrl ?? ctx.settings.gatewayUrl).replace(/\/+$/, "");
}

/** `X-TFC-Task-Signature`: HMAC-SHA512 of the exact body, hex, under the task's key. */
export function taskSignature(hmacKey: string, body: string): string {
  return createHmac("sha512", hmacKey).update(body, "utf8").digest("hex");
}

function buildPayload(ctx: SchedulerContext, facts: runTasksRepo.DispatchFacts): RunTaskPayload {
  const base = publicUrlOf(ctx);
  const { run, workspace, result } = facts;
  const timeoutMs = ctx.settings.runTaskTimeoutMs ?? DEFAULT_RUN_TASK_TIMEOUT_MS;
  const expiresAt = new Date(ctx.now().getTime() + timeoutMs + TOKEN_GRACE_MS);
  const org = encodeURIComponent(facts.organizationName);
  const ws = encodeURIComponent(workspace.name);
  const planId = planIdFor(run.id);
  const hasPlan = result.stage !== "pre_plan";
  return {
    payload_version: 1,
    stage: result.stage,
    access_token: mintRunTaskToken(ctx.settings.capabilityKeys, run.id, expiresAt),
    capabilities: { outcomes: true },
    configuration_version_download_url: `${base}/api/v2/configuration-versions/${run.configurationVersionId}/download`,
    configuration_version_id: run.configurationVersionId,
    is_speculative: run.planOnly,
    organization_name: facts.organizationName,
    ...(hasPlan ? { plan_json_api_url: `${base}/api/v2/plans/${planId}/json-output` } : {}),
    run_app_url: `${base}/app/${org}/${ws}/runs/${run.id}`,
    run_created_at: run.createdAt.toISOString(),
    run_created_by: run.createdByUsername,
    run_id: run.id,
    run_message: run.message,
    task_result_callback_url: `${base}/api/v2/task-results/${result.id}/callback`,
    task_result_enforcement_level: result.enforcementLevel,
    task_result_id: result.id,
    vcs_branch: null,
    vcs_commit_url: null,
    vcs_pull_request_url: null,
    vcs_repo_url: null,
    workspace_app_url: `${base}/app/${org}/${ws}`,
    workspace_id: workspace.id,
    workspace_name: workspace.name,
    workspace_working_directory: workspace.workingDirectory,
  };
}

/**
 * Sends one task result's request to its task URL, after the transaction that created the result
 * committed (never from a request handler). At least once: a result stays owed until its URL
 * answers 200, and the reconcile loop sends owed requests again; the integration may see a
 * request twice and reports on the same result either way. After too many refusals the result
 * errors. Never throws: a failing integration must not make the scheduler redeliver events.
 */
export async function dispatchTaskResult(ctx: SchedulerContext, taskResultId: string): Promise<void> {
  // A request already on its way from this process is not sent again by the reconcile loop's
  // re-drive while it waits for the answer (a slow integration would otherwise get it twice).
  if (inFlight.has(taskResultId)) return;
  inFlight.add(taskResultId);
  try {
    await sendTaskResult(ctx, taskResultId);
  } finally {
    inFlight.delete(taskResultId);
  }
}

/** Task results whose request this process is sending now. */
const inFlight = new Set<string>();

async function sendTaskResult(ctx: SchedulerContext, taskResultId: string): Promise<void> {
  try {
    const facts = await runTasksRepo.findDispatchFacts(ctx.db, taskResultId);
    if (!facts || facts.result.status !== "pending" || facts.result.deliveredAt !== null) return;
    const body = JSON.stringify(buildPayload(ctx, facts));
    const headers: Record<string, string> = { "Content-Type": "application/json", "User-Agent": "Tarmac run tasks" };
    if (facts.hmacKeyEncrypted) headers["X-TFC-Task-Signature"] = taskSignature(decryptValue(facts.hmacKeyEncrypted, ctx.settings.capabilityKeys), body);
    let failure: string | null = null;
    try {
      const response = await fetch(facts.result.taskUrl, {
        method: "POST",
        headers,
        body,
        redirect: "error",
        signal: AbortSignal.timeout(ctx.settings.runTaskRequestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status === 200) {
        await runTasksRepo.markResultDelivered(ctx.db, taskResultId, ctx.now());
        return;
      }
      failure = `the task URL answered ${response.status}`;
    } catch (error) {
      failure = errorMessage(error);
    }
    const attempts = await runTasksRepo.countDeliveryAttempt(ctx.db, taskResultId);
    ctx.logger.warn({ taskResultId, runId: facts.run.id, attempts, reason: failure }, "run task request failed");
    if (attempts < (ctx.settings.runTaskMaxDeliveryAttempts ?? DEFAULT_MAX_DELIVERY_ATTEMPTS)) return;
    await failTaskResult(ctx, facts.run.id, taskResultId, `Tarmac could not reach the run task: ${failure}`);
  } catch (error) {
    ctx.logger.error({ taskResultId, error: errorMessage(error) }, "run task dispatch failed");
  }
}

/** Errors a result still waiting for its integration, and settles its stage. */
export async function failTaskResult(ctx: SchedulerContext, runId: string, taskResultId: string, message: string): Promise<boolean> {
  const changed = await withRunWorkspace(ctx, runId, async (tx, run, effects) => {
    if (!(await runTasksRepo.setTaskResultStatus(tx, taskResultId, ["pending", "running"], "errored", message, ctx.now()))) return false;
    await settleTaskStage(tx, ctx, run, effects);
    return true;
  });
  return changed === true;
}

/**
 * The reconcile loop's part for run tasks: results past the timeout error, and runs resting in a
 * stage are driven again, which re-sends owed requests and settles stages whose event was lost.
 */
export async function reconcileTaskStages(ctx: SchedulerContext, graceCutoff: Date, limit: number): Promise<{ drivenInStages: number; timedOut: number }> {
  const now = ctx.now();
  const timeoutMs = ctx.settings.runTaskTimeoutMs ?? DEFAULT_RUN_TASK_TIMEOUT_MS;
  let timedOut = 0;
  for (const overdue of await runTasksRepo.listOverdueResults(ctx.db, new Date(now.getTime() - timeoutMs), limit)) {
    if (await failTaskResult(ctx, overdue.runId, overdue.id, `The run task did not report a result within ${Math.round(timeoutMs / 1000)} seconds`)) timedOut++;
  }
  let drivenInStages = 0;
  for (const resting of await runTasksRepo.listRunsInTaskStages(ctx.db, graceCutoff, limit)) {
    await withRunWorkspace(ctx, resting.id, (tx, run, effects) => driveRun(tx, ctx, run, effects));
    drivenInStages++;
  }
  return { drivenInStages, timedOut };
}
