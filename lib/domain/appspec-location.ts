import { posix } from 'node:path';

export const APPSPEC_NAME = 'appspec.yml';

/**
 * Where a bundle's appspec.yml is, and so which folder is the bundle's root
 * (`''` for the archive root, else `folder/`).
 */
export type AppspecLocation = { root: string; appspecPath: string; ignored: number } | { problem: string };

/** `./a//b` and `a/b` are the same entry. */
export function normaliseEntryPath(path: string): string {
  const normal = posix.normalize(path.replace(/^(\.\/)+/, ''));
  return normal === '.' ? '' : normal.replace(/\/+$/, '');
}

/**
 * The one rule for finding appspec.yml, used by preflight and by the agent
 * (CodeDeploy's agent does the same): appspec.yml at the archive root wins,
 * wherever it comes in the archive; otherwise exactly one top-level folder
 * holding appspec.yml becomes the root, and whatever lies outside it is
 * ignored. None, or several folders each holding one and none at the root, is
 * a problem. `files` lists the paths of the bundle's regular files.
 */
export function locateAppspec(files: readonly string[]): AppspecLocation {
  let atRoot = false;
  const nested = new Set<string>();
  for (const raw of files) {
    const path = normaliseEntryPath(raw);
    if (path === APPSPEC_NAME) atRoot = true;
    const parts = path.split('/');
    if (parts.length === 2 && parts[1] === APPSPEC_NAME && !(parts[0] as string).startsWith('.')) nested.add(`${parts[0]}/`);
  }
  if (atRoot) return { root: '', appspecPath: APPSPEC_NAME, ignored: 0 };
  if (nested.size === 1) {
    const [root] = nested as unknown as [string];
    let outside = 0;
    for (const raw of files) if (!normaliseEntryPath(raw).startsWith(root)) outside++;
    return { root, appspecPath: `${root}${APPSPEC_NAME}`, ignored: outside };
  }
  if (nested.size > 1) {
    const folders = [...nested].sort().slice(0, 5).join(', ');
    return { problem: `the bundle has no ${APPSPEC_NAME} at its root and several top-level folders hold one (${folders}): put it at the root` };
  }
  return {
    problem:
      files.length === 0
        ? `the bundle is empty: it needs ${APPSPEC_NAME} at its root`
        : `the bundle has no ${APPSPEC_NAME} at its root (nor in a single top-level folder)`,
  };
}
