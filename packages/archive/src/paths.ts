/**
 * Lexical checks on tar entry names and link targets. The archive is never
 * extracted here, but the worker extracts it later: anything a careless
 * extractor could write outside its directory is refused up front.
 */

export type PathProblem =
  | "empty path"
  | "absolute path"
  | "windows drive letter"
  | "backslash in path"
  | "NUL byte in path"
  | "escapes the archive root";

/** The reason a name cannot be used inside the archive root, or null when it is safe. */
export function unsafeNameProblem(name: string): PathProblem | null {
  if (name === "") return "empty path";
  if (name.includes("\0")) return "NUL byte in path";
  // A backslash is a separator to Windows extractors ("..\\x" escapes there).
  if (name.includes("\\")) return "backslash in path";
  if (/^[A-Za-z]:/.test(name)) return "windows drive letter";
  if (name.startsWith("/")) return "absolute path";
  return null;
}

/**
 * Resolves `name` against `base` (segments relative to the root) without the
 * file system; null when a `..` climbs above the root at any point.
 */
export function resolveSegments(base: readonly string[], name: string): string[] | null {
  const out = [...base];
  for (const seg of name.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length === 0) return null;
      out.pop();
    } else {
      out.push(seg);
    }
  }
  return out;
}
