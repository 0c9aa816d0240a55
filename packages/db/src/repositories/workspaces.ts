import { newId } from "@tarmac/domain";
import type { Db, Tx } from "../client";
import type { Prisma } from "../generated/prisma/client";
import { workspaceTagWhere, type TagFilter } from "./tags";

/** Everything the workspace serializer needs in one query. */
export const workspaceViewInclude = {
  organization: { select: { id: true, name: true } },
  currentRun: { select: { id: true, status: true, planOnly: true, savePlan: true } },
  lockedByUser: { select: { id: true, username: true } },
  lockedByTeam: { select: { id: true, name: true } },
  // HCP's deprecated latest-run: the newest run, whatever its state.
  runs: { select: { id: true }, orderBy: { seq: "desc" }, take: 1 },
} satisfies Prisma.WorkspaceInclude;

export type WorkspaceView = Prisma.WorkspaceGetPayload<{ include: typeof workspaceViewInclude }>;

export async function findWorkspaceView(db: Db | Tx, workspaceId: string): Promise<WorkspaceView | null> {
  return db.workspace.findUnique({ where: { id: workspaceId }, include: workspaceViewInclude });
}

export async function findWorkspaceViewByName(
  db: Db | Tx,
  organizationName: string,
  name: string,
): Promise<WorkspaceView | null> {
  return db.workspace.findFirst({ where: { name, organization: { name: organizationName } }, include: workspaceViewInclude });
}

export interface WorkspaceListQuery {
  organizationId: string;
  /** Only workspaces some of these teams can access; undefined means all of the organization's. */
  teamIds?: string[];
  /** Substring of the name (HCP `search[name]`), case-insensitive. */
  nameContains?: string;
  /** Workspaces carrying every one of these tags (`search[tags]`). */
  tags?: string[];
  /** Workspaces carrying none of these tags (`search[exclude-tags]`). */
  excludeTags?: string[];
  /** Key/value filters (`filter[tagged][i][key]`/`[value]`), all must match. */
  tagged?: TagFilter[];
  /** `filter[project][id]`. */
  projectId?: string;
  /** `search[wildcard-name]`: `*` at either end. */
  wildcardName?: string;
  offset: number;
  limit: number;
}

function wildcardWhere(pattern: string): Prisma.WorkspaceWhereInput {
  const starts = pattern.startsWith("*");
  const ends = pattern.endsWith("*");
  const core = pattern.replace(/^\*/, "").replace(/\*$/, "");
  if (starts && ends) return { name: { contains: core } };
  if (starts) return { name: { endsWith: core } };
  if (ends) return { name: { startsWith: core } };
  return { name: core };
}

export async function listWorkspaceViews(
  db: Db | Tx,
  q: WorkspaceListQuery,
): Promise<{ items: WorkspaceView[]; total: number }> {
  const and: Prisma.WorkspaceWhereInput[] = [{ organizationId: q.organizationId }];
  if (q.teamIds) {
    const teamId = { in: q.teamIds };
    and.push({ OR: [{ teamAccess: { some: { teamId } } }, { project: { teamAccess: { some: { teamId } } } }] });
  }
  if (q.nameContains) and.push({ name: { contains: q.nameContains, mode: "insensitive" } });
  if (q.wildcardName) and.push(wildcardWhere(q.wildcardName));
  and.push(...workspaceTagWhere(q));
  if (q.projectId) and.push({ projectId: q.projectId });
  const where: Prisma.WorkspaceWhereInput = { AND: and };
  const [items, total] = await Promise.all([
    db.workspace.findMany({
      where,
      include: workspaceViewInclude,
      orderBy: [{ name: "asc" }, { id: "asc" }],
      skip: q.offset,
      take: q.limit,
    }),
    db.workspace.count({ where }),
  ]);
  return { items, total };
}

export async function isWorkspaceNameTaken(
  db: Db | Tx,
  organizationId: string,
  name: string,
  exceptId?: string,
): Promise<boolean> {
  const row = await db.workspace.findUnique({
    where: { organizationId_name: { organizationId, name } },
    select: { id: true },
  });
  return row !== null && row.id !== exceptId;
}

/** Settings a client may write (create and update). */
export type WorkspaceSettings = Partial<
  Pick<
    Prisma.WorkspaceUncheckedCreateInput,
    | "name"
    | "description"
    | "autoApply"
    | "terraformVersion"
    | "workingDirectory"
    | "executionMode"
    | "speculativeEnabled"
    | "structuredRunOutputEnabled"
    | "queueAllRuns"
    | "allowDestroyPlan"
    | "fileTriggersEnabled"
    | "globalRemoteState"
    | "triggerPrefixes"
    | "source"
    | "agentPoolName"
    | "agentPoolId"
    | "projectId"
  >
>;

export async function createWorkspace(
  tx: Tx,
  organizationId: string,
  settings: WorkspaceSettings & { name: string },
): Promise<WorkspaceView> {
  const id = newId("ws");
  await tx.workspace.create({ data: { ...settings, id, organizationId } });
  const view = await findWorkspaceView(tx, id);
  if (!view) throw new Error(`workspace ${id} vanished after create`);
  return view;
}

export async function updateWorkspace(tx: Tx, workspaceId: string, settings: WorkspaceSettings): Promise<WorkspaceView> {
  await tx.workspace.update({ where: { id: workspaceId }, data: settings });
  const view = await findWorkspaceView(tx, workspaceId);
  if (!view) throw new Error(`workspace ${workspaceId} vanished after update`);
  return view;
}

export async function deleteWorkspace(db: Db | Tx, workspaceId: string): Promise<boolean> {
  const { count } = await db.workspace.deleteMany({ where: { id: workspaceId } });
  return count === 1;
}

export interface ManualLock {
  reason: string | null;
  userId: string | null;
  teamId: string | null;
  at: Date;
}

/** Sets (lock) or clears (null) the manual lock; the caller holds the row lock. */
export async function setManualLock(tx: Tx, workspaceId: string, lock: ManualLock | null): Promise<void> {
  await tx.workspace.update({
    where: { id: workspaceId },
    data: lock
      ? { locked: true, lockedReason: lock.reason, lockedByUserId: lock.userId, lockedByTeamId: lock.teamId, lockedAt: lock.at }
      : { locked: false, lockedReason: null, lockedByUserId: null, lockedByTeamId: null, lockedAt: null },
  });
}
