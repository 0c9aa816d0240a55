export { inspectArchive, DEFAULT_MAX_ENTRIES, type ArchiveLimits, type ArchiveVerdict } from "./inspect";
export { resolveSegments, unsafeNameProblem } from "./paths";
