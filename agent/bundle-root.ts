import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { AppspecError } from '../lib/domain/appspec.js';
import { locateAppspec } from '../lib/domain/appspec-location.js';

/**
 * The extracted bundle's root, by the one appspec rule preflight uses too
 * (lib/domain/appspec-location.ts).
 */
export async function bundleRootOf(dir: string, log: (line: string) => void = () => undefined): Promise<string> {
  const location = locateAppspec(await topFiles(dir));
  if ('problem' in location) throw new AppspecError(`The ${location.problem}`, [{ path: '$', message: 'appspec.yml is missing' }]);
  if (location.ignored > 0) log(`bundle root is ${location.root}; ${location.ignored} file(s) outside it are ignored`);
  return join(dir, location.root);
}

/** Regular files at the top of the tree and one folder down: all the appspec rule looks at. */
async function topFiles(dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile()) files.push(entry.name);
    else if (entry.isDirectory()) {
      for (const inner of await readdir(join(dir, entry.name), { withFileTypes: true })) {
        if (inner.isFile()) files.push(`${entry.name}/${inner.name}`);
      }
    }
  }
  return files;
}
