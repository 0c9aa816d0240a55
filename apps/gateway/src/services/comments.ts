import { inTransaction, runEventsRepo } from "@tarmac/db";
import { newId, TarmacError } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";

/** A comment on a run and its `commented` run event, written together. */
export async function addComment(
  deps: GatewayDeps,
  runId: string,
  body: string,
  authorId: string | null,
): Promise<NonNullable<Awaited<ReturnType<typeof runEventsRepo.findComment>>>> {
  const at = deps.now();
  const commentId = newId("wsc");
  const eventId = newId("re");
  await inTransaction(deps.db, async (tx) => {
    await runEventsRepo.insertComment(tx, { id: commentId, runId, body, authorId, at });
    await runEventsRepo.insertRunEvent(tx, { id: eventId, runId, action: "commented", description: body, actorId: authorId, commentId, at });
  });
  const comment = await runEventsRepo.findComment(deps.db, commentId);
  if (!comment) throw new TarmacError("internal", { detail: "the comment just written is missing" });
  return comment;
}
