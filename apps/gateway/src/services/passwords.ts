import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from "node:crypto";
import { invalidAttribute } from "../http/request-body";

/**
 * Password hashing with Node's built-in scrypt (RFC 7914): no native add-on to build or trust,
 * memory-hard, and the parameters travel with each hash so they can be raised later while old
 * hashes still verify. N=2^15, r=8, p=1 is OWASP's scrypt recommendation (about 32 MiB and
 * 50–100 ms per hash here). Stored as `scrypt$N$r$p$<salt b64url>$<hash b64url>`, 16-byte salt
 * per hash, 32-byte key, compared in constant time.
 */
const PARAMS = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
const SALT_BYTES = 16;

export const MIN_PASSWORD_LENGTH = 8;
/** scrypt reads the whole password; an upper bound keeps a request from buying minutes of CPU. */
export const MAX_PASSWORD_LENGTH = 1024;

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  // maxmem must exceed 128·N·r bytes; twice that leaves room for the implementation's overhead.
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r };
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFC"), salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, PARAMS);
  return `scrypt$${PARAMS.N}$${PARAMS.r}$${PARAMS.p}$${salt.toString("base64url")}$${key.toString("base64url")}`;
}

/** A hash no password matches, verified when the user does not exist so both cost the same. */
let decoy: Promise<string> | null = null;
function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(24).toString("base64url"));
  return decoy;
}

/**
 * Whether the password matches the stored hash. With no stored hash (unknown user, or a user
 * without a password) the same work is done against a decoy and the answer is false, so the
 * response time does not tell whether a username exists.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  const parsed = stored ? parseHash(stored) : null;
  if (!parsed) {
    const d = parseHash(await decoyHash());
    if (d) await derive(password, d.salt, d.params);
    return false;
  }
  const key = await derive(password, parsed.salt, parsed.params);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

function parseHash(stored: string): { params: { N: number; r: number; p: number }; salt: Buffer; key: Buffer } | null {
  const parts = stored.split("$");
  if (parts.length !== 6 || parts[0] !== "scrypt") return null;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  if (!N || !r || !p || !Number.isInteger(N) || !Number.isInteger(r) || !Number.isInteger(p)) return null;
  return { params: { N, r, p }, salt: Buffer.from(parts[4]!, "base64url"), key: Buffer.from(parts[5]!, "base64url") };
}

/** The rule for a new password: 8 characters at least (422 with a pointer otherwise). */
export function validateNewPassword(password: string, pointer: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw invalidAttribute(`Password is too short (minimum is ${MIN_PASSWORD_LENGTH} characters)`, pointer);
  }
  if (password.length > MAX_PASSWORD_LENGTH) {
    throw invalidAttribute(`Password is too long (maximum is ${MAX_PASSWORD_LENGTH} characters)`, pointer);
  }
}
