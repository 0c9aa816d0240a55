/**
 * Which URL the outbox relay may LISTEN on. LISTEN needs a session of its own, which a
 * transaction-mode pooler (PgBouncer with `pool_mode = transaction`) does not keep: the
 * notification goes to whichever client holds the server connection next. So:
 * - DATABASE_DIRECT_URL, when set, reaches PostgreSQL itself: LISTEN there;
 * - a DATABASE_URL that says `pgbouncer=true` (Prisma's own marker for such a pooler) without a
 *   direct URL: no LISTEN, the relay polls;
 * - otherwise DATABASE_URL is direct and serves LISTEN too.
 */
export function outboxListenUrl(urls: { databaseUrl: string; directUrl?: string | undefined }): string | undefined {
  if (urls.directUrl) return urls.directUrl;
  return isPooledUrl(urls.databaseUrl) ? undefined : urls.databaseUrl;
}

/** Whether a PostgreSQL URL is marked as going through a transaction-mode pooler (`pgbouncer=true`). */
export function isPooledUrl(databaseUrl: string): boolean {
  if (!URL.canParse(databaseUrl)) return false;
  return new URL(databaseUrl).searchParams.get("pgbouncer") === "true";
}
