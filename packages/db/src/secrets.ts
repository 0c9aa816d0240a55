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

export function decryptValue(stored: string, secret: string): string {
  const [version, iv, tag, ciphertext] = stored.split(":");
  if (version !== "v1" || iv === undefined || tag === undefined || ciphertext === undefined) {
    throw new Error("encrypted value has an unknown format");
  }
  const decipher = createDecipheriv("aes-256-gcm", keyFrom(secret), Buffer.from(iv, "base64url"));
  decipher.setAuthTag(Buffer.from(tag, "base64url"));
  return Buffer.concat([decipher.update(Buffer.from(ciphertext, "base64url")), decipher.final()]).toString("utf8");
}
