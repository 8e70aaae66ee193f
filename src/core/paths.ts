/**
 * Paths inside the archive: a path prefix, the path of `archive.uri-root`, a staging folder. A
 * path that could leave the folder it is joined to (`..`), or that S3 and a file system would read
 * differently (`.`, empty segments, a leading `/` in a relative path), is refused, never repaired.
 */

/** Why a relative path (segments joined by `/`, no trailing `/`) is not plain; undefined when it is. */
export function relativePathProblem(path: string): string | undefined {
  if (path === "") return undefined;
  if (path.startsWith("/")) return "starts with /";
  for (const segment of path.split("/")) {
    if (segment === "") return "has an empty segment (//)";
    if (segment === "..") return 'has a ".." segment';
    if (segment === ".") return 'has a "." segment';
  }
  return undefined;
}

/** `s3://bucket` or `file://`, and the path after it (without its leading `/`), of a staging URI. */
function splitRoot(uri: string): { root: string; path: string } | undefined {
  const match = /^(s3:\/\/[^/]+|file:\/\/)(?:\/(.*))?$/.exec(uri);
  return match ? { root: match[1]!, path: match[2] ?? "" } : undefined;
}

/**
 * Why a staging URI (`archive.uri-root`, or a folder under it, which may end with `/`) is not
 * plain: its path must not climb (`..`) nor hold `.` or empty segments.
 */
export function stagingUriProblem(uri: string): string | undefined {
  const parts = splitRoot(uri);
  if (!parts) return "is not s3://bucket[/path] or file:///path";
  if (parts.path.startsWith("/")) return "has an empty segment (//)";
  return relativePathProblem(parts.path.replace(/\/$/, ""));
}
