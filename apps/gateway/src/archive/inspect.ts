import { createGunzip } from "node:zlib";
import { Parser, type ReadEntry } from "tar";
import { resolveSegments, unsafeNameProblem } from "./paths";

export interface ArchiveLimits {
  /** Largest tar stream once gunzipped (a decompression bomb stops here). */
  maxUnpackedBytes: number;
  maxEntries: number;
}

export const DEFAULT_MAX_ENTRIES = 100_000;

export type ArchiveVerdict =
  | { ok: true; entries: number; unpackedBytes: number }
  | { ok: false; error: "invalid_archive"; message: string };

/** Entry types a Terraform configuration may hold; devices, FIFOs and exotic types are refused. */
const ALLOWED_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"]);

const GZIP_MAGIC = [0x1f, 0x8b] as const;
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd] as const;

function startsWith(buf: Buffer, magic: readonly number[]): boolean {
  return buf.length >= magic.length && magic.every((b, i) => buf[i] === b);
}

function hasInnerParentSegment(target: string): boolean {
  let sawName = false;
  for (const seg of target.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (sawName) return true;
    } else {
      sawName = true;
    }
  }
  return false;
}

function quote(name: string): string {
  return JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name);
}

/**
 * Checks an untrusted configuration upload (gzip-compressed tar) entry by
 * entry, streaming, without writing anything anywhere: the first violation
 * wins and names the entry and the rule broken. Decompressed bytes are
 * counted as they stream, so a bomb is abandoned at the limit.
 */
export function inspectArchive(data: Buffer, limits: ArchiveLimits): Promise<ArchiveVerdict> {
  if (!startsWith(data, GZIP_MAGIC)) {
    return Promise.resolve({ ok: false, error: "invalid_archive", message: "the upload is not gzip-compressed (expected a .tar.gz archive)" });
  }
  return new Promise((resolve) => {
    let settled = false;
    let unpacked = 0;
    let entries = 0;
    let sawFirstChunk = false;
    // Normalized paths of symbolic links seen so far: an entry below one would be written through it.
    const symlinks = new Set<string>();
    const gunzip = createGunzip();

    const finish = (verdict: ArchiveVerdict): void => {
      if (settled) return;
      settled = true;
      gunzip.removeAllListeners("data");
      gunzip.destroy();
      resolve(verdict);
    };
    const reject = (message: string): void => finish({ ok: false, error: "invalid_archive", message });

    const checkEntry = (entry: ReadEntry): string | null => {
      entries += 1;
      if (entries > limits.maxEntries) return `the archive has more than ${limits.maxEntries} entries`;
      const name = entry.path;
      if (!ALLOWED_TYPES.has(entry.type)) return `entry ${quote(name)} is a ${entry.type}, which is not allowed (only files, directories and links)`;
      const nameProblem = unsafeNameProblem(name);
      if (nameProblem) return `entry ${quote(name)}: ${nameProblem}`;
      const segments = resolveSegments([], name);
      if (segments === null) return `entry ${quote(name)}: path escapes the archive root`;
      if (segments.length === 0 && entry.type !== "Directory") return `entry ${quote(name)}: only a directory may name the archive root`;
      for (let i = 1; i < segments.length; i++) {
        const prefix = segments.slice(0, i).join("/");
        if (symlinks.has(prefix)) return `entry ${quote(name)}: path passes through the symbolic link ${quote(prefix)}`;
      }
      if (entry.type === "SymbolicLink" || entry.type === "Link") {
        const target = entry.linkpath ?? "";
        const targetProblem = unsafeNameProblem(target);
        const kind = entry.type === "SymbolicLink" ? "symbolic link" : "hard link";
        if (targetProblem) return `entry ${quote(name)}: ${kind} target ${quote(target)}: ${targetProblem}`;
        // "dir/../x" is only lexically inside when dir is a real directory; if dir is itself a link the
        // extractor's file system resolves it elsewhere. Leading ".." segments alone cannot be redirected.
        if (hasInnerParentSegment(target)) return `entry ${quote(name)}: ${kind} target ${quote(target)} has ".." after a directory name`;
        // A symlink's target is relative to its own directory; a hard link's names another archive member.
        const base = entry.type === "SymbolicLink" ? segments.slice(0, -1) : [];
        if (resolveSegments(base, target) === null) return `entry ${quote(name)}: ${kind} target ${quote(target)} escapes the archive root`;
        if (entry.type === "SymbolicLink") symlinks.add(segments.join("/"));
      }
      return null;
    };

    const parser = new Parser({
      strict: true,
      brotli: false,
      zstd: false,
      onReadEntry: (entry) => {
        // The bare Parser waits for each entry's body to be consumed; we only count it.
        entry.resume();
        if (settled) return;
        const problem = checkEntry(entry);
        if (problem) reject(problem);
      },
    });
    parser.on("ignoredEntry", (entry: ReadEntry) => reject(`entry ${quote(entry.path)} has an unsupported type (${entry.type})`));
    parser.on("error", (err: Error) => reject(`not a valid tar archive: ${err.message}`));
    parser.on("end", () => {
      if (unpacked === 0) reject("the archive is empty (not a tar archive)");
      else finish({ ok: true, entries, unpackedBytes: unpacked });
    });

    gunzip.on("data", (chunk: Buffer) => {
      if (settled) return;
      if (!sawFirstChunk) {
        sawFirstChunk = true;
        // The tar parser would transparently decompress a nested archive, out of reach of our byte count.
        if (startsWith(chunk, GZIP_MAGIC) || startsWith(chunk, ZSTD_MAGIC)) {
          reject("the archive is compressed twice (expected one gzip layer around a tar)");
          return;
        }
      }
      unpacked += chunk.length;
      if (unpacked > limits.maxUnpackedBytes) {
        reject(`the archive unpacks to more than ${limits.maxUnpackedBytes} bytes`);
        return;
      }
      // Backpressure: a slow parser pauses decompression instead of buffering it.
      if (!parser.write(chunk)) {
        gunzip.pause();
        parser.once("drain", () => gunzip.resume());
      }
    });
    gunzip.on("end", () => {
      if (!settled) parser.end();
    });
    gunzip.on("error", (err: Error) => reject(`the upload is not a valid gzip stream: ${err.message}`));
    gunzip.end(data);
  });
}
