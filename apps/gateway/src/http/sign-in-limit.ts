import { RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { GatewayDeps } from "../deps";

/**
 * Failed sign-ins, counted in Redis like the API's rate limits (shared by every replica): per
 * username (guessing one account's password) and per client address (trying many accounts, at
 * five times the per-username budget). TARMAC_SIGN_IN_ATTEMPTS_PER_MINUTE sets the budget; 0
 * turns the limit off. A blocked client is refused before any password is checked.
 */
export interface SignInLimiter {
  /** Seconds to wait when the client or the username is blocked, else null. */
  blockedFor(ip: string, username: string): Promise<number | null>;
  recordFailure(ip: string, username: string): Promise<void>;
}

export function signInLimiter(deps: GatewayDeps): SignInLimiter {
  const perMinute = deps.env.TARMAC_SIGN_IN_ATTEMPTS_PER_MINUTE;
  if (perMinute <= 0) return { blockedFor: async () => null, recordFailure: async () => undefined };
  const prefix = `${deps.env.TARMAC_NATS_PREFIX}:signin`;
  const byUser = new RateLimiterRedis({ storeClient: deps.redis, keyPrefix: `${prefix}:user`, points: perMinute, duration: 60 });
  const byIp = new RateLimiterRedis({ storeClient: deps.redis, keyPrefix: `${prefix}:ip`, points: perMinute * 5, duration: 60 });
  const userKey = (u: string) => u.trim().toLowerCase().slice(0, 200);
  return {
    async blockedFor(ip, username) {
      try {
        const [u, i] = await Promise.all([username ? byUser.get(userKey(username)) : null, byIp.get(ip)]);
        const over = [u && u.consumedPoints >= perMinute ? u : null, i && i.consumedPoints >= perMinute * 5 ? i : null].filter(
          (r): r is RateLimiterRes => r !== null,
        );
        if (over.length === 0) return null;
        return Math.max(1, Math.ceil(Math.max(...over.map((r) => r.msBeforeNext)) / 1000));
      } catch (err) {
        // Redis unavailable: the limit protects against guessing, not worth refusing every sign-in over.
        deps.logger.warn({ err }, "sign-in limiter unavailable; attempt allowed");
        return null;
      }
    },
    async recordFailure(ip, username) {
      const spend = (l: RateLimiterRedis, key: string) => l.penalty(key, 1).catch((err: unknown) => deps.logger.warn({ err }, "sign-in limiter unavailable"));
      await Promise.all([username ? spend(byUser, userKey(username)) : null, spend(byIp, ip)]);
    },
  };
}
