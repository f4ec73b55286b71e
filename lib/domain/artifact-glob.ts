import { globMatch, starMatch } from './glob.js';

/**
 * Buildspec artifact globs over relative file paths: `**` matches any number
 * of folders (none included), `*` any run of characters within one name, `?`
 * one character. Segment by segment, returning only to the most recent `**`,
 * so no pattern makes matching backtrack without bound.
 */
export function artifactGlobMatch(pattern: string, path: string): boolean {
  const pat = pattern.replace(/^\.\//, '').split('/').filter((s) => s !== '' && s !== '.');
  const segs = path.split('/');
  return starMatch(pat.length, segs.length, (p) => pat[p] === '**', (p, v) => globMatch(pat[p] as string, segs[v] as string));
}

export interface ArtifactSelection {
  /** Path in the build folder → path in the artifact, in path order. */
  entries: { from: string; to: string }[];
  /** The `files` patterns that matched nothing. */
  unmatched: string[];
}

/**
 * Which files an artifact holds: those under `baseDirectory` matching a
 * `files` pattern and no `exclude-paths` pattern (both relative to the base
 * directory), kept at their path below it or, with `discardPaths`, by name alone.
 */
export function selectArtifactFiles(
  files: readonly string[],
  spec: { files: readonly string[]; baseDirectory: string; discardPaths: boolean; excludePaths: readonly string[] },
): ArtifactSelection {
  const prefix = spec.baseDirectory ? `${spec.baseDirectory}/` : '';
  const below = files.filter((f) => f.startsWith(prefix)).map((f) => f.slice(prefix.length)).sort();
  const unmatched = spec.files.filter((pattern) => !below.some((f) => artifactGlobMatch(pattern, f)));
  const chosen = below.filter((f) => spec.files.some((pattern) => artifactGlobMatch(pattern, f)) && !spec.excludePaths.some((x) => artifactGlobMatch(x, f)));
  return {
    entries: chosen.map((f) => ({ from: `${prefix}${f}`, to: spec.discardPaths ? (f.split('/').pop() as string) : f })),
    unmatched,
  };
}
