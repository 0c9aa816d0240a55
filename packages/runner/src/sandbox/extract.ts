import { createReadStream } from "node:fs";
import path from "node:path";
import { DEFAULT_ARCHIVE_LIMITS, inspectArchive, type ArchiveLimits } from "@tarmac/archive";
import { extract, type ReadEntry } from "tar";

/**
 * Configuration archives are untrusted input (DESIGN invariant 5). The gateway validated the
 * archive at upload; the worker checks again before writing a byte (defence in depth), with the
 * same inspector and the same bounds (`@tarmac/archive`): one bounded streaming pass refuses the
 * whole archive on any bad entry or exceeded limit, then extraction runs with the same entry
 * rules as a filter, in strict mode. The first pass bounds what the second can cost (entries,
 * unpacked bytes, bytes after the end marker).
 */

export type ExtractLimits = ArchiveLimits;

export const DEFAULT_EXTRACT_LIMITS: ArchiveLimits = { ...DEFAULT_ARCHIVE_LIMITS };

export class UnsafeArchiveError extends Error {
  constructor(message: string) {
    super(`the configuration archive was refused: ${message}`);
    this.name = "UnsafeArchiveError";
  }
}

const LINK_ROOT = "/archive-root";

const FILE_TYPES = new Set(["File", "OldFile", "ContiguousFile"]);

/** Why an entry may not be extracted, or null when it is safe. */
export function entryProblem(entry: Pick<ReadEntry, "path" | "type" | "linkpath">): string | null {
  const name = entry.path.replace(/\\/g, "/");
  if (name === "" || name.includes("\0")) return `an entry has an invalid name`;
  if (name.startsWith("/") || /^[A-Za-z]:/.test(name)) return `"${name}" is an absolute path`;
  if (name.split("/").includes("..")) return `"${name}" leaves the archive's root`;
  if (FILE_TYPES.has(entry.type) || entry.type === "Directory") return null;
  if (entry.type === "SymbolicLink" || entry.type === "Link") {
    const target = (entry.linkpath ?? "").replace(/\\/g, "/");
    if (target === "" || target.startsWith("/") || /^[A-Za-z]:/.test(target)) {
      return `the link "${name}" points outside the archive`;
    }
    // Symbolic links resolve from their own directory, hard links from the archive's root; a
    // stand-in root shows whether resolving climbs above it.
    const from = entry.type === "SymbolicLink" ? path.posix.dirname(path.posix.join(LINK_ROOT, name)) : LINK_ROOT;
    const resolved = path.posix.resolve(from, target);
    if (resolved !== LINK_ROOT && !resolved.startsWith(`${LINK_ROOT}/`)) {
      return `the link "${name}" points outside the archive`;
    }
    return null;
  }
  return `"${name}" is a ${entry.type} entry, which a configuration may not contain`;
}

/** Extracts `archiveFile` (tar.gz) into `dir`, or throws UnsafeArchiveError without writing anything. */
export async function extractConfiguration(archiveFile: string, dir: string, limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS): Promise<void> {
  const stream = createReadStream(archiveFile, { highWaterMark: 64 * 1024 });
  const verdict = await inspectArchive(stream, limits);
  stream.destroy();
  if (!verdict.ok) throw new UnsafeArchiveError(verdict.message);

  let refused: string | null = null;
  await extract({
    file: archiveFile,
    cwd: dir,
    strict: true,
    preservePaths: false,
    preserveOwner: false,
    maxMetaEntrySize: 256 * 1024,
    filter: (_p, entry) => {
      if (!("type" in entry)) return true;
      const reason = entryProblem(entry as ReadEntry);
      if (reason !== null) refused ??= reason;
      return reason === null;
    },
  });
  // Cannot happen after the listing pass unless the archive changed underneath us.
  if (refused !== null) throw new UnsafeArchiveError(refused);
}
