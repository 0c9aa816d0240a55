import { z } from "zod";
import { bool, port, positiveInt } from "./fields";

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

/**
 * How notifications reach the outside world, for the processes that send them: the gateway
 * (verification requests) and the notifier (deliveries). Spread into an app's env schema.
 */
export const notificationSendEnv = {
  /** Each notification request (or SMTP conversation) gives up after this long. */
  TARMAC_NOTIFICATION_TIMEOUT_MS: positiveInt(10_000),
  /** The SMTP server email notifications go through; unset, email destinations cannot deliver. */
  TARMAC_SMTP_HOST: optionalString,
  TARMAC_SMTP_PORT: port(25),
  TARMAC_SMTP_FROM: z.string().trim().min(1).default("tarmac@localhost"),
  TARMAC_SMTP_USER: optionalString,
  TARMAC_SMTP_PASSWORD: optionalString,
  /** TLS from the first byte (port 465); otherwise STARTTLS when the server offers it. */
  TARMAC_SMTP_SECURE: bool(false),
};

export interface NotificationSendInput {
  TARMAC_NOTIFICATION_TIMEOUT_MS: number;
  TARMAC_SMTP_HOST?: string | undefined;
  TARMAC_SMTP_PORT: number;
  TARMAC_SMTP_FROM: string;
  TARMAC_SMTP_USER?: string | undefined;
  TARMAC_SMTP_PASSWORD?: string | undefined;
  TARMAC_SMTP_SECURE: boolean;
}

/** The SMTP settings of a parsed environment, or undefined when no server is configured. */
export function smtpSettingsOf(env: NotificationSendInput) {
  if (!env.TARMAC_SMTP_HOST) return undefined;
  return {
    host: env.TARMAC_SMTP_HOST,
    port: env.TARMAC_SMTP_PORT,
    from: env.TARMAC_SMTP_FROM,
    user: env.TARMAC_SMTP_USER,
    password: env.TARMAC_SMTP_PASSWORD,
    secure: env.TARMAC_SMTP_SECURE,
  };
}
