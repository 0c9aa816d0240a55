import { decryptValue, encryptValue, inTransaction, notificationsRepo } from "@tarmac/db";
import { badRequest, newId, notFound, type WorkspaceAccess } from "@tarmac/domain";
import {
  ACCEPTED_TRIGGERS,
  DELIVERY_RESPONSES_KEPT,
  DESTINATION_TYPES,
  deliver,
  isHttpDestination,
  verificationContent,
  type DeliveryResponse,
  type DestinationType,
  type SendSettings,
} from "@tarmac/notifications";
import { smtpSettingsOf } from "@tarmac/config";
import type { GatewayDeps } from "../deps";
import type { Principal } from "../http/auth";
import { invalidAttribute } from "../http/request-body";
import { loadWorkspaceForPrincipal, type LoadedWorkspace } from "../http/workspace-access";

type Row = notificationsRepo.NotificationConfigurationRow;

/** HCP: "Each workspace can have up to 20 notification configurations". */
export const MAX_CONFIGURATIONS_PER_WORKSPACE = 20;

/** A configuration with the users it emails (the `users` relationship). */
export interface NotificationConfigurationView {
  row: Row;
  users: { id: string; email: string }[];
}

/** The attributes and relationships a request gave; absent members keep their value on update. */
export interface NotificationConfigurationInput {
  name?: string | undefined;
  destinationType?: string | undefined;
  enabled?: boolean | undefined;
  url?: string | null | undefined;
  token?: string | null | undefined;
  triggers?: string[] | null | undefined;
  emailAddresses?: string[] | null | undefined;
  userIds?: string[] | undefined;
}

type Deps = Pick<GatewayDeps, "db" | "env" | "keys" | "publicUrl" | "now">;

function sendSettings(deps: Deps): SendSettings {
  return {
    timeoutMs: deps.env.TARMAC_NOTIFICATION_TIMEOUT_MS,
    userAgent: `TFE/1.0 (+${deps.publicUrl}; Tarmac)`,
    smtp: smtpSettingsOf(deps.env),
  };
}

/** Readers see a workspace's configurations; admins manage them (HCP permissions). */
async function loadConfiguration(deps: Deps, principal: Principal, id: string, minimum: WorkspaceAccess): Promise<{ row: Row; loaded: LoadedWorkspace }> {
  const row = await notificationsRepo.findConfiguration(deps.db, id);
  if (!row) throw notFound();
  const loaded = await loadWorkspaceForPrincipal(deps, principal, row.workspaceId, minimum);
  return { row, loaded };
}

async function viewOf(deps: Deps, row: Row): Promise<NotificationConfigurationView> {
  return { row, users: await notificationsRepo.userEmails(deps.db, row.emailUserIds) };
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function isHttpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return u.protocol === "http:" || u.protocol === "https:";
  } catch {
    return false;
  }
}

/** What a configuration will be once the input is applied: checked as a whole (HCP's 422s). */
interface Settings {
  name: string;
  destinationType: DestinationType;
  enabled: boolean;
  url: string | null;
  /** Plain text; null when none. */
  token: string | null;
  triggers: string[];
  emailAddresses: string[];
  emailUserIds: string[];
}

async function checkSettings(deps: Deps, organizationId: string, s: Settings): Promise<void> {
  if (s.name.trim() === "") throw invalidAttribute("Name can't be blank", "/data/attributes/name");
  if (s.name.length > 255) throw invalidAttribute("Name is too long (maximum is 255 characters)", "/data/attributes/name");
  for (const t of s.triggers) {
    if (!ACCEPTED_TRIGGERS.includes(t)) {
      throw invalidAttribute(`Triggers contains "${t}", which is not one of ${ACCEPTED_TRIGGERS.join(", ")}`, "/data/attributes/triggers");
    }
  }
  if (isHttpDestination(s.destinationType)) {
    if (!s.url) throw invalidAttribute("Url can't be blank", "/data/attributes/url");
    if (!isHttpUrl(s.url)) throw invalidAttribute("Url must be an HTTP or HTTPS URL", "/data/attributes/url");
    if (s.emailAddresses.length > 0) throw invalidAttribute("Email addresses are only for email destinations", "/data/attributes/email-addresses");
    if (s.emailUserIds.length > 0) throw invalidAttribute("Users are only for email destinations", "/data/relationships/users");
    return;
  }
  for (const address of s.emailAddresses) {
    if (!EMAIL.test(address)) throw invalidAttribute(`"${address}" is not a valid email address`, "/data/attributes/email-addresses");
  }
  const members = await notificationsRepo.organizationMembers(deps.db, organizationId, s.emailUserIds);
  const missing = s.emailUserIds.find((id) => !members.some((m) => m.id === id));
  if (missing) throw invalidAttribute(`User ${missing} is not a member of the organization`, "/data/relationships/users");
}

function destinationTypeOf(value: string | undefined): DestinationType {
  if (value === undefined || value === "") throw invalidAttribute("Destination type can't be blank", "/data/attributes/destination-type");
  if (!(DESTINATION_TYPES as readonly string[]).includes(value)) {
    throw invalidAttribute(`Destination type must be one of ${DESTINATION_TYPES.join(", ")}`, "/data/attributes/destination-type");
  }
  return value as DestinationType;
}

/** Sends a verification request for these settings; the configuration id is the one it has (or will have). */
async function sendVerification(deps: Deps, id: string, s: Settings): Promise<DeliveryResponse> {
  const emails = s.destinationType === "email" ? [...s.emailAddresses, ...(await notificationsRepo.userEmails(deps.db, s.emailUserIds)).map((u) => u.email)] : [];
  return deliver(
    { destinationType: s.destinationType, url: s.url, token: s.token, emailAddresses: s.emailAddresses },
    emails,
    verificationContent(id, s.name),
    sendSettings(deps),
    deps.now,
  );
}

function verificationFailed(response: DeliveryResponse): never {
  const what = response.code ? `answered ${response.code}` : `failed (${response.body})`;
  throw badRequest(`Unable to complete verification request to destination URL: ${response.url} ${what}`);
}

/** A configuration saved enabled must pass verification first (HTTP destinations; email is verified on demand). */
function needsVerification(s: Settings): boolean {
  return s.enabled && isHttpDestination(s.destinationType);
}

function rowData(deps: Deps, s: Settings): notificationsRepo.NotificationConfigurationData {
  return {
    name: s.name,
    destinationType: s.destinationType,
    enabled: s.enabled,
    url: isHttpDestination(s.destinationType) ? s.url : null,
    token: s.token ? encryptValue(s.token, deps.keys.current) : null,
    triggers: [...new Set(s.triggers)],
    emailAddresses: s.emailAddresses,
    emailUserIds: [...new Set(s.emailUserIds)],
  };
}

export async function listNotificationConfigurations(
  deps: Deps,
  principal: Principal,
  workspaceId: string,
  page: { offset: number; limit: number },
): Promise<{ items: NotificationConfigurationView[]; total: number }> {
  const { workspace } = await loadWorkspaceForPrincipal(deps, principal, workspaceId, "read");
  const { items, total } = await notificationsRepo.listConfigurations(deps.db, workspace.id, page);
  return { items: await Promise.all(items.map((row) => viewOf(deps, row))), total };
}

export async function showNotificationConfiguration(deps: Deps, principal: Principal, id: string): Promise<NotificationConfigurationView> {
  const { row } = await loadConfiguration(deps, principal, id, "read");
  return viewOf(deps, row);
}

export async function createNotificationConfiguration(
  deps: Deps,
  principal: Principal,
  workspaceId: string,
  input: NotificationConfigurationInput,
): Promise<NotificationConfigurationView> {
  const { workspace } = await loadWorkspaceForPrincipal(deps, principal, workspaceId, "admin");
  const settings: Settings = {
    name: input.name ?? "",
    destinationType: destinationTypeOf(input.destinationType),
    enabled: input.enabled ?? false,
    url: input.url ?? null,
    token: input.token || null,
    triggers: input.triggers ?? [],
    emailAddresses: input.emailAddresses ?? [],
    emailUserIds: input.userIds ?? [],
  };
  await checkSettings(deps, workspace.organizationId, settings);
  const full = () => invalidAttribute(`A workspace can have at most ${MAX_CONFIGURATIONS_PER_WORKSPACE} notification configurations`, "/data");
  // Checked again under a lock when saving; here so a full workspace sends no verification.
  if ((await notificationsRepo.countConfigurations(deps.db, workspace.id)) >= MAX_CONFIGURATIONS_PER_WORKSPACE) throw full();
  const id = newId("nc");
  const responses: DeliveryResponse[] = [];
  if (needsVerification(settings)) {
    const response = await sendVerification(deps, id, settings);
    if (response.successful !== "true") verificationFailed(response);
    responses.push(response);
  }
  const row = await inTransaction(deps.db, (tx) =>
    notificationsRepo.createConfigurationWithinLimit(tx, workspace.id, { id, ...rowData(deps, settings), deliveryResponses: responses }, MAX_CONFIGURATIONS_PER_WORKSPACE),
  );
  if (!row) throw full();
  return viewOf(deps, row);
}

export async function updateNotificationConfiguration(
  deps: Deps,
  principal: Principal,
  id: string,
  input: NotificationConfigurationInput,
): Promise<NotificationConfigurationView> {
  const { row, loaded } = await loadConfiguration(deps, principal, id, "admin");
  const current = row.destinationType as DestinationType;
  if (input.destinationType !== undefined && input.destinationType !== current) {
    throw invalidAttribute("Destination type cannot be changed", "/data/attributes/destination-type");
  }
  const settings: Settings = {
    name: input.name ?? row.name,
    destinationType: current,
    enabled: input.enabled ?? row.enabled,
    url: input.url !== undefined ? input.url : row.url,
    token: input.token !== undefined ? input.token || null : row.token ? decryptValue(row.token, deps.keys) : null,
    triggers: input.triggers !== undefined ? (input.triggers ?? []) : row.triggers,
    emailAddresses: input.emailAddresses !== undefined ? (input.emailAddresses ?? []) : row.emailAddresses,
    // HCP replaces the users with those the request names: none when it names none (go-tfe's
    // update tests: an email configuration updated without EmailUsers has none).
    emailUserIds: input.userIds ?? [],
  };
  await checkSettings(deps, loaded.workspace.organizationId, settings);
  let response: DeliveryResponse | null = null;
  if (needsVerification(settings)) {
    response = await sendVerification(deps, row.id, settings);
    // HCP: "If this request fails to send, or the response is not successful, the configuration will not save."
    if (response.successful !== "true") verificationFailed(response);
  }
  const updated = await inTransaction(deps.db, async (tx) => {
    const data = rowData(deps, settings);
    // An unchanged token keeps its stored ciphertext.
    if (input.token === undefined) data.token = row.token;
    const saved = await notificationsRepo.updateConfiguration(tx, row.id, data);
    if (!response) return saved;
    await notificationsRepo.recordDeliveryResponse(tx, row.id, response, DELIVERY_RESPONSES_KEPT);
    return (await notificationsRepo.findConfiguration(tx, row.id)) ?? saved;
  });
  return viewOf(deps, updated);
}

export async function deleteNotificationConfiguration(deps: Deps, principal: Principal, id: string): Promise<void> {
  const { row } = await loadConfiguration(deps, principal, id, "admin");
  await notificationsRepo.deleteConfiguration(deps.db, row.id);
}

/**
 * Sends a verification payload with the stored settings and records the response. A failed
 * verification is recorded too (it is what `delivery-responses` is for), then answered 400.
 */
export async function verifyNotificationConfiguration(deps: Deps, principal: Principal, id: string): Promise<NotificationConfigurationView> {
  const { row } = await loadConfiguration(deps, principal, id, "admin");
  const settings: Settings = {
    name: row.name,
    destinationType: row.destinationType as DestinationType,
    enabled: row.enabled,
    url: row.url,
    token: row.token ? decryptValue(row.token, deps.keys) : null,
    triggers: row.triggers,
    emailAddresses: row.emailAddresses,
    emailUserIds: row.emailUserIds,
  };
  const response = await sendVerification(deps, row.id, settings);
  await notificationsRepo.recordDeliveryResponse(deps.db, row.id, response, DELIVERY_RESPONSES_KEPT);
  if (response.successful !== "true") verificationFailed(response);
  const updated = await notificationsRepo.findConfiguration(deps.db, row.id);
  if (!updated) throw notFound();
  return viewOf(deps, updated);
}
