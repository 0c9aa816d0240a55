import type { TarmacEvent } from "@tarmac/contracts";
import { notificationsRepo, schedulerRepo } from "@tarmac/db";
import { isRunStatus, nextStatusAfterPlanStage, type PlanDecisionPoint, type RunStatus } from "@tarmac/domain";
import { isDecisionPoint, triggerForStatus } from "@tarmac/notifications";
import type { NotifierContext } from "./context";

type NotifiedRun = notificationsRepo.NotifiedRun;

/**
 * Whether a run that reached a decision point (cost estimated, policy checked, post-plan
 * completed) stopped there for a person. The scheduler decides that with the domain's
 * nextStatusAfterPlanStage in the transaction that moved the run there; the same rule over the
 * same facts tells it here, whenever this event is handled (late or replayed alike).
 */
async function stoppedForPerson(ctx: NotifierContext, run: NotifiedRun, point: PlanDecisionPoint): Promise<boolean> {
  const fromUpload = run.source === "tfe-configuration-version";
  const canAutoApply = fromUpload || !run.createdById ? true : await schedulerRepo.canUserApply(ctx.db, run.createdById, run.workspaceId, run.organizationId);
  const next = nextStatusAfterPlanStage(point, {
    hasChanges: run.hasChanges,
    planOnly: run.planOnly,
    savePlan: run.savePlan,
    allowEmptyApply: run.allowEmptyApply,
    autoApply: fromUpload ? run.workspace.autoApply : run.autoApply,
    canAutoApply,
    costEstimationEnabled: run.organization.costEstimationEnabled,
  });
  return next === point;
}

/** The user a status change is credited to in payloads (`run_updated_by`): HCP names one only for what a person did. */
function updatedBy(run: NotifiedRun, status: RunStatus): string | null {
  if (status === "pending") return run.createdBy?.username ?? null;
  if (status === "canceled" || status === "force_canceled") return run.canceledBy?.username ?? null;
  return null;
}

/**
 * Turns a run event into the deliveries it owes: one row per subscribed configuration, unique
 * per configuration, run and trigger (a repeated or replayed event, or another replica that
 * handled it too, adds nothing). Returns how many deliveries are new.
 */
export async function recordDeliveriesFor(ctx: NotifierContext, event: TarmacEvent): Promise<number> {
  let status: string;
  if (event.type === "run.created") status = "pending";
  else if (event.type === "run.status_changed") status = event.to;
  else return 0;
  if (!isRunStatus(status)) return 0;
  const run = await notificationsRepo.findNotifiedRun(ctx.db, event.runId);
  // Speculative (plan-only) runs notify nobody (HCP).
  if (!run || run.planOnly) return 0;
  const needsAttention = isDecisionPoint(status) ? await stoppedForPerson(ctx, run, status as PlanDecisionPoint) : true;
  const fired = triggerForStatus(status, needsAttention);
  if (!fired) return 0;
  const configurations = await notificationsRepo.subscribedConfigurations(ctx.db, run.workspaceId, fired.trigger);
  if (configurations.length === 0) return 0;
  const at = new Date(event.at);
  const rows: notificationsRepo.NewDelivery[] = configurations.map((c) => ({
    configurationId: c.id,
    runId: run.id,
    trigger: fired.trigger,
    runStatus: status,
    runUpdatedAt: at,
    runUpdatedBy: updatedBy(run, status as RunStatus),
  }));
  if (fired.trigger !== "run:created") {
    // run.created arrives on another durable and may come a moment after the first status
    // changes: the run's creation is owed first, so it is recorded here too (with the run's own
    // creation time, which orders it first); whichever insert comes second adds nothing.
    for (const c of await notificationsRepo.subscribedConfigurations(ctx.db, run.workspaceId, "run:created")) {
      rows.push({ configurationId: c.id, runId: run.id, trigger: "run:created", runStatus: "pending", runUpdatedAt: run.createdAt, runUpdatedBy: updatedBy(run, "pending") });
    }
  }
  return notificationsRepo.insertDeliveries(ctx.db, rows, ctx.now());
}
