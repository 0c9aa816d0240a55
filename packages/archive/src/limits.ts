/**
 * Bounds on the work an untrusted configuration archive may cost. The gateway
 * enforces them at upload and the worker again before extracting, with the
 * same defaults, so an archive the gateway accepted is never refused later
 * (and a crafted one can cost either process only this much).
 */
export interface ArchiveLimits {
  /** Largest upload, as sent (gzip-compressed). */
  maxCompressedBytes: number;
  /** Largest decompressed stream, everything after the tar's end marker included. */
  maxUnpackedBytes: number;
  /**
   * Decompressed bytes allowed after the tar's end-of-archive marker. Real tools pad to a
   * record (GNU tar: 10 KiB); anything beyond is refused instead of being read to the end.
   */
  maxTrailingBytes: number;
  maxEntries: number;
  /** Longest entry name or link target, in bytes (Linux PATH_MAX). */
  maxPathBytes: number;
  /** Most directory levels in an entry name. */
  maxPathDepth: number;
  /**
   * CPU-time budget for one inspection (the process's, so time spent waiting for a core on a
   * busy machine does not count), plus `deadlineMsPerMiB` for every MiB of compressed input
   * read so far: a small archive that is slow to inspect is hostile (the byte limits bound the
   * rest), a large honest one needs time to stream through. The clock is a backstop at 15 times
   * the budget (at least 30 s).
   */
  deadlineMs: number;
  deadlineMsPerMiB: number;
}

export const DEFAULT_ARCHIVE_LIMITS: Readonly<ArchiveLimits> = Object.freeze({
  maxCompressedBytes: 100 * 1024 * 1024,
  maxUnpackedBytes: 512 * 1024 * 1024,
  maxTrailingBytes: 1024 * 1024,
  maxEntries: 25_000,
  maxPathBytes: 4096,
  maxPathDepth: 128,
  deadlineMs: 2_000,
  deadlineMsPerMiB: 250,
});

/** Defaults overridden by whatever is given (configuration values, test settings). */
export function archiveLimits(overrides: Partial<ArchiveLimits> = {}): ArchiveLimits {
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return { ...DEFAULT_ARCHIVE_LIMITS, ...defined };
}
