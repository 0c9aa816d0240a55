import type { tokensRepo, usersRepo } from "@tarmac/db";
import { time, toOne, type Resource } from "@tarmac/jsonapi";

interface UserFacts {
  username: string;
  email: string | null;
  isServiceAccount: boolean;
  isSiteAdmin: boolean;
  isSelf: boolean;
}

/** The attributes every `users` resource carries, stored user or service account alike. */
function userAttributes(u: UserFacts): Record<string, unknown> {
  return {
    username: u.username,
    email: u.email,
    "is-service-account": u.isServiceAccount,
    "is-site-admin": u.isSiteAdmin,
    "is-admin": u.isSiteAdmin,
    "auth-method": "tfe",
    "avatar-url": null,
    "v2-only": true,
    "is-sso-login": false,
    "is-confirmed": true,
    "two-factor": { enabled: false, verified: false },
    "unconfirmed-email": null,
    permissions: {
      "can-create-organization": !u.isServiceAccount,
      "can-view-organizations": true,
      "can-change-email": u.isSelf,
      "can-change-username": u.isSelf,
      "can-change-password": u.isSelf,
      "can-manage-sessions": u.isSelf,
      "can-manage-user-tokens": u.isSelf,
      "can-update-user": u.isSelf,
      "can-view-settings": u.isSiteAdmin,
      "can-view-profile": u.isSelf,
      "can-reenable-2fa-by-unlinking": false,
      "can-manage-hcp-accounts": false,
    },
  };
}

/** A `users` resource. The email is shown to the user themself and to site admins only. */
export function serializeUser(user: usersRepo.User, opts: { showEmail: boolean; isSelf: boolean }): Resource {
  return {
    id: user.id,
    type: "users",
    attributes: userAttributes({
      username: user.username,
      email: opts.showEmail ? user.email : null,
      isServiceAccount: user.isServiceAccount,
      isSiteAdmin: user.isSiteAdmin,
      isSelf: opts.isSelf,
    }),
    relationships: {
      "authentication-tokens": { links: { related: `/api/v2/users/${user.id}/authentication-tokens` } },
    },
    links: { self: `/api/v2/users/${user.id}` },
  };
}

/**
 * The service account HCP shows for a team or organization token on
 * /account/details: not a stored user, so it has no tokens of its own.
 */
export function serializeServiceAccount(id: string, username: string): Resource {
  return {
    id,
    type: "users",
    attributes: userAttributes({ username, email: null, isServiceAccount: true, isSiteAdmin: false, isSelf: false }),
    relationships: {},
    links: { self: `/api/v2/account/details` },
  };
}

/** An `authentication-tokens` resource; `token` carries the value only in the creation response. */
export function serializeToken(token: tokensRepo.ApiToken, value: string | null = null): Resource {
  return {
    id: token.id,
    type: "authentication-tokens",
    attributes: {
      description: token.description,
      "created-at": time(token.createdAt),
      "last-used-at": time(token.lastUsedAt),
      "expired-at": time(token.expiredAt),
      token: value,
    },
    relationships: {
      "created-by": toOne("users", token.createdById),
      ...(token.teamId ? { team: toOne("teams", token.teamId) } : {}),
    },
    links: { self: `/api/v2/authentication-tokens/${token.id}` },
  };
}
