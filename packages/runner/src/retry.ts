/**
 * When the worker tries a job URL request again. The gateway answers 503 with Retry-After while
 * its database is away; a gateway restarting behind a load balancer refuses or resets
 * connections. Every job URL request is idempotent (uploads replace the artifact), so retrying
 * is safe; the budget keeps a phase from outliving its deadline.
 */

export interface RetryPolicy {
  /** Total time a request may keep retrying, from its first attempt. */
  budgetMs: number;
  /** First backoff; doubles per attempt up to maxDelayMs. */
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { budgetMs: 5 * 60 * 1000, initialDelayMs: 500, maxDelayMs: 10_000 };

/** Longest Retry-After honoured: a server asking for more is retried sooner, within the budget. */
const MAX_RETRY_AFTER_MS = 60_000;

/** 5xx, and 429 (rate limited): the request may succeed later. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429;
}

/** Retry-After as delay-seconds or an HTTP date (RFC 9110 §10.2.3); null when absent or unreadable. */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.min(Number(trimmed) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

/** The wait before attempt `attempt + 1`: the server's Retry-After when it gave one, else exponential backoff. */
export function retryDelayMs(policy: RetryPolicy, attempt: number, retryAfterMs: number | null): number {
  if (retryAfterMs !== null) return retryAfterMs;
  return Math.min(policy.initialDelayMs * 2 ** Math.max(0, attempt - 1), policy.maxDelayMs);
}
