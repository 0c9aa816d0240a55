import { createGunzip } from "node:zlib";
import { Parser, type ReadEntry } from "tar";
import type { ArchiveLimits } from "./limits";
import { resolveSegments, unsafeNameProblem } from "./paths";

export type ArchiveRefusal = "invalid_archive" | "archive_too_large" | "inspection_timeout";

export type ArchiveVerdict =
  | { ok: true; entries: number; compressedBytes: number; unpackedBytes: number }
  | { ok: false; error: ArchiveRefusal; message: string };

/** Anything that yields the archive's bytes in order: a Buffer, a file stream, a request. */
export type ArchiveSource = Buffer | AsyncIterable<Buffer | Uint8Array>;

/** Entry types a Terraform configuration may hold; devices, FIFOs and exotic types are refused. */
const ALLOWED_TYPES = new Set(["File", "OldFile", "ContiguousFile", "Directory", "SymbolicLink", "Link"]);

const GZIP_MAGIC = [0x1f, 0x8b] as const;
const ZSTD_MAGIC = [0x28, 0xb5, 0x2f, 0xfd] as const;
// A Buffer source is fed in slices so the deadline timer can run between them.
const SLICE = 64 * 1024;
// Pax and GNU long-name headers are held in memory by the parser; no honest one is this big.
const MAX_META_ENTRY_BYTES = 256 * 1024;

/** The clock's backstop: this many times the CPU budget, and never under MIN_WALL_CLOCK_MS. */
const WALL_CLOCK_FACTOR = 15;
const MIN_WALL_CLOCK_MS = 30_000;
const MIN_RECHECK_MS = 20;

/** CPU time (user and system) this process spent since `start`, ms. */
export function cpuMsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

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

async function* chunksOf(source: ArchiveSource): AsyncIterable<Buffer> {
  if (Buffer.isBuffer(source)) {
    for (let at = 0; at < source.length; at += SLICE) yield source.subarray(at, at + SLICE);
    return;
  }
  for await (const chunk of source) yield Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/**
 * Checks an untrusted configuration upload (gzip-compressed tar) in one streaming pass,
 * without writing anything anywhere: compressed bytes → gunzip → tar parser, entry by entry.
 * The first violation wins and names the entry and the rule broken. Every dimension of work
 * is bounded: compressed and decompressed bytes (counted as they stream, so a bomb is
 * abandoned at the limit), bytes after the end-of-archive marker (never fed to the parser,
 * whose buffer would grow with them), entries, name lengths and depth, and the CPU time spent (with the clock as a backstop).
 * Never rejects: every outcome is a verdict.
 */
export function inspectArchive(source: ArchiveSource, limits: ArchiveLimits): Promise<ArchiveVerdict> {
  return new Promise((resolve) => {
    let settled = false;
    let compressed = 0;
    let unpacked = 0;
    let trailing = 0;
    let entries = 0;
    let head: Buffer | null = Buffer.alloc(0);
    let sawFirstChunk = false;
    let sawEndMarker = false;
    // Normalized paths of symbolic links seen so far: an entry below one would be written through it.
    const symlinks = new Set<string>();
    const gunzip = createGunzip({ chunkSize: SLICE });
    const startedAt = performance.now();
    const startedCpu = process.cpuUsage();
    const allowedMs = (): number => limits.deadlineMs + (compressed / (1024 * 1024)) * limits.deadlineMsPerMiB;
    // The budget is the process's CPU time, not the clock's: on a busy machine a process waits
    // for a core (or blocks writing its logs to a full pipe) without the archive costing anything,
    // and an honest archive must not be refused for that. A hostile one costs CPU while it is
    // inspected, so it reaches the budget as fast as before. Other work of the same process counts
    // too (a busy process refuses sooner, never later); the clock is a backstop, far above.
    const onDeadline = (): void => {
      const allowed = allowedMs();
      const cpu = cpuMsSince(startedCpu);
      const elapsed = performance.now() - startedAt;
      if (cpu >= allowed) {
        finish({ ok: false, error: "inspection_timeout", message: `inspecting the archive took longer than ${Math.round(allowed)} ms of CPU time` });
        return;
      }
      const wallLimit = Math.max(allowed * WALL_CLOCK_FACTOR, MIN_WALL_CLOCK_MS);
      if (elapsed >= wallLimit) {
        finish({ ok: false, error: "inspection_timeout", message: `inspecting the archive took longer than ${Math.round(wallLimit)} ms` });
        return;
      }
      // The CPU budget cannot run out sooner than the CPU time it has left.
      deadline = setTimeout(onDeadline, Math.max(MIN_RECHECK_MS, Math.min(Math.ceil(allowed - cpu), Math.ceil(wallLimit - elapsed))));
    };
    let deadline = setTimeout(onDeadline, limits.deadlineMs);
    let wake: (() => void) | null = null;

    function finish(verdict: ArchiveVerdict): void {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      gunzip.removeAllListeners("data");
      gunzip.on("error", () => undefined); // late errors of an abandoned stream
      gunzip.destroy();
      parser.removeAllListeners("entry");
      parser.abort(new Error("inspection finished"));
      wake?.();
      resolve(verdict);
    }
    const reject = (message: string): void => finish({ ok: false, error: "invalid_archive", message });
    const tooLarge = (message: string): void => finish({ ok: false, error: "archive_too_large", message });

    const checkEntry = (entry: ReadEntry): string | null => {
      entries += 1;
      if (entries > limits.maxEntries) return `the archive has more than ${limits.maxEntries} entries`;
      const name = entry.path;
      if (!ALLOWED_TYPES.has(entry.type)) return `entry ${quote(name)} is a ${entry.type}, which is not allowed (only files, directories and links)`;
      if (Buffer.byteLength(name) > limits.maxPathBytes) return `entry ${quote(name)}: name longer than ${limits.maxPathBytes} bytes`;
      const nameProblem = unsafeNameProblem(name);
      if (nameProblem) return `entry ${quote(name)}: ${nameProblem}`;
      const segments = resolveSegments([], name);
      if (segments === null) return `entry ${quote(name)}: path escapes the archive root`;
      if (segments.length > limits.maxPathDepth) return `entry ${quote(name)}: nested deeper than ${limits.maxPathDepth} directories`;
      if (segments.length === 0 && entry.type !== "Directory") return `entry ${quote(name)}: only a directory may name the archive root`;
      if (symlinks.size > 0) {
        let prefix = "";
        for (let i = 0; i < segments.length - 1; i++) {
          prefix = i === 0 ? segments[0]! : `${prefix}/${segments[i]!}`;
          if (symlinks.has(prefix)) return `entry ${quote(name)}: path passes through the symbolic link ${quote(prefix)}`;
        }
      }
      if (entry.type === "SymbolicLink" || entry.type === "Link") {
        const target = entry.linkpath ?? "";
        const kind = entry.type === "SymbolicLink" ? "symbolic link" : "hard link";
        if (Buffer.byteLength(target) > limits.maxPathBytes) return `entry ${quote(name)}: ${kind} target longer than ${limits.maxPathBytes} bytes`;
        const targetProblem = unsafeNameProblem(target);
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
      maxMetaEntrySize: MAX_META_ENTRY_BYTES,
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
    // Two zero blocks: the archive is over. The parser would keep buffering (and re-copying)
    // whatever follows, so from here on bytes are only counted.
    parser.on("eof", () => (sawEndMarker = true));
    parser.on("end", () => {
      if (unpacked === 0) reject("the archive is empty (not a tar archive)");
      else finish({ ok: true, entries, compressedBytes: compressed, unpackedBytes: unpacked });
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
      if (sawEndMarker) {
        trailing += chunk.length;
        if (trailing > limits.maxTrailingBytes) reject(`more than ${limits.maxTrailingBytes} bytes follow the end of the tar archive`);
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

    const feed = async (): Promise<void> => {
      for await (const chunk of chunksOf(source)) {
        if (settled) return;
        compressed += chunk.length;
        if (compressed > limits.maxCompressedBytes) return tooLarge(`the archive is larger than ${limits.maxCompressedBytes} bytes`);
        if (head !== null) {
          head = Buffer.concat([head, chunk.subarray(0, GZIP_MAGIC.length)]).subarray(0, GZIP_MAGIC.length);
          if (head.length === GZIP_MAGIC.length) {
            if (!startsWith(head, GZIP_MAGIC)) return reject("the upload is not gzip-compressed (expected a .tar.gz archive)");
            head = null;
          }
        }
        if (!gunzip.write(chunk)) {
          await new Promise<void>((resume) => {
            wake = resume;
            gunzip.once("drain", resume);
          });
          wake = null;
        }
      }
      if (settled) return;
      if (head !== null) return reject("the upload is not gzip-compressed (expected a .tar.gz archive)");
      gunzip.end();
    };
    feed().catch((err: unknown) => reject(`the archive could not be read: ${err instanceof Error ? err.message : String(err)}`));
  });
}
