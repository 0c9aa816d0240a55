import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * Capability URLs: unauthenticated URLs whose secret lives in the path (go-tfe
 * replaces the query string of log URLs and sends no bearer token to them,
 * notes §0.6–0.7). The secret is an HMAC of the purpose and resource id under
 * the deployment key, so every process can mint and check one without storing it.
 */
export const CAPABILITY_PURPOSES = ["log", "upload", "job", "download", "state-upload", "json-state-upload"] as const;
export type CapabilityPurpose = (typeof CAPABILITY_PURPOSES)[number];

export function capabilitySecret(key: string, purpose: CapabilityPurpose, id: string): string {
  return createHmac("sha256", key).update(`${purpose}:${id}`).digest("base64url");
}

export function isValidCapability(key: string, purpose: CapabilityPurpose, id: string, secret: string): boolean {
  const expected = Buffer.from(capabilitySecret(key, purpose, id));
  const given = Buffer.from(secret);
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/** Path prefixes served by the gateway outside /api/v2. */
export const capabilityPaths = {
  /** GET ?offset=&limit= : plan or apply log bytes (id is a plan or apply id). */
  log: (id: string, secret: string) => `/_archivist/logs/${id}/${secret}`,
  /** PUT: configuration archive (tar.gz). */
  upload: (cvId: string, secret: string) => `/_archivist/uploads/${cvId}/${secret}`,
  /** The worker's view of one run: configuration, state, artifacts, logs. */
  job: (runId: string, secret: string) => `/_jobs/${runId}/${secret}`,
  /** PUT: a pending state version's raw state (`hosted-state-upload-url`). */
  stateUpload: (svId: string, secret: string) => `/_archivist/state-versions/${svId}/state/${secret}`,
  /** PUT: a state version's JSON state, the `terraform show -json` form (`hosted-json-state-upload-url`). */
  jsonStateUpload: (svId: string, secret: string) => `/_archivist/state-versions/${svId}/json-state/${secret}`,
} as const;

/** Redis key of a phase's live log while it runs (id: plan or apply id). */
export const liveLogKey = (phaseId: string): string => `tarmac:logs:${phaseId}`;
