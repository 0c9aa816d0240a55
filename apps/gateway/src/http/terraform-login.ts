import { createHash } from "node:crypto";
import { secretsEqual } from "./web-session";

/**
 * `terraform login` (login.v1): OAuth 2.0 authorization code with PKCE, as terraform's
 * internal/command/login.go speaks it. Its client is public (no secret): the proof key and a
 * loopback redirect on a port of the advertised range are what bind a code to the CLI that
 * asked for it.
 */
export const LOGIN_CLIENT_ID = "terraform-cli";
export const LOGIN_PORTS: readonly [number, number] = [10000, 10010];
export const AUTHORIZE_PATH = "/app/oauth/authorize";
export const TOKEN_PATH = "/oauth/token";
/** An authorization code is good for this long, once. */
export const CODE_TTL_MS = 60 * 1000;
export const LOGIN_TOKEN_DESCRIPTION = "terraform login";

/** The discovery document's `login.v1` entry (terraform-svchost's OAuthClient). */
export function loginServiceDescription(): Record<string, unknown> {
  return {
    client: LOGIN_CLIENT_ID,
    grant_types: ["authz_code"],
    authz: AUTHORIZE_PATH,
    token: TOKEN_PATH,
    ports: [...LOGIN_PORTS],
  };
}

/**
 * Only terraform's own callback shape: http, localhost or 127.0.0.1, a port in the advertised
 * range, path /login, nothing else (no user info, query or fragment).
 */
export function isAllowedRedirectUri(value: string): boolean {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return false;
  }
  if (u.protocol !== "http:" || (u.hostname !== "localhost" && u.hostname !== "127.0.0.1")) return false;
  if (u.username !== "" || u.password !== "" || u.search !== "" || u.hash !== "" || u.pathname !== "/login") return false;
  if (value.includes("#") || value.includes("?")) return false;
  const port = Number(u.port);
  return Number.isInteger(port) && port >= LOGIN_PORTS[0] && port <= LOGIN_PORTS[1];
}

/** An S256 challenge is the base64url SHA-256 of the verifier: exactly 43 characters. */
export function isS256Challenge(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}

/** RFC 7636 §4.1: 43 to 128 unreserved characters. */
export function isCodeVerifier(value: string): boolean {
  return /^[A-Za-z0-9._~-]{43,128}$/.test(value);
}

export function verifierMatches(verifier: string, challenge: string): boolean {
  const computed = createHash("sha256").update(verifier, "ascii").digest("base64url");
  return secretsEqual(computed, challenge);
}

export interface AuthorizeRequest {
  clientId: string;
  redirectUri: string;
  state: string;
  codeChallenge: string;
}

export type AuthorizeCheck =
  /** Not to be redirected anywhere: the client or its redirect is not ours; shown as a page. */
  | { ok: false; redirect: false; message: string }
  /** The redirect is trustworthy; the client is told what was wrong there. */
  | { ok: false; redirect: true; redirectUri: string; state: string; error: string; description: string }
  | { ok: true; request: AuthorizeRequest };

const str = (v: unknown): string => (typeof v === "string" ? v : "");

/** Validates an authorization request's parameters (query of the GET, fields of the POST). */
export function checkAuthorizeRequest(params: Record<string, unknown>): AuthorizeCheck {
  const clientId = str(params.client_id);
  const redirectUri = str(params.redirect_uri);
  if (clientId !== LOGIN_CLIENT_ID) return { ok: false, redirect: false, message: "This sign-in link names an unknown client." };
  if (!isAllowedRedirectUri(redirectUri)) {
    return { ok: false, redirect: false, message: "This sign-in link sends the result somewhere other than terraform on this computer." };
  }
  const state = str(params.state);
  const fail = (error: string, description: string): AuthorizeCheck => ({ ok: false, redirect: true, redirectUri, state, error, description });
  if (str(params.response_type) !== "code") return fail("unsupported_response_type", "response_type must be code");
  if (state === "" || state.length > 512) return fail("invalid_request", "state is required");
  if (str(params.code_challenge_method) !== "S256") return fail("invalid_request", "code_challenge_method must be S256");
  const codeChallenge = str(params.code_challenge);
  if (!isS256Challenge(codeChallenge)) return fail("invalid_request", "code_challenge must be an S256 challenge");
  return { ok: true, request: { clientId, redirectUri, state, codeChallenge } };
}

/** The redirect URI with the answer's parameters appended. */
export function redirectWith(redirectUri: string, params: Record<string, string>): string {
  const u = new URL(redirectUri);
  for (const [k, v] of Object.entries(params)) if (v !== "") u.searchParams.set(k, v);
  return u.toString();
}
