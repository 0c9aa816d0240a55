import type { CommentModel } from "@tarmac/db";
import { toOne, type Resource } from "@tarmac/jsonapi";

/** A `comments` resource (notes §6.2). */
export function serializeComment(c: CommentModel & { runEventId: string | null }): Resource {
  return {
    id: c.id,
    type: "comments",
    attributes: { body: c.body },
    relationships: {
      "run-event": toOne("run-events", c.runEventId, c.runEventId ? `/api/v2/run-events/${c.runEventId}` : undefined),
    },
    links: { self: `/api/v2/comments/${c.id}` },
  };
}
