export { archiveLimits, DEFAULT_ARCHIVE_LIMITS, inspectArchive, resolveSegments, unsafeNameProblem, type ArchiveLimits, type ArchiveVerdict } from "@tarmac/archive";
