import { createHmac } from "node:crypto";
import { emailMessage, genericPayload, slackPayload, teamsPayload, type NotificationContent } from "./payloads";
import type { DestinationType } from "./triggers";

/**
 * One delivery attempt as HCP shows it in `delivery-responses`: `code` is a string, `headers`
 * maps lowercased names to arrays of values, `successful` is "true" or "false" (go-tfe reads
 * both as strings), `sent-at` is RFC 3339.
 */
export interface DeliveryResponse {
  url: string;
  body: string;
  code: string;
  headers: Record<string, string[]>;
  "sent-at": string;
  successful: "true" | "false";
}

/** A configuration keeps this many of its latest delivery responses, newest first. */
export const DELIVERY_RESPONSES_KEPT = 10;

/** Response bodies are kept this long at most ("may be truncated"). */
export const MAX_RESPONSE_BODY_CHARS = 4096;

export interface SmtpSettings {
  host: string;
  port: number;
  from: string;
  user?: string | undefined;
  password?: string | undefined;
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  secure?: boolean | undefined;
}

export interface SendSettings {
  /** Each HTTP request or SMTP conversation gives up after this long. */
  timeoutMs: number;
  userAgent: string;
  /** Email destinations fail (and are retried) without it. */
  smtp?: SmtpSettings | undefined;
}

/** Where a notification goes: a configuration as the sender needs it (token in plain text). */
export interface Destination {
  destinationType: DestinationType;
  url: string | null;
  token: string | null;
  emailAddresses: string[];
}

/** `X-TFE-Notification-Signature`: the hex HMAC-SHA512 of the exact body, keyed with the token. */
export function signBody(body: string, token: string): string {
  return createHmac("sha512", token).update(body, "utf8").digest("hex");
}

function bodyFor(type: DestinationType, n: NotificationContent): Record<string, unknown> {
  switch (type) {
    case "generic":
      return genericPayload(n);
    case "slack":
      return slackPayload(n);
    case "microsoft-teams":
      return teamsPayload(n);
    case "email":
      throw new Error("email destinations are not sent over HTTP");
  }
}

function failure(url: string, sentAt: Date, reason: string): DeliveryResponse {
  return { url, body: reason, code: "", headers: {}, "sent-at": sentAt.toISOString(), successful: "false" };
}

function reasonOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  if (error instanceof Error && error.name === "TimeoutError") return "the request timed out";
  if (cause?.code) return `${cause.code}${cause.message ? `: ${cause.message}` : ""}`;
  return error instanceof Error ? error.message : String(error);
}

/**
 * POSTs the destination's payload (JSON) and returns what came back. Only a 2xx answer is a
 * success; a refused connection or a timeout is a failed response with the reason as its body.
 * Generic payloads carry `X-TFE-Notification-Signature` (empty without a token, as HCP sends it).
 */
export async function sendHttp(dest: Destination, n: NotificationContent, settings: SendSettings, now: () => Date = () => new Date()): Promise<DeliveryResponse> {
  const url = dest.url ?? "";
  const sentAt = now();
  const body = JSON.stringify(bodyFor(dest.destinationType, n));
  const headers: Record<string, string> = { "Content-Type": "application/json", Accept: "application/json", "User-Agent": settings.userAgent };
  if (dest.destinationType === "generic") headers["X-TFE-Notification-Signature"] = dest.token ? signBody(body, dest.token) : "";
  try {
    const res = await fetch(url, { method: "POST", body, headers, redirect: "manual", signal: AbortSignal.timeout(settings.timeoutMs) });
    const text = await readBounded(res);
    const responseHeaders: Record<string, string[]> = {};
    res.headers.forEach((value, name) => {
      (responseHeaders[name.toLowerCase()] ??= []).push(value);
    });
    return {
      url,
      body: text,
      code: String(res.status),
      headers: responseHeaders,
      "sent-at": sentAt.toISOString(),
      successful: res.status >= 200 && res.status < 300 ? "true" : "false",
    };
  } catch (error) {
    return failure(url, sentAt, reasonOf(error));
  }
}

/** Reads at most MAX_RESPONSE_BODY_CHARS of a response body and drops the rest unread. */
async function readBounded(res: Response): Promise<string> {
  if (!res.body) return "";
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    while (text.length < MAX_RESPONSE_BODY_CHARS) {
      const { done, value } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return text.slice(0, MAX_RESPONSE_BODY_CHARS);
}

/** Sends the email of a notification through the configured SMTP server to every recipient. */
export async function sendEmail(recipients: string[], n: NotificationContent, settings: SendSettings, now: () => Date = () => new Date()): Promise<DeliveryResponse> {
  const sentAt = now();
  const smtp = settings.smtp;
  if (!smtp) return failure("smtp:", sentAt, "no SMTP server is configured (TARMAC_SMTP_HOST)");
  const url = `smtp://${smtp.host}:${smtp.port}`;
  if (recipients.length === 0) return failure(url, sentAt, "no recipients: neither email-addresses nor users with an email");
  // Loaded on the first email: most processes that can send one never do (2 MB of heap).
  const { createTransport } = await import("nodemailer");
  const transport = createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure ?? smtp.port === 465,
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? "" } } : {}),
    connectionTimeout: settings.timeoutMs,
    greetingTimeout: settings.timeoutMs,
    socketTimeout: settings.timeoutMs,
  });
  const { subject, text } = emailMessage(n);
  try {
    const info = (await transport.sendMail({ from: smtp.from, to: recipients, subject, text })) as { response?: string; rejected?: unknown[] };
    const response = info.response ?? "";
    const code = /^\d{3}/.exec(response)?.[0] ?? "250";
    return { url, body: response, code, headers: {}, "sent-at": sentAt.toISOString(), successful: "true" };
  } catch (error) {
    const e = error as { responseCode?: number; response?: string; message?: string };
    return {
      url,
      body: e.response ?? reasonOf(error),
      code: e.responseCode ? String(e.responseCode) : "",
      headers: {},
      "sent-at": sentAt.toISOString(),
      successful: "false",
    };
  } finally {
    transport.close();
  }
}

/** Sends a notification to its destination, over HTTP or SMTP. `recipients` are for email. */
export function deliver(dest: Destination, recipients: string[], n: NotificationContent, settings: SendSettings, now?: () => Date): Promise<DeliveryResponse> {
  return dest.destinationType === "email" ? sendEmail(recipients, n, settings, now) : sendHttp(dest, n, settings, now);
}
