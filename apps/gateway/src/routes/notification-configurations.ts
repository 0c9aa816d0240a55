import { Router } from "express";
import { z } from "zod";
import { flattenQuery, paginate, parsePage } from "@tarmac/jsonapi";
import type { GatewayDeps } from "../deps";
import { principalOf } from "../http/auth";
import { parseBody, pathParam } from "../http/request-body";
import { sendDocument, sendEmpty } from "../http/respond";
import { serializeNotificationConfiguration } from "../serializers/notification-configurations";
import {
  createNotificationConfiguration,
  deleteNotificationConfiguration,
  listNotificationConfigurations,
  showNotificationConfiguration,
  updateNotificationConfiguration,
  verifyNotificationConfiguration,
  type NotificationConfigurationInput,
} from "../services/notification-configurations";

const stringList = z.array(z.string()).nullable().optional();

const attributes = z.object({
  name: z.string().optional(),
  "destination-type": z.string().optional(),
  enabled: z.boolean().optional(),
  url: z.string().nullable().optional(),
  token: z.string().nullable().optional(),
  triggers: stringList,
  "email-addresses": stringList,
});

const users = z.object({ data: z.array(z.object({ type: z.literal("users"), id: z.string().min(1) })).nullable() });

/**
 * `type` is HCP's "notification-configurations"; HCP's own create samples write the singular,
 * which it accepts, and so do we.
 */
const body = z.object({
  data: z.object({
    type: z.enum(["notification-configurations", "notification-configuration"]),
    id: z.string().optional(),
    attributes: z.preprocess((v) => v ?? {}, attributes),
    relationships: z.preprocess((v) => v ?? {}, z.object({ users: users.optional() }).passthrough()),
  }),
});

function inputOf(raw: unknown): NotificationConfigurationInput {
  const { attributes: a, relationships: r } = parseBody(body, raw).data;
  return {
    name: a.name,
    destinationType: a["destination-type"],
    enabled: a.enabled,
    url: a.url,
    token: a.token,
    triggers: a.triggers,
    emailAddresses: a["email-addresses"],
    userIds: r.users ? (r.users.data ?? []).map((u) => u.id) : undefined,
  };
}

/**
 * Notification configurations of workspaces (HCP's notification-configurations API). Thin:
 * parse, call the service, render.
 */
export function notificationConfigurationsRouter(deps: GatewayDeps): Router {
  const r = Router();

  r.get("/workspaces/:id/notification-configurations", async (req, res) => {
    const page = parsePage(req.query as Record<string, unknown>);
    const workspaceId = pathParam(req, "id");
    const { items, total } = await listNotificationConfigurations(deps, principalOf(req), workspaceId, { offset: page.offset, limit: page.size });
    const base = `${deps.publicUrl}/api/v2/workspaces/${encodeURIComponent(workspaceId)}/notification-configurations`;
    sendDocument(res, 200, {
      data: items.map(serializeNotificationConfiguration),
      ...paginate(page, total, base, flattenQuery(req.query as Record<string, unknown>)),
    });
  });

  r.post("/workspaces/:id/notification-configurations", async (req, res) => {
    const view = await createNotificationConfiguration(deps, principalOf(req), pathParam(req, "id"), inputOf(req.body));
    sendDocument(res, 201, { data: serializeNotificationConfiguration(view) });
  });

  r.get("/notification-configurations/:id", async (req, res) => {
    sendDocument(res, 200, { data: serializeNotificationConfiguration(await showNotificationConfiguration(deps, principalOf(req), pathParam(req, "id"))) });
  });

  r.patch("/notification-configurations/:id", async (req, res) => {
    const view = await updateNotificationConfiguration(deps, principalOf(req), pathParam(req, "id"), inputOf(req.body));
    sendDocument(res, 200, { data: serializeNotificationConfiguration(view) });
  });

  r.delete("/notification-configurations/:id", async (req, res) => {
    await deleteNotificationConfiguration(deps, principalOf(req), pathParam(req, "id"));
    sendEmpty(res, 204);
  });

  r.post("/notification-configurations/:id/actions/verify", async (req, res) => {
    const view = await verifyNotificationConfiguration(deps, principalOf(req), pathParam(req, "id"));
    sendDocument(res, 200, { data: serializeNotificationConfiguration(view) });
  });

  return r;
}
