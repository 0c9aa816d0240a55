import path from "node:path";
import { extract, list, type ReadEntry } from "tar";

/**
 * Configuration archives are untrusted input (DESIGN invariant 5). The gateway validated the
 * archive at upload; the worker checks again before writing a byte (defence in depth): a first
 * pass lists every entry and refuses the whole archive on any bad one, a second pass extracts
 * with the same rules as a filter, in strict mode.
 */

export interface ExtractLimits {
  /** Sum of the entries' sizes. */
  maxUnpackedBytes: number;
  maxEntries: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = {
  maxUnpackedBytes: 512 * 1024 * 1024,
  maxEntries: 100_000,
};

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
  let problem: string | null = null;
  let entries = 0;
  let bytes = 0;
  try {
    await list({
      file: archiveFile,
      strict: true,
      onReadEntry: (entry) => {
        entries++;
        bytes += entry.size ?? 0;
        problem ??= entryProblem(entry);
        if (problem === null && entries > limits.maxEntries) problem = `more than ${limits.maxEntries} entries`;
        if (problem === null && bytes > limits.maxUnpackedBytes) problem = `more than ${limits.maxUnpackedBytes} bytes unpacked`;
      },
    });
  } catch (err) {
    throw new UnsafeArchiveError(`it is not a valid tar.gz archive (${(err as Error).message})`);
  }
  if (problem !== null) throw new UnsafeArchiveError(problem);

  let refused: string | null = null;
  await extract({
    file: archiveFile,
    cwd: dir,
    strict: true,
    preservePaths: false,
    preserveOwner: false,
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
