import { createHmac, timingSafeEqual } from "node:crypto";
import type { Phase } from "@tarmac/domain";

/**
 * Capability URLs: unauthenticated URLs whose secret lives in the path (go-tfe
 * replaces the query string of log URLs and sends no bearer token to them,
 * notes §0.6–0.7). The secret is `<expiresAt>.<mac>`: the expiry in seconds since the
 * epoch (base 36) and an HMAC-SHA256 of the purpose, the id it grants and that expiry
 * under the deployment key. Every process holding the key can mint and check one without
 * storing it; nothing else can, and none outlives its expiry.
 */
export const CAPABILITY_PURPOSES = ["log", "upload", "job", "download", "state-upload", "json-state-upload", "run-task"] as const;
export type CapabilityPurpose = (typeof CAPABILITY_PURPOSES)[number];

/**
 * The deployment keys (TARMAC_ENCRYPTION_KEY and TARMAC_ENCRYPTION_KEYS_OLD): new secrets
 * are minted under `current`; `previous` keys are still accepted when verifying, so URLs
 * minted before a rotation keep working until they expire.
 */
export interface KeyRing {
  current: string;
  previous: readonly string[];
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;

/**
 * How long each kind of capability lives. A log URL is minted on every read of its plan or
 * apply, but go-tfe polls the one URL it read until the phase is final and fails on any 4xx
 * (logreader.go), so a URL for an unfinished phase must outlive the longest phase
 * (TARMAC_APPLY_TIMEOUT_MS defaults to 24 h); once the phase is final, an hour is plenty.
 */
export const CAPABILITY_TTL_MS = {
  /** Configuration upload: the CLI PUTs right after creating the configuration version. */
  upload: HOUR_MS,
  /** Log of a finished phase. */
  log: HOUR_MS,
  /** Log of a phase still queued or running. */
  liveLog: 25 * HOUR_MS,
  /**
   * A job waits in its queue before its phase deadline starts counting: a job URL lives for
   * the phase's timeout plus this allowance. The gateway also refuses it once the phase ends.
   */
  jobQueueAllowance: 24 * HOUR_MS,
} as const;

function mac(key: string, purpose: string, id: string, expiresAtSec: number): string {
  return createHmac("sha256", key).update(`tarmac-capability:v2:${purpose}:${id}:${expiresAtSec}`).digest("base64url");
}

/** A secret granting `purpose` on `id` until `expiresAt` (rounded up to a whole second). */
export function mintCapabilityUntil(keys: KeyRing, purpose: CapabilityPurpose, id: string, expiresAt: Date): string {
  const expiresAtSec = Math.ceil(expiresAt.getTime() / 1000);
  return `${expiresAtSec.toString(36)}.${mac(keys.current, purpose, id, expiresAtSec)}`;
}

/** A secret granting `purpose` on `id` for `ttlMs` from `now`. */
export function mintCapability(keys: KeyRing, purpose: CapabilityPurpose, id: string, ttlMs: number, now: Date = new Date()): string {
  return mintCapabilityUntil(keys, purpose, id, new Date(now.getTime() + ttlMs));
}

export type CapabilityCheck = "valid" | "expired" | "invalid";

/**
 * Checks a secret against every key of the ring, each in constant time. `expired` only for
 * a secret one of the keys minted, so a forger learns nothing from it.
 */
export function checkCapability(keys: KeyRing, purpose: CapabilityPurpose, id: string, secret: string, now: Date = new Date()): CapabilityCheck {
  const match = /^([0-9a-z]{1,11})\.([A-Za-z0-9_-]{43})$/.exec(secret);
  if (!match) return "invalid";
  const expiresAtSec = parseInt(match[1]!, 36);
  const given = Buffer.from(match[2]!);
  let genuine = false;
  for (const key of [keys.current, ...keys.previous]) {
    const expected = Buffer.from(mac(key, purpose, id, expiresAtSec));
    // Every key is tried, so the time taken does not say which one matched.
    if (expected.length === given.length && timingSafeEqual(expected, given)) genuine = true;
  }
  if (!genuine) return "invalid";
  return expiresAtSec * 1000 > now.getTime() ? "valid" : "expired";
}

/** True when the secret is genuine for this purpose and id, and not expired. */
export function verifyCapability(keys: KeyRing, purpose: CapabilityPurpose, id: string, secret: string, now: Date = new Date()): boolean {
  return checkCapability(keys, purpose, id, secret, now) === "valid";
}

/** The phases a job capability can grant: the scheduler mints one per dispatched phase. */
export type JobCapabilityPhase = Phase;

/** The id a job capability grants: one run, one phase. */
export const jobCapabilityId = (runId: string, phase: JobCapabilityPhase): string => `${runId}/${phase}`;

/**
 * The `access_token` a run task integration receives: it authenticates the task result callback
 * and reads of the run's plan JSON and configuration, for this run only, until it expires.
 * The run id travels in the token so the gateway can check it without storing anything.
 */
export const RUN_TASK_TOKEN_PREFIX = "tarmac-task";

export function mintRunTaskToken(keys: KeyRing, runId: string, expiresAt: Date): string {
  return `${RUN_TASK_TOKEN_PREFIX}.${runId}.${mintCapabilityUntil(keys, "run-task", runId, expiresAt)}`;
}

/** The run a run task token grants, or null when it is not a genuine unexpired one. */
export function runOfRunTaskToken(keys: KeyRing, token: string, now: Date = new Date()): string | null {
  const match = /^tarmac-task\.(run-[A-Za-z0-9]{1,64})\.(.+)$/.exec(token);
  if (!match) return null;
  return verifyCapability(keys, "run-task", match[1]!, match[2]!, now) ? match[1]! : null;
}

/** Path prefixes served by the gateway outside /api/v2. */
export const capabilityPaths = {
  /** GET ?offset=&limit= : plan or apply log bytes (id is a plan or apply id). */
  log: (id: string, secret: string) => `/_archivist/logs/${id}/${secret}`,
  /** PUT: configuration archive (tar.gz). */
  upload: (cvId: string, secret: string) => `/_archivist/uploads/${cvId}/${secret}`,
  /** The worker's view of one phase of one run: spec, configuration, state, artifacts, logs. */
  job: (runId: string, phase: JobCapabilityPhase, secret: string) => `/_jobs/${runId}/${phase}/${secret}`,
  /** PUT: a pending state version's raw state (`hosted-state-upload-url`). */
  stateUpload: (svId: string, secret: string) => `/_archivist/state-versions/${svId}/state/${secret}`,
  /** PUT: a state version's JSON state, the `terraform show -json` form (`hosted-json-state-upload-url`). */
  jsonStateUpload: (svId: string, secret: string) => `/_archivist/state-versions/${svId}/json-state/${secret}`,
} as const;

/** Redis key of a phase's live log while it runs (id: plan or apply id). */
export const liveLogKey = (phaseId: string): string => `tarmac:logs:${phaseId}`;
