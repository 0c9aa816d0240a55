import type { Db } from "./client";
import { decryptValue, encryptValue, type DecryptionKeys } from "./secrets";

/**
 * After a key rotation, re-encrypts every stored secret (sensitive variables, SSH keys, notification
 * tokens, run task HMAC keys) that
 * the current key cannot read, so the old key can eventually leave TARMAC_ENCRYPTION_KEYS_OLD.
 * Each row is rewritten only if it still holds the value that was read (compare-and-set), so
 * gateways doing this at once, or a user updating the value meanwhile, lose nothing. A value
 * no configured key decrypts is left alone and counted.
 */
export async function reencryptUnderCurrentKey(db: Db, keys: DecryptionKeys): Promise<{ reencrypted: number; unreadable: number }> {
  const counts = { reencrypted: 0, unreadable: 0 };
  if (keys.previous.length === 0) return counts;
  const current: DecryptionKeys = { current: keys.current, previous: [] };

  async function rewrite(value: string, write: (next: string) => Promise<number>): Promise<void> {
    if (readable(value, current)) return;
    let plaintext: string;
    try {
      plaintext = decryptValue(value, keys);
    } catch {
      counts.unreadable++;
      return;
    }
    counts.reencrypted += await write(encryptValue(plaintext, keys.current));
  }

  const variables = await db.workspaceVariable.findMany({ where: { sensitive: true }, select: { id: true, value: true } });
  for (const v of variables) {
    await rewrite(v.value, async (next) => (await db.workspaceVariable.updateMany({ where: { id: v.id, value: v.value }, data: { value: next } })).count);
  }
  const sshKeys = await db.sshKey.findMany({ select: { id: true, value: true } });
  for (const k of sshKeys) {
    await rewrite(k.value, async (next) => (await db.sshKey.updateMany({ where: { id: k.id, value: k.value }, data: { value: next } })).count);
  }
  const notificationTokens = await db.notificationConfiguration.findMany({ where: { token: { not: null } }, select: { id: true, token: true } });
  for (const c of notificationTokens) {
    if (c.token === null) continue;
    const token = c.token;
    await rewrite(token, async (next) => (await db.notificationConfiguration.updateMany({ where: { id: c.id, token }, data: { token: next } })).count);
  }
  const taskKeys = await db.runTask.findMany({ where: { hmacKeyEncrypted: { not: null } }, select: { id: true, hmacKeyEncrypted: true } });
  for (const t of taskKeys) {
    const value = t.hmacKeyEncrypted!;
    await rewrite(value, async (next) => (await db.runTask.updateMany({ where: { id: t.id, hmacKeyEncrypted: value }, data: { hmacKeyEncrypted: next } })).count);
  }
  return counts;
}

function readable(value: string, keys: DecryptionKeys): boolean {
  try {
    decryptValue(value, keys);
    return true;
  } catch {
    return false;
  }
}
