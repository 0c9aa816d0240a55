import { z } from "zod";
import { commonEnv, databaseEnv, deploymentKeyEnv, natsEnv, notificationSendEnv, parseEnv, port, positiveInt, url } from "@tarmac/config";

export const notifierEnvSchema = z.object({
  ...commonEnv,
  ...databaseEnv,
  ...natsEnv,
  TARMAC_NATS_PREFIX: z.string().default("tarmac"),
  /** The gateway's public URL: run links in notifications are built on it. */
  TARMAC_PUBLIC_URL: url("http://127.0.0.1:8080", { protocols: ["http:", "https:"] }),
  /** Notification tokens are stored encrypted under the deployment key (the gateway's). */
  ...deploymentKeyEnv,
  /** Request timeout and the SMTP server of email notifications. */
  ...notificationSendEnv,
  HEALTH_PORT: port(8084, { allowZero: true }),
  /** Wins over HEALTH_PORT, so one environment can hold every app's (`npm start`); 0 = any free port. */
  NOTIFIER_HEALTH_PORT: port(undefined, { allowZero: true }).optional(),
  /** Attempts per delivery before it is given up (the first one included). */
  TARMAC_NOTIFICATION_MAX_ATTEMPTS: positiveInt(8),
  /** Delay before the first retry; it doubles with each attempt up to TARMAC_NOTIFICATION_RETRY_MAX_MS. */
  TARMAC_NOTIFICATION_RETRY_BASE_MS: positiveInt(5_000),
  TARMAC_NOTIFICATION_RETRY_MAX_MS: positiveInt(300_000),
  /** Deliveries this process sends at once; a slow receiver holds one slot at most for the timeout. */
  TARMAC_NOTIFICATION_CONCURRENCY: positiveInt(8),
  /** How often due retries are looked for (new deliveries go out at once). */
  TARMAC_NOTIFICATION_POLL_MS: positiveInt(1_000),
  TARMAC_EVENT_ACK_WAIT_MS: positiveInt(30_000),
  TARMAC_DB_POOL_SIZE: positiveInt(5),
});

export type NotifierEnv = z.infer<typeof notifierEnvSchema>;

export function loadNotifierEnv(env: NodeJS.ProcessEnv = process.env): NotifierEnv {
  return parseEnv(notifierEnvSchema, env);
}
