import { time, toMany, toOne, type Resource } from "@tarmac/jsonapi";
import type { NotificationConfigurationView } from "../services/notification-configurations";

export const notificationConfigurationPath = (id: string) => `/api/v2/notification-configurations/${id}`;

/**
 * HCP's notification-configurations resource. `token` is write-only (always null);
 * `delivery-responses` are the latest responses, newest first.
 */
export function serializeNotificationConfiguration({ row, users }: NotificationConfigurationView): Resource {
  const isEmail = row.destinationType === "email";
  return {
    id: row.id,
    type: "notification-configurations",
    attributes: {
      name: row.name,
      enabled: row.enabled,
      "destination-type": row.destinationType,
      url: row.url,
      token: null,
      triggers: row.triggers,
      "delivery-responses": Array.isArray(row.deliveryResponses) ? row.deliveryResponses : [],
      "email-addresses": row.emailAddresses,
      "user-email-addresses": isEmail ? users.map((u) => u.email) : [],
      "external-email-addresses": isEmail ? row.emailAddresses : [],
      "created-at": time(row.createdAt),
      "updated-at": time(row.updatedAt),
    },
    relationships: {
      subscribable: toOne("workspaces", row.workspaceId),
      users: toMany("users", users.map((u) => u.id)),
    },
    links: { self: notificationConfigurationPath(row.id) },
  };
}
