import type { tokensRepo, usersRepo } from "@tarmac/db";
import { time, toOne, type Resource } from "@tarmac/jsonapi";

/** A `users` resource. The email is shown to the user themself and to site admins only. */
export function serializeUser(user: usersRepo.User, opts: { showEmail: boolean; isSelf: boolean }): Resource {
  return {
    id: user.id,
    type: "users",
    attributes: {
      username: user.username,
      email: opts.showEmail ? user.email : null,
      "is-service-account": user.isServiceAccount,
      "is-site-admin": user.isSiteAdmin,
      "is-admin": user.isSiteAdmin,
      "auth-method": "tfe",
      "avatar-url": null,
      "v2-only": true,
      "is-sso-login": false,
      "is-confirmed": true,
      "two-factor": { enabled: false, verified: false },
      "unconfirmed-email": null,
      permissions: {
        "can-create-organization": !user.isServiceAccount,
        "can-view-organizations": true,
        "can-change-email": opts.isSelf,
        "can-change-username": opts.isSelf,
        "can-change-password": opts.isSelf,
        "can-manage-sessions": opts.isSelf,
        "can-manage-user-tokens": opts.isSelf,
        "can-update-user": opts.isSelf,
        "can-view-settings": user.isSiteAdmin,
        "can-view-profile": opts.isSelf,
        "can-reenable-2fa-by-unlinking": false,
        "can-manage-hcp-accounts": false,
      },
    },
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
    attributes: {
      username,
      email: null,
      "is-service-account": true,
      "is-site-admin": false,
      "is-admin": false,
      "auth-method": "tfe",
      "avatar-url": null,
      "v2-only": true,
      "is-sso-login": false,
      "is-confirmed": true,
      "two-factor": { enabled: false, verified: false },
      "unconfirmed-email": null,
      permissions: {
        "can-create-organization": false,
        "can-view-organizations": true,
        "can-change-email": false,
        "can-change-username": false,
        "can-change-password": false,
        "can-manage-sessions": false,
        "can-manage-user-tokens": false,
        "can-update-user": false,
        "can-view-settings": false,
        "can-view-profile": false,
        "can-reenable-2fa-by-unlinking": false,
        "can-manage-hcp-accounts": false,
      },
    },
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
