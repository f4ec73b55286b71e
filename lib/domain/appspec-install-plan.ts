import { posix } from 'node:path';
import type { Appspec } from './appspec.js';
import { normaliseEntryPath } from './appspec-location.js';
import { permissionMatches } from './appspec-permissions.js';

/**
 * What the CodeDeploy agent refuses only once it plans the install from the
 * bundle's files (installer.rb and install_instruction.rb): a source written
 * as a folder that is a file, two sources copied to one destination, and one
 * installed file or folder matched by two permission entries. Pure: `files`
 * are the bundle's regular files, relative to its root.
 */
export interface PlanProblem {
  path: (string | number)[];
  message: string;
}

const expand = (p: string) => posix.normalize(p.trim()).replace(/(.)\/+$/, '$1');

export function installPlanProblems(appspec: Appspec, bundleFiles: readonly string[]): PlanProblem[] {
  const problems: PlanProblem[] = [];
  const files = new Set(bundleFiles.map(normaliseEntryPath).filter((f) => f !== ''));
  const dirs = new Set<string>(['']);
  for (const f of files) for (let d = posix.dirname(f); d !== '.'; d = posix.dirname(d)) dirs.add(d);

  const copies = new Map<string, number>(); // destination → files entry
  const made = new Set<string>();
  appspec.files.forEach((entry, i) => {
    const source = normaliseEntryPath(entry.source.replace(/^\/+/, ''));
    const destination = expand(entry.destination);
    if (!dirs.has(source)) {
      if (!files.has(source)) return; // a missing source is reported where the bundle is checked
      if (/\/\s*$/.test(entry.source)) {
        problems.push({ path: ['files', i, 'source'], message: `${entry.source} ends with / but ${source} is a file: CodeDeploy treats it as a folder and fails to copy it; remove the trailing /` });
        return;
      }
      copy(posix.join(destination, posix.basename(source)), i);
      return;
    }
    made.add(destination);
    const prefix = source === '' ? '' : `${source}/`;
    for (const d of dirs) if (d !== '' && d.startsWith(prefix)) made.add(posix.join(destination, d.slice(prefix.length)));
    for (const f of files) if (f.startsWith(prefix)) copy(posix.join(destination, f.slice(prefix.length)), i);
  });

  function copy(target: string, i: number): void {
    const first = copies.get(target);
    if (first !== undefined && first !== i) {
      problems.push({ path: ['files', i, 'source'], message: `installs ${target}, which $.files[${first}] installs too: CodeDeploy refuses two sources for one destination; remove one of them` });
    } else copies.set(target, i);
  }

  // The agent treats an object as a folder when the deployment makes it or it already exists: any
  // folder above an installed path exists once the install runs.
  const isFolder = (object: string) => made.has(object) || [...copies.keys(), ...made].some((t) => t.startsWith(object === '/' ? '/' : `${object}/`));
  const claimed = new Map<string, number>();
  appspec.permissions.forEach((permission, i) => {
    const object = expand(permission.object);
    const targets: string[] = [];
    if (copies.has(object)) {
      if (permission.type.includes('file')) targets.push(object);
    } else if (isFolder(object)) {
      if (permission.type.includes('file')) for (const t of copies.keys()) if (permissionMatches(object, t, permission.pattern, permission.except)) targets.push(t);
      if (permission.type.includes('directory')) for (const t of made) if (permissionMatches(object, t, permission.pattern, permission.except)) targets.push(t);
    }
    for (const target of targets.sort()) {
      const first = claimed.get(target);
      if (first !== undefined) {
        problems.push({ path: ['permissions', i], message: `sets permissions on ${target}, which $.permissions[${first}] sets too: CodeDeploy refuses one installed path matched by two entries; narrow the pattern or add it to except` });
        return;
      }
      claimed.set(target, i);
    }
  });
  return problems;
}
