import { ORG_QUEUE_RUNNING_STATUSES, ORG_QUEUE_WAITING_STATUSES } from "@tarmac/domain";
import { queryRows, type Db, type Tx } from "../client";
import { Prisma } from "../generated/prisma/client";
import { RUN_COLUMNS, RUN_DOCUMENT_EXTRA_COLUMNS, runDocumentRowOf, type RunDocumentRow } from "./runs-read";
import type { RunStatus } from "../generated/prisma/enums";
import type { RunModel } from "../generated/prisma/models";

/**
 * The run lists: newest first (seq DESC), one query for the page and, where the API shows
 * totals, one count. Filter values are already validated: an empty list matches nothing.
 */
export interface RunListFilter {
  operations?: string[];
  statuses?: RunStatus[];
  agentPoolNames?: string[];
  sources?: string[];
  workspaceNames?: string[];
  /** search[user]: VCS username, case-insensitive substring. */
  user?: string;
  /** search[commit]: commit sha prefix, case-insensitive. */
  commit?: string;
  /** search[basic]: username, commit sha, run id or message, case-insensitive substring. */
  basic?: string;
  /** The workspace list hides plan-only runs unless filter[operation] is given. */
  excludePlanOnly?: boolean;
}

export interface PageWindow {
  offset: number;
  size: number;
}

function whereFor(filter: RunListFilter): Prisma.RunWhereInput[] {
  const and: Prisma.RunWhereInput[] = [];
  if (filter.operations) and.push({ operation: { in: filter.operations } });
  else if (filter.excludePlanOnly) and.push({ planOnly: false });
  if (filter.statuses) and.push({ status: { in: filter.statuses } });
  if (filter.agentPoolNames) and.push({ agentPoolName: { in: filter.agentPoolNames } });
  if (filter.sources) and.push({ source: { in: filter.sources } });
  if (filter.workspaceNames) and.push({ workspace: { name: { in: filter.workspaceNames } } });
  if (filter.user !== undefined || filter.commit !== undefined) {
    if (filter.user !== undefined) and.push({ vcsUsername: { contains: filter.user, mode: "insensitive" } });
    if (filter.commit !== undefined) and.push({ commitSha: { startsWith: filter.commit, mode: "insensitive" } });
  } else if (filter.basic !== undefined && filter.basic !== "") {
    const q = filter.basic;
    and.push({
      OR: [
        { vcsUsername: { contains: q, mode: "insensitive" } },
        { commitSha: { contains: q, mode: "insensitive" } },
        { id: { contains: q, mode: "insensitive" } },
        { message: { contains: q, mode: "insensitive" } },
      ],
    });
  }
  return and;
}

export async function listWorkspaceRuns(
  db: Db | Tx,
  workspaceId: string,
  filter: RunListFilter,
  page: PageWindow,
): Promise<{ rows: RunModel[]; total: number; documents?: RunDocumentRow[] }> {
  const conditions = whereFor(filter);
  if (isDefaultView(filter, conditions)) return visibleRunsPage(db, workspaceId, page);
  const where: Prisma.RunWhereInput = { AND: [{ workspaceId }, ...conditions] };
  const [rows, total] = await Promise.all([
    db.run.findMany({ where, orderBy: { seq: "desc" }, skip: page.offset, take: page.size }),
    db.run.count({ where }),
  ]);
  return { rows, total };
}

/**
 * A page of the default view past Prisma's query compiler (see queryRows), in one statement: the
 * page's runs with what their documents show (RUN_DOCUMENT_EXTRA_COLUMNS) and the workspace's
 * total, where separate reads cost a round trip each. The literal `plan_only = false` lets the
 * planner use runs_workspace_id_seq_visible_idx. An empty page has no row to carry the total:
 * it is read on its own then.
 */
async function visibleRunsPage(
  db: Db | Tx,
  workspaceId: string,
  page: PageWindow,
): Promise<{ rows: RunModel[]; total: number; documents: RunDocumentRow[] }> {
  const found = await queryRows<Record<string, unknown> & { x_total: bigint | null }>(
    db,
    Prisma.sql`SELECT ${RUN_COLUMNS}, ${RUN_DOCUMENT_EXTRA_COLUMNS},
        (SELECT sum(visible_runs)::bigint FROM workspace_run_counts WHERE workspace_id = ${workspaceId}) AS x_total
      FROM (SELECT * FROM runs WHERE workspace_id = ${workspaceId} AND plan_only = false
        ORDER BY seq DESC OFFSET ${page.offset} LIMIT ${page.size}) r
      ORDER BY r.seq DESC`,
  );
  if (found.length === 0) return { rows: [], total: await countVisibleRuns(db, workspaceId), documents: [] };
  const total = Number(found[0]!.x_total ?? 0);
  const documents = found.map(({ x_total: _total, ...row }) => runDocumentRowOf(row));
  return { rows: documents.map((d) => d.run), total, documents };
}

/** The unfiltered list, which hides plan-only runs: the request nearly every client makes. */
function isDefaultView(filter: RunListFilter, conditions: Prisma.RunWhereInput[]): boolean {
  return filter.excludePlanOnly === true && filter.operations === undefined && conditions.length === 1;
}

/**
 * The default view's total: the counters the triggers of migration 20261201_0500_workspace_run_counts
 * keep for each workspace, in up to 16 shards (20261202_0300_workspace_run_count_shards) so that
 * runs created at once in one workspace do not wait for each other; a few rows read instead of
 * counting every visible run per request.
 */
async function countVisibleRuns(db: Db | Tx, workspaceId: string): Promise<number> {
  const [row] = await queryRows<{ n: bigint | null }>(db, Prisma.sql`
    SELECT sum(visible_runs)::bigint AS n FROM workspace_run_counts WHERE workspace_id = ${workspaceId}`);
  return Number(row?.n ?? 0);
}

/**
 * The organization list has no totals (HCP leaves them out): one extra row tells whether a next
 * page exists. `workspaceIds` null means every workspace of the organization is visible.
 */
export async function listOrganizationRuns(
  db: Db | Tx,
  organizationId: string,
  workspaceIds: readonly string[] | null,
  filter: RunListFilter,
  page: PageWindow,
): Promise<{ rows: RunModel[]; hasMore: boolean }> {
  const scope: Prisma.RunWhereInput[] = [{ organizationId }];
  if (workspaceIds !== null) scope.push({ workspaceId: { in: [...workspaceIds] } });
  const rows = await db.run.findMany({
    where: { AND: [...scope, ...whereFor(filter)] },
    orderBy: { seq: "desc" },
    skip: page.offset,
    take: page.size + 1,
  });
  return { rows: rows.slice(0, page.size), hasMore: rows.length > page.size };
}

/** Runs waiting for execution capacity; with the running ones they make the organization queue. */
export const WAITING_FOR_CAPACITY: RunStatus[] = [...ORG_QUEUE_WAITING_STATUSES];
export const USING_CAPACITY: RunStatus[] = [...ORG_QUEUE_RUNNING_STATUSES];

/** The organization's execution queue, oldest first, with each waiting run's place in it. */
export async function listOrganizationQueue(
  db: Db | Tx,
  organizationId: string,
  workspaceIds: readonly string[] | null,
  page: PageWindow,
): Promise<{ rows: RunModel[]; total: number; positions: Map<string, number> }> {
  const where: Prisma.RunWhereInput = {
    organizationId,
    status: { in: [...WAITING_FOR_CAPACITY, ...USING_CAPACITY] },
    ...(workspaceIds !== null ? { workspaceId: { in: [...workspaceIds] } } : {}),
  };
  const [rows, total] = await Promise.all([
    db.run.findMany({ where, orderBy: { seq: "asc" }, skip: page.offset, take: page.size }),
    db.run.count({ where }),
  ]);
  const positions = new Map<string, number>();
  const waiting = rows.filter((r) => WAITING_FOR_CAPACITY.includes(r.status)).map((r) => r.id);
  if (waiting.length > 0) {
    const counted = await db.$queryRaw<{ id: string; ahead: bigint }[]>`
      SELECT r.id, (
        SELECT count(*) FROM runs o
        WHERE o.organization_id = r.organization_id AND o.seq < r.seq
          AND o.status::text = ANY(${WAITING_FOR_CAPACITY}::text[])
      ) AS ahead
      FROM runs r WHERE r.id = ANY(${waiting}::text[])`;
    for (const c of counted) positions.set(c.id, Number(c.ahead));
  }
  return { rows, total, positions };
}

export async function organizationCapacity(db: Db | Tx, organizationId: string): Promise<{ pending: number; running: number }> {
  const [pending, running] = await Promise.all([
    db.run.count({ where: { organizationId, status: { in: WAITING_FOR_CAPACITY } } }),
    db.run.count({ where: { organizationId, status: { in: USING_CAPACITY } } }),
  ]);
  return { pending, running };
}
