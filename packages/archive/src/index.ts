export { inspectArchive, type ArchiveRefusal, type ArchiveSource, type ArchiveVerdict } from "./inspect";
export { archiveLimits, DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from "./limits";
export { resolveSegments, unsafeNameProblem, type PathProblem } from "./paths";
