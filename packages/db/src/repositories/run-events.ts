import { queryRows, type Db, type Tx } from "../client";
import { Prisma } from "../generated/prisma/client";
import type { CommentModel, RunEventModel } from "../generated/prisma/models";

/** Run events (the run's history) and comments; a comment always comes with its `commented` event. */

export interface NewRunEvent {
  id: string;
  runId: string;
  action: string;
  description: string | null;
  actorId: string | null;
  commentId?: string | null;
  at: Date;
}

/** Past Prisma's query compiler (queryRows): the scheduler records one with most status changes. */
export async function insertRunEvent(tx: Tx, e: NewRunEvent): Promise<RunEventModel> {
  const [row] = await queryRows<RunEventModel>(
    tx,
    Prisma.sql`INSERT INTO run_events (id, run_id, action, description, actor_id, comment_id, created_at)
    VALUES (${e.id}, ${e.runId}, ${e.action}, ${e.description}, ${e.actorId}, ${e.commentId ?? null}, ${e.at})
    RETURNING id, run_id AS "runId", action, description, actor_id AS "actorId", comment_id AS "commentId", created_at AS "createdAt"`,
  );
  return row!;
}

export async function insertComment(
  tx: Tx,
  c: { id: string; runId: string; body: string; authorId: string | null; at: Date },
): Promise<CommentModel> {
  return tx.comment.create({ data: { id: c.id, runId: c.runId, body: c.body, authorId: c.authorId, createdAt: c.at } });
}

export async function listRunEvents(
  db: Db | Tx,
  runId: string,
  page: { offset: number; size: number },
): Promise<{ rows: RunEventModel[]; total: number }> {
  const [rows, total] = await Promise.all([
    db.runEvent.findMany({ where: { runId }, orderBy: [{ createdAt: "asc" }, { id: "asc" }], skip: page.offset, take: page.size }),
    db.runEvent.count({ where: { runId } }),
  ]);
  return { rows, total };
}

export async function findRunEvent(db: Db | Tx, id: string): Promise<RunEventModel | null> {
  return db.runEvent.findUnique({ where: { id } });
}

export async function listComments(
  db: Db | Tx,
  runId: string,
  page: { offset: number; size: number },
): Promise<{ rows: (CommentModel & { runEventId: string | null })[]; total: number }> {
  const [rows, total] = await Promise.all([
    db.comment.findMany({
      where: { runId },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      skip: page.offset,
      take: page.size,
      include: { runEvent: { select: { id: true } } },
    }),
    db.comment.count({ where: { runId } }),
  ]);
  return { rows: rows.map(({ runEvent, ...c }) => ({ ...c, runEventId: runEvent?.id ?? null })), total };
}

export async function findComment(db: Db | Tx, id: string): Promise<(CommentModel & { runEventId: string | null }) | null> {
  const row = await db.comment.findUnique({ where: { id }, include: { runEvent: { select: { id: true } } } });
  if (!row) return null;
  const { runEvent, ...c } = row;
  return { ...c, runEventId: runEvent?.id ?? null };
}

export async function findComments(db: Db | Tx, ids: readonly string[]): Promise<(CommentModel & { runEventId: string | null })[]> {
  if (ids.length === 0) return [];
  // SQL, not the Prisma model: the scheduler reads this in its transactions (inSqlTransaction).
  return queryRows<CommentModel & { runEventId: string | null }>(
    db,
    Prisma.sql`SELECT c.id, c.run_id AS "runId", c.body, c.author_id AS "authorId", c.created_at AS "createdAt", e.id AS "runEventId"
    FROM comments c LEFT JOIN run_events e ON e.comment_id = c.id WHERE c.id = ANY(${[...new Set(ids)]}::text[])`,
  );
}
