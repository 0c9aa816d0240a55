import { newId } from "@tarmac/domain";
import type { Db, Tx } from "../client";
import type { NotificationConfiguration, NotificationDelivery, Prisma } from "../generated/prisma/client";

export type NotificationConfigurationRow = NotificationConfiguration;
export type NotificationDeliveryRow = NotificationDelivery;

/** What a configuration is written with; `token` is already encrypted by the caller (write-only). */
export interface NotificationConfigurationData {
  name: string;
  destinationType: string;
  enabled: boolean;
  url: string | null;
  token: string | null;
  triggers: string[];
  emailAddresses: string[];
  emailUserIds: string[];
}

export async function countConfigurations(db: Db | Tx, workspaceId: string): Promise<number> {
  return db.notificationConfiguration.count({ where: { workspaceId } });
}

export async function listConfigurations(
  db: Db | Tx,
  workspaceId: string,
  page: { offset: number; limit: number },
): Promise<{ items: NotificationConfigurationRow[]; total: number }> {
  const [items, total] = await Promise.all([
    db.notificationConfiguration.findMany({ where: { workspaceId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip: page.offset, take: page.limit }),
    db.notificationConfiguration.count({ where: { workspaceId } }),
  ]);
  return { items, total };
}

export async function findConfiguration(db: Db | Tx, id: string): Promise<NotificationConfigurationRow | null> {
  return db.notificationConfiguration.findUnique({ where: { id } });
}

export async function createConfiguration(
  db: Db | Tx,
  workspaceId: string,
  data: NotificationConfigurationData & { id?: string; deliveryResponses?: object[] },
): Promise<NotificationConfigurationRow> {
  const { deliveryResponses, id, ...rest } = data;
  return db.notificationConfiguration.create({
    data: { id: id ?? newId("nc"), workspaceId, ...rest, deliveryResponses: (deliveryResponses ?? []) as Prisma.InputJsonValue },
  });
}

/**
 * Creates a configuration unless the workspace already has `limit`: counted under the
 * workspace's row lock, so concurrent creates cannot pass the limit together. Null when full.
 */
export async function createConfigurationWithinLimit(
  tx: Tx,
  workspaceId: string,
  data: Parameters<typeof createConfiguration>[2],
  limit: number,
): Promise<NotificationConfigurationRow | null> {
  await tx.$queryRaw`SELECT id FROM workspaces WHERE id = ${workspaceId} FOR UPDATE`;
  if ((await countConfigurations(tx, workspaceId)) >= limit) return null;
  return createConfiguration(tx, workspaceId, data);
}

export async function updateConfiguration(
  db: Db | Tx,
  id: string,
  data: Partial<NotificationConfigurationData>,
): Promise<NotificationConfigurationRow> {
  return db.notificationConfiguration.update({ where: { id }, data });
}

/** Its pending deliveries go with it (ON DELETE CASCADE). */
export async function deleteConfiguration(db: Db | Tx, id: string): Promise<boolean> {
  return (await db.notificationConfiguration.deleteMany({ where: { id } })).count > 0;
}

/**
 * Puts a delivery response first in the configuration's list and keeps the newest `keep`, in
 * one statement, so replicas recording at once lose none of theirs. False when the
 * configuration is gone.
 */
export async function recordDeliveryResponse(db: Db | Tx, id: string, response: object, keep: number): Promise<boolean> {
  const updated = await db.$executeRaw`
    UPDATE notification_configurations
       SET delivery_responses = (
             SELECT COALESCE(jsonb_agg(e.value ORDER BY e.ord), '[]'::jsonb)
               FROM jsonb_array_elements(jsonb_build_array(${JSON.stringify(response)}::jsonb) || delivery_responses)
                    WITH ORDINALITY AS e(value, ord)
              WHERE e.ord <= ${keep}),
           updated_at = now()
     WHERE id = ${id}`;
  return updated > 0;
}

/** Of the given user ids, those of users who belong to a team of the organization, with their email. */
export async function organizationMembers(db: Db | Tx, organizationId: string, userIds: string[]): Promise<{ id: string; email: string }[]> {
  if (userIds.length === 0) return [];
  return db.user.findMany({
    where: { id: { in: userIds }, memberships: { some: { team: { organizationId } } } },
    select: { id: true, email: true },
  });
}

export async function userEmails(db: Db | Tx, userIds: string[]): Promise<{ id: string; email: string }[]> {
  if (userIds.length === 0) return [];
  return db.user.findMany({ where: { id: { in: userIds } }, select: { id: true, email: true }, orderBy: { id: "asc" } });
}

const notifiedRunSelect = {
  id: true,
  status: true,
  message: true,
  createdAt: true,
  planOnly: true,
  savePlan: true,
  hasChanges: true,
  allowEmptyApply: true,
  autoApply: true,
  source: true,
  createdById: true,
  organizationId: true,
  workspaceId: true,
  createdBy: { select: { username: true } },
  canceledBy: { select: { username: true } },
  workspace: { select: { name: true, autoApply: true } },
  organization: { select: { name: true, costEstimationEnabled: true } },
} as const;

/** A run with what its notifications say about it (names of its workspace, organization and people). */
export type NotifiedRun = Prisma.RunGetPayload<{ select: typeof notifiedRunSelect }>;

export async function findNotifiedRun(db: Db | Tx, runId: string): Promise<NotifiedRun | null> {
  return db.run.findUnique({ where: { id: runId }, select: notifiedRunSelect });
}

/** Enabled configurations of the workspace that subscribe to the trigger. */
export async function subscribedConfigurations(db: Db | Tx, workspaceId: string, trigger: string): Promise<NotificationConfigurationRow[]> {
  return db.notificationConfiguration.findMany({ where: { workspaceId, enabled: true, triggers: { has: trigger } }, orderBy: { createdAt: "asc" } });
}

export interface NewDelivery {
  configurationId: string;
  runId: string;
  trigger: string;
  runStatus: string;
  runUpdatedAt: Date;
  runUpdatedBy: string | null;
}

/**
 * Records the deliveries a run's status change owes. The unique (configuration, run, trigger)
 * makes this the claim: whichever notifier replica inserts a row first owns it, a repeated
 * event inserts nothing. Returns how many rows are new.
 */
export async function insertDeliveries(db: Db | Tx, rows: NewDelivery[], now: Date): Promise<number> {
  if (rows.length === 0) return 0;
  const result = await db.notificationDelivery.createMany({
    data: rows.map((r) => ({ ...r, nextAttemptAt: now, createdAt: now })),
    skipDuplicates: true,
  });
  return result.count;
}

/**
 * Takes up to `limit` deliveries that are due, holding each until `now + leaseMs`: rows a
 * replica is sending are skipped by the others (SKIP LOCKED while claiming, the lease after),
 * and a lease that expired (its replica died mid-send) makes the row due again. Deliveries of
 * one configuration and run go out in the order of their status changes: a row waits while an
 * earlier one of the same pair is still pending.
 */
export async function claimDueDeliveries(db: Db, limit: number, leaseMs: number, now: Date): Promise<NotificationDeliveryRow[]> {
  const leaseUntil = new Date(now.getTime() + leaseMs);
  const rows = await db.$queryRaw<{ id: bigint }[]>`
    UPDATE notification_deliveries d
       SET lease_until = ${leaseUntil}, attempts = d.attempts + 1
     WHERE d.id IN (
       SELECT c.id FROM notification_deliveries c
        WHERE c.state = 'pending'
          AND c.next_attempt_at <= ${now}
          AND (c.lease_until IS NULL OR c.lease_until <= ${now})
          AND NOT EXISTS (
            SELECT 1 FROM notification_deliveries e
             WHERE e.configuration_id = c.configuration_id AND e.run_id = c.run_id
               AND e.state = 'pending' AND (e.run_updated_at, e.id) < (c.run_updated_at, c.id))
        ORDER BY c.next_attempt_at, c.id
        LIMIT ${limit}
        FOR UPDATE SKIP LOCKED)
    RETURNING d.id`;
  if (rows.length === 0) return [];
  return db.notificationDelivery.findMany({ where: { id: { in: rows.map((r) => r.id) } }, orderBy: [{ runUpdatedAt: "asc" }, { id: "asc" }] });
}

/** Ends a claimed delivery: delivered, failed for good, or skipped (its configuration was disabled). */
export async function finishDelivery(
  db: Db | Tx,
  id: bigint,
  state: "delivered" | "failed" | "skipped",
  now: Date,
  lastError: string | null = null,
): Promise<void> {
  await db.notificationDelivery.update({
    where: { id },
    data: { state, leaseUntil: null, lastError, ...(state === "delivered" ? { deliveredAt: now } : {}) },
  });
}

/** Gives a claimed delivery back for another attempt at `nextAttemptAt`. */
export async function retryDeliveryAt(db: Db | Tx, id: bigint, nextAttemptAt: Date, lastError: string): Promise<void> {
  await db.notificationDelivery.update({ where: { id }, data: { nextAttemptAt, leaseUntil: null, lastError } });
}
