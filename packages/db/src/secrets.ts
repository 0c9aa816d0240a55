import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/** Tokens and capability secrets are stored as SHA-256 hex digests only. */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** A URL-safe random secret for capability URLs and API tokens. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString("base64url");
}

/**
 * Sensitive variable values are encrypted with AES-256-GCM under a key derived
 * from the deployment's secret; the stored form is "v1:<iv>:<tag>:<ciphertext>" (base64url).
 */
function keyFrom(secret: string): Buffer {
  return createHash("sha256").update(`tarmac-variables:${secret}`).digest();
}

export function encryptValue(plaintext: string, secret: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", keyFrom(secret), iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  const tag = cipher.getAuthTag();
  return ["v1", iv.toString("base64url"), tag.toString("base64url"), ciphertext.toString("base64url")].join(":");
}

/** The deployment keys, newest first in effect: `current` encrypts, every key may decrypt. */
export interface DecryptionKeys {
  current: string;
  previous: readonly string[];
}

/**
 * Decrypts under the current key, then under each earlier one (after a rotation, values
 * written before it are still readable). GCM's tag tells a wrong key from a right one.
 */
export function decryptValue(stored: string, keys: DecryptionKeys): string {
  const [version, iv, tag, ciphertext] = stored.split(":");
  if (version !== "v1" || iv === undefined || tag === undefined || ciphertext === undefined) {
    throw new Error("encrypted value has an unknown format");
  }
  for (const secret of [keys.current, ...keys.previous]) {
    const decipher = createDecipheriv("aes-256-gcm", keyFrom(secret), Buffer.from(iv, "base64url"));
    decipher.setAuthTag(Buffer.from(tag, "base64url"));
    try {
      return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
    } catch {
      // Not this key: the authentication tag does not match; try the next one.
    }
  }
  throw new Error("encrypted value does not decrypt under any configured key (TARMAC_ENCRYPTION_KEY, TARMAC_ENCRYPTION_KEYS_OLD)");
}
