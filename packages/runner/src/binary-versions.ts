import { stat } from "node:fs/promises";

/**
 * The version each terraform binary reported to `version -json`, remembered per file: a binary's
 * version does not change while the file stays the same (same device, inode, size, modification
 * and change times), and asking costs a process start per phase. A file replaced or rewritten in
 * place (an upgrade at the same path) is a new key and is asked again.
 */
export class BinaryVersions {
  private readonly versions = new Map<string, string>();

  constructor(private readonly maxEntries = 64) {}

  /** The file's identity, or null when it cannot be read (then nothing is remembered). */
  async keyOf(bin: string): Promise<string | null> {
    try {
      const st = await stat(bin);
      return [bin, st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs].join("\0");
    } catch {
      return null;
    }
  }

  get(key: string): string | undefined {
    return this.versions.get(key);
  }

  set(key: string, version: string): void {
    this.versions.delete(key);
    this.versions.set(key, version);
    // Insertion order is age: the oldest key goes first (a worker sees a handful of binaries).
    while (this.versions.size > this.maxEntries) {
      const oldest = this.versions.keys().next().value;
      if (oldest === undefined) break;
      this.versions.delete(oldest);
    }
  }
}
