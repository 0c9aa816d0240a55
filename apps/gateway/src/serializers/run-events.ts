import type { RunEventModel } from "@tarmac/db";
import { time, toOne, type Resource } from "@tarmac/jsonapi";

/** A `run-events` resource (notes §6.1). */
export function serializeRunEvent(e: RunEventModel): Resource {
  return {
    id: e.id,
    type: "run-events",
    attributes: { action: e.action, "created-at": time(e.createdAt), description: e.description },
    relationships: {
      actor: toOne("users", e.actorId),
      comment: toOne("comments", e.commentId),
    },
    links: { self: `/api/v2/run-events/${e.id}` },
  };
}
