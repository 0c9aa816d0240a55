import { inTransaction, tokensRepo } from "@tarmac/db";
import { notFound } from "@tarmac/domain";
import type { GatewayDeps } from "../deps";
import { actingUserId, clearTokenCache, type Principal } from "../http/auth";

type TokenSubject = tokensRepo.TokenSubject;

/**
 * Issues a token for its subject; a team's or an organization's previous token is revoked in the
 * same transaction and stops working at once on this replica. The value is returned only here.
 */
export async function issueToken(
  deps: GatewayDeps,
  principal: Principal,
  subject: TokenSubject,
  opts: { description: string | null; expiredAt: Date | null },
): Promise<{ token: tokensRepo.ApiToken; value: string }> {
  const issued = await inTransaction(deps.db, (tx) => tokensRepo.issueToken(tx, { subject, ...opts, createdById: actingUserId(principal) }));
  if (subject.kind !== "user") clearTokenCache();
  return issued;
}

/**
 * A user token the user obtained for themselves without an API token in hand (`terraform
 * login`): created by that user, no expiry, its value returned only here.
 */
export async function issueUserToken(deps: GatewayDeps, userId: string, description: string): Promise<{ token: tokensRepo.ApiToken; value: string }> {
  return inTransaction(deps.db, (tx) => tokensRepo.issueToken(tx, { subject: { kind: "user", userId }, description, expiredAt: null, createdById: userId }));
}

/** Revokes a token by id, or a team's or organization's only token; 404 when there is none. */
export async function revokeToken(
  deps: GatewayDeps,
  which: { id: string } | { teamId: string } | { organizationId: string },
): Promise<void> {
  const removed =
    "id" in which
      ? await tokensRepo.deleteToken(deps.db, which.id).then(() => 1)
      : "teamId" in which
        ? await tokensRepo.deleteTeamToken(deps.db, which.teamId)
        : await tokensRepo.deleteOrganizationToken(deps.db, which.organizationId);
  if (removed === 0) throw notFound();
  clearTokenCache();
}
