import { decryptValue, notificationsRepo } from "@tarmac/db";
import { isRunStatus } from "@tarmac/domain";
import { DELIVERY_RESPONSES_KEPT, deliver, triggerForStatus, type DestinationType, type NotificationContent } from "@tarmac/notifications";
import { retryDelayMs, type NotifierContext } from "./context";

type Delivery = notificationsRepo.NotificationDeliveryRow;

export interface DispatcherOptions {
  concurrency: number;
  pollMs: number;
}

export interface Dispatcher {
  /** Looks for due deliveries now (new rows were just recorded). */
  wake(): void;
  /** Stops claiming and waits for the deliveries being sent. */
  stop(): Promise<void>;
}

/** HCP's run link: `<host>/app/<organization>/<workspace>/runs/<run>`. */
function runUrl(ctx: NotifierContext, org: string, ws: string, runId: string): string {
  return `${ctx.publicUrl}/app/${encodeURIComponent(org)}/${encodeURIComponent(ws)}/runs/${runId}`;
}

/** Sends one claimed delivery and records its outcome: delivered, retried later, or given up. */
export async function sendDelivery(ctx: NotifierContext, delivery: Delivery): Promise<void> {
  const now = ctx.now();
  const config = await notificationsRepo.findConfiguration(ctx.db, delivery.configurationId);
  if (!config) return; // deleted since: its deliveries went with it
  if (!config.enabled) {
    await notificationsRepo.finishDelivery(ctx.db, delivery.id, "skipped", now, "the configuration was disabled");
    return;
  }
  const run = await notificationsRepo.findNotifiedRun(ctx.db, delivery.runId);
  if (!run) return; // deleted with its workspace
  const message = (isRunStatus(delivery.runStatus) ? triggerForStatus(delivery.runStatus)?.message : undefined) ?? delivery.trigger;
  const content: NotificationContent = {
    configurationId: config.id,
    configurationName: config.name,
    trigger: delivery.trigger,
    message,
    run: {
      url: runUrl(ctx, run.organization.name, run.workspace.name, run.id),
      id: run.id,
      message: run.message,
      createdAt: run.createdAt,
      createdBy: run.createdBy?.username ?? null,
      status: delivery.runStatus,
      updatedAt: delivery.runUpdatedAt,
      updatedBy: delivery.runUpdatedBy,
      workspaceId: run.workspaceId,
      workspaceName: run.workspace.name,
      organizationName: run.organization.name,
    },
  };
  const recipients =
    config.destinationType === "email" ? [...config.emailAddresses, ...(await notificationsRepo.userEmails(ctx.db, config.emailUserIds)).map((u) => u.email)] : [];
  const response = await deliver(
    {
      destinationType: config.destinationType as DestinationType,
      url: config.url,
      token: config.token ? decryptValue(config.token, ctx.keys) : null,
      emailAddresses: config.emailAddresses,
    },
    recipients,
    content,
    ctx.send,
    ctx.now,
  );
  await notificationsRepo.recordDeliveryResponse(ctx.db, config.id, response, DELIVERY_RESPONSES_KEPT);
  if (response.successful === "true") {
    await notificationsRepo.finishDelivery(ctx.db, delivery.id, "delivered", ctx.now());
    return;
  }
  const reason = response.code ? `answered ${response.code}` : response.body;
  if (delivery.attempts >= ctx.retry.maxAttempts) {
    ctx.logger.warn({ deliveryId: String(delivery.id), configurationId: config.id, runId: run.id, trigger: delivery.trigger, attempts: delivery.attempts, reason }, "notification given up");
    await notificationsRepo.finishDelivery(ctx.db, delivery.id, "failed", ctx.now(), reason);
    return;
  }
  const next = new Date(ctx.now().getTime() + retryDelayMs(delivery.attempts, ctx.retry));
  ctx.logger.info({ deliveryId: String(delivery.id), configurationId: config.id, runId: run.id, trigger: delivery.trigger, attempts: delivery.attempts, reason, retryAt: next.toISOString() }, "notification failed; will retry");
  await notificationsRepo.retryDeliveryAt(ctx.db, delivery.id, next, reason);
}

/**
 * Sends due deliveries, up to `concurrency` at once, never waiting for one to finish before
 * claiming the next (a slow receiver holds one slot, at most for the request timeout). Claims
 * hold a lease past the timeout, so a replica that dies mid-send leaves its deliveries to the
 * others once the lease ends: at-least-once.
 */
export function startDispatcher(ctx: NotifierContext, options: DispatcherOptions): Dispatcher {
  const leaseMs = ctx.send.timeoutMs + 30_000;
  const inFlight = new Set<Promise<void>>();
  let stopped = false;
  let claiming = false;
  let again = false;

  async function claim(): Promise<void> {
    if (stopped) return;
    if (claiming) {
      again = true;
      return;
    }
    claiming = true;
    try {
      do {
        again = false;
        const free = options.concurrency - inFlight.size;
        if (free <= 0) break;
        const due = await notificationsRepo.claimDueDeliveries(ctx.db, free, leaseMs, ctx.now());
        for (const delivery of due) {
          const task: Promise<void> = sendDelivery(ctx, delivery)
            .catch((error: unknown) =>
              ctx.logger.error({ deliveryId: String(delivery.id), error: error instanceof Error ? error.message : String(error) }, "notification delivery crashed; its lease will expire and it is retried"),
            )
            .finally(() => {
              inFlight.delete(task);
              wake();
            });
          inFlight.add(task);
        }
        if (due.length === free) again = true;
      } while (again && !stopped);
    } catch (error) {
      ctx.logger.warn({ error: error instanceof Error ? error.message : String(error) }, "claiming notification deliveries failed; retrying at the next poll");
    } finally {
      claiming = false;
    }
  }

  function wake(): void {
    void claim();
  }

  const timer = setInterval(wake, options.pollMs);
  wake();
  return {
    wake,
    async stop() {
      stopped = true;
      clearInterval(timer);
      while (claiming) await new Promise((resolve) => setTimeout(resolve, 20));
      await Promise.all([...inFlight]);
    },
  };
}
