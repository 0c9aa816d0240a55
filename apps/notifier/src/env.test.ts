import { smtpSettingsOf } from "@tarmac/config";
import { loadNotifierEnv } from "./env";

describe("notifier configuration", () => {
  it("defaults the health port to 8084, NOTIFIER_HEALTH_PORT winning over HEALTH_PORT (0: any free port)", () => {
    const env = loadNotifierEnv({});
    expect(env.NOTIFIER_HEALTH_PORT ?? env.HEALTH_PORT).toBe(8084);
    const both = loadNotifierEnv({ HEALTH_PORT: "9001", NOTIFIER_HEALTH_PORT: "0" });
    expect(both.NOTIFIER_HEALTH_PORT ?? both.HEALTH_PORT).toBe(0);
  });

  it("bounds retries by default and has no SMTP server unless one is named", () => {
    const env = loadNotifierEnv({});
    expect(env).toMatchObject({ TARMAC_NOTIFICATION_MAX_ATTEMPTS: 8, TARMAC_NOTIFICATION_RETRY_BASE_MS: 5000, TARMAC_NOTIFICATION_TIMEOUT_MS: 10000 });
    expect(smtpSettingsOf(env)).toBeUndefined();
    expect(smtpSettingsOf(loadNotifierEnv({ TARMAC_SMTP_HOST: "mail.example", TARMAC_SMTP_PORT: "587" }))).toMatchObject({ host: "mail.example", port: 587, from: "tarmac@localhost" });
  });

  it("refuses bad values, naming the variable", () => {
    expect(() => loadNotifierEnv({ NOTIFIER_HEALTH_PORT: "70000" })).toThrow(/NOTIFIER_HEALTH_PORT/);
    expect(() => loadNotifierEnv({ TARMAC_NOTIFICATION_MAX_ATTEMPTS: "0" })).toThrow(/TARMAC_NOTIFICATION_MAX_ATTEMPTS/);
    expect(() => loadNotifierEnv({ TARMAC_SMTP_PORT: "smtp" })).toThrow(/TARMAC_SMTP_PORT/);
  });
});
