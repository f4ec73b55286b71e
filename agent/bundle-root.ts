import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AppspecError } from '../lib/domain/appspec.js';
import { APPSPEC_NAMES, locateAppspec } from '../lib/domain/appspec-location.js';

/**
 * The extracted bundle's root, by the one appspec rule preflight uses too
 * (lib/domain/appspec-location.ts).
 */
export async function bundleRootOf(dir: string, log: (line: string) => void = () => undefined): Promise<string> {
  const { files, dirs } = await topEntries(dir);
  const location = locateAppspec(files, dirs);
  if ('problem' in location) throw new AppspecError(`The ${location.problem}`, [{ path: '$', message: 'appspec.yml is missing' }]);
  if (location.root !== '') log(`bundle root is ${location.root}`);
  return join(dir, location.root);
}

/** The appspec at a bundle root: appspec.yml, else appspec.yaml (the CodeDeploy agent's order). */
export async function readBundleAppspec(root: string): Promise<string> {
  for (const name of APPSPEC_NAMES.slice(0, -1)) {
    try {
      return await readFile(join(root, name), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return readFile(join(root, APPSPEC_NAMES[APPSPEC_NAMES.length - 1] as string), 'utf8');
}

/** Regular files and folders at the top of the tree and one folder down: all the appspec rule looks at. */
async function topEntries(dir: string): Promise<{ files: string[]; dirs: string[] }> {
  const files: string[] = [];
  const dirs: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) files.push(entry.name);
    else if (entry.isDirectory()) {
      dirs.push(entry.name);
      for (const inner of await readdir(join(dir, entry.name), { withFileTypes: true })) {
        if (inner.isFile()) files.push(`${entry.name}/${inner.name}`);
        else if (inner.isDirectory()) dirs.push(`${entry.name}/${inner.name}`);
      }
    } else dirs.push(entry.name); // a link is an entry beside a folder too, but never read as the appspec
  }
  return { files, dirs };
}
