import { randomBytes } from "node:crypto";
import { z } from "zod";

/** Bitcoin's base58: no 0, O, I or l. HCP's ids look drawn from it (notes §1.5). */
export const BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
export const ID_SUFFIX_LENGTH = 16;

/** The prefixes HCP uses, by resource (notes §1.5). */
export const ID_PREFIXES = [
  "run",
  "ws",
  "cv",
  "plan",
  "apply",
  "sv",
  "wsout",
  "user",
  "team",
  "org",
  "prj",
  "re",
  "wsc",
  "ce",
  "polchk",
  "ts",
  "ia",
  "at",
  "var",
  "varset",
  "nc",
  "sshkey",
  "tws",
  "tb",
  "tprj",
  "apool",
  "agent",
  // Not on the wire: a user's action on a run, recorded for the scheduler to carry out.
  "rar",
  "task",
  "wstask",
  "taskrs",
  "taskrsout",
  // Not on the wire: a web UI session, named in logs and rate limits (its cookie value is the secret).
  "sess",
  // Not on the wire: a plan or apply waiting for (or held by) an agent of a pool.
  "ajob",
] as const;

export type IdPrefix = (typeof ID_PREFIXES)[number];

/** Supplies random bytes; the default is the CSPRNG. Tests pass a scripted source. */
export type RandomBytes = (size: number) => Uint8Array;

// 232 = 4 × 58: bytes at or above it are dropped so that `byte % 58` is uniform.
const UNBIASED_LIMIT = 256 - (256 % BASE58_ALPHABET.length);

export function randomBase58(length: number, random: RandomBytes = randomBytes): string {
  let out = "";
  while (out.length < length) {
    for (const byte of random(length - out.length + 8)) {
      if (byte >= UNBIASED_LIMIT) continue;
      out += BASE58_ALPHABET.charAt(byte % BASE58_ALPHABET.length);
      if (out.length === length) break;
    }
  }
  return out;
}

export function newId(prefix: IdPrefix, random: RandomBytes = randomBytes): string {
  return `${prefix}-${randomBase58(ID_SUFFIX_LENGTH, random)}`;
}

const SUFFIX_PATTERN = `[${BASE58_ALPHABET}]{${ID_SUFFIX_LENGTH}}`;

function idPattern(prefix: IdPrefix): RegExp {
  return new RegExp(`^${prefix}-${SUFFIX_PATTERN}$`);
}

const ID_PATTERNS = Object.fromEntries(ID_PREFIXES.map((p) => [p, idPattern(p)])) as Record<IdPrefix, RegExp>;

/** Whether `value` is an id Tarmac could have minted with `prefix`. */
export function isId(prefix: IdPrefix, value: unknown): value is string {
  return typeof value === "string" && ID_PATTERNS[prefix].test(value);
}

/** A zod schema for ids of one prefix, for validating path parameters and relationships. */
export function idSchema(prefix: IdPrefix) {
  return z.string().regex(ID_PATTERNS[prefix], { message: `must be a ${prefix}- id` });
}

function swapPrefix(id: string, from: IdPrefix, to: IdPrefix): string | null {
  return isId(from, id) ? `${to}-${id.slice(from.length + 1)}` : null;
}

function requireId(id: string, from: IdPrefix, to: IdPrefix): string {
  const swapped = swapPrefix(id, from, to);
  if (swapped === null) throw new TypeError(`expected a ${from}- id, got ${JSON.stringify(id)}`);
  return swapped;
}

/**
 * A run's plan and apply share its suffix (`run-X` → `plan-X`, `apply-X`), as OTF does, so neither
 * needs its own lookup column. These throw on anything but a run id: that is a bug, not input.
 */
export function planIdFor(runId: string): string {
  return requireId(runId, "run", "plan");
}

export function applyIdFor(runId: string): string {
  return requireId(runId, "run", "apply");
}

/** `null` for anything that is not a plan id, so a bad path parameter becomes a 404. */
export function runIdForPlan(planId: string): string | null {
  return swapPrefix(planId, "plan", "run");
}

export function runIdForApply(applyId: string): string | null {
  return swapPrefix(applyId, "apply", "run");
}
