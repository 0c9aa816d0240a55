import { Router } from "express";
import { z } from "zod";
import { runEventsRepo, runsRead } from "@tarmac/db";
import { isId, notFound } from "@tarmac/domain";
import { addIncluded, flattenQuery, paginate, parseInclude, type Resource } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { actingUserId, principalOf, type Principal } from "../http/auth";
import { parseBody } from "../http/request-body";
import { guards, runOf } from "../http/requires";
import { sendDocument } from "../http/respond";
import { loadRunForPrincipal } from "../http/run-access";
import { parseListPage } from "../http/run-visibility";
import { serializeComment } from "../serializers/comments";
import { serializeRunEvent } from "../serializers/run-events";
import { serializeUserFor } from "../services/run-documents";
import { addComment } from "../services/comments";

const createCommentBody = z.object({
  data: z.object({
    type: z.literal("comments").optional(),
    attributes: z.object({ body: z.string().trim().min(1, "must not be empty") }),
  }),
});

/**
 * Run events (the CLI lists them right after creating a run, notes §6.1) and comments (§6.2).
 * Task stages have their own router (task-stages.ts).
 */
export function runEventsRouter(deps: GatewayDeps): Router {
  const router = Router();
  const requires = guards(deps);

  async function includedFor(
    principal: Principal,
    events: readonly { actorId: string | null; commentId: string | null }[],
    include: Set<string>,
  ): Promise<Resource[]> {
    const included: Resource[] = [];
    if (include.has("actor")) {
      const users = await runsRead.findUsers(deps.db, events.map((e) => e.actorId));
      addIncluded(included, users.map(serializeUserFor(principal)));
    }
    if (include.has("comment")) {
      const ids = events.map((e) => e.commentId).filter((c): c is string => typeof c === "string");
      const comments = await runEventsRepo.findComments(deps.db, ids);
      addIncluded(included, comments.map(serializeComment));
    }
    return included;
  }

  router.get("/runs/:id/run-events", requires("run", "can-read-run"), async (req, res) => {
    const principal = principalOf(req);
    const { run } = runOf(res);
    const query = req.query as Record<string, unknown>;
    const page = parseListPage(query);
    const { rows, total } = await runEventsRepo.listRunEvents(deps.db, run.id, page);
    const included = await includedFor(principal, rows, parseInclude(query));
    const { meta, links } = paginate(page, total, `${deps.publicUrl}/api/v2/runs/${run.id}/run-events`, flattenQuery(query));
    sendDocument(res, 200, { data: rows.map(serializeRunEvent), ...(included.length > 0 ? { included } : {}), links, meta });
  });

  router.get("/run-events/:id", async (req, res) => {
    const eventId = String(req.params.id);
    if (!isId("re", eventId)) throw notFound("run event not found");
    const event = await runEventsRepo.findRunEvent(deps.db, eventId);
    if (!event) throw notFound("run event not found");
    const principal = principalOf(req);
    await loadRunForPrincipal(deps, principal, event.runId);
    const included = await includedFor(principal, [event], parseInclude(req.query as Record<string, unknown>));
    sendDocument(res, 200, { data: serializeRunEvent(event), ...(included.length > 0 ? { included } : {}) });
  });

  router.get("/runs/:id/comments", requires("run", "can-read-run"), async (req, res) => {
    const { run } = runOf(res);
    const query = req.query as Record<string, unknown>;
    const page = parseListPage(query);
    const { rows, total } = await runEventsRepo.listComments(deps.db, run.id, page);
    const { meta, links } = paginate(page, total, `${deps.publicUrl}/api/v2/runs/${run.id}/comments`, flattenQuery(query));
    sendDocument(res, 200, { data: rows.map(serializeComment), links, meta });
  });

  // Commenting needs the plan permission (notes §6.2); organization tokens do not act on runs.
  router.post("/runs/:id/comments", requires("run", "can-comment"), async (req, res) => {
    const { run } = runOf(res);
    const body = parseBody(createCommentBody, req.body).data.attributes.body;
    const comment = await addComment(deps, run.id, body, actingUserId(principalOf(req)));
    sendDocument(res, 201, { data: serializeComment(comment) });
  });

  router.get("/comments/:id", async (req, res) => {
    const commentId = String(req.params.id);
    if (!isId("wsc", commentId)) throw notFound("comment not found");
    const comment = await runEventsRepo.findComment(deps.db, commentId);
    if (!comment) throw notFound("comment not found");
    await loadRunForPrincipal(deps, principalOf(req), comment.runId);
    sendDocument(res, 200, { data: serializeComment(comment) });
  });

  return router;
}
