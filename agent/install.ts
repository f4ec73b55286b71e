import { execFileSync } from 'node:child_process';
import { chmod, chown, copyFile, lstat, mkdir, readdir, readlink, realpath, rm, stat, symlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, posix, relative, sep } from 'node:path';
import { type Appspec, type Permission, filePermissionProblem } from '../lib/domain/appspec.js';
import type { FileExistsBehavior } from '../lib/domain/file-exists-behavior.js';
import type { OutputLog } from './output-buffer.js';

export class InstallError extends Error {
  override readonly name = 'InstallError';
  constructor(
    message: string,
    readonly errorCode: 'UnknownError' | 'FileExists' | 'FileOwnedByAnotherGroup' = 'UnknownError',
  ) {
    super(message);
  }
}

/**
 * Where an appspec destination lands: the path itself, or under a root folder
 * (the local fleet's hosts). `confine` refuses a path that, through links
 * already on disk, would leave that folder.
 */
export type DestinationMap = ((absolute: string) => string) & { confine?: (path: string) => Promise<void> };

export const identityMap: DestinationMap = (p) => p;

/** Destinations are resolved against `/` first, so `/../../x` is `<root>/x`: nothing lands outside the root. */
export function rootedMap(root: string): DestinationMap {
  const map: DestinationMap = (p) => join(root, posix.resolve('/', p));
  map.confine = async (path) => {
    await mkdir(root, { recursive: true });
    const realRoot = await realpath(root);
    let existing = path;
    for (;;) {
      try {
        existing = await realpath(existing);
        break;
      } catch {
        const parent = dirname(existing);
        if (parent === existing) break;
        existing = parent;
      }
    }
    const rel = relative(realRoot, existing);
    if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new InstallError(`${path} resolves outside the host folder ${root} (through a symlink)`);
    }
  };
  return map;
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function* walk(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

/** Removes what the previous deployment of this group installed (its files, not foreign ones). */
export async function removePrevious(files: string[], log: OutputLog): Promise<void> {
  for (const file of files) await rm(file, { force: true });
  if (files.length > 0) log.line(`removed ${files.length} file(s) installed by the previous deployment`);
}

/**
 * Copies the appspec's `files` into place. A file that already exists (and was
 * not ours) is refused (DISALLOW), replaced (OVERWRITE) or kept (RETAIN).
 * Returns every file written, for the next deployment to remove.
 */
export async function copyFiles(
  appspec: Appspec,
  bundleRoot: string,
  behavior: FileExistsBehavior,
  map: DestinationMap,
  log: OutputLog,
  /** Which other deployment group installed a path on this host, if any. */
  installedBy: (path: string) => string | undefined = () => undefined,
): Promise<string[]> {
  const installed: string[] = [];
  for (const { source, destination } of appspec.files) {
    const from = join(bundleRoot, source === '/' ? '' : source);
    if (!(await exists(from))) throw new InstallError(`files: source ${source} does not exist in the bundle`);
    const to = map(destination);
    const sourceIsDir = (await stat(from)).isDirectory();
    const pairs: [string, string][] = [];
    if (sourceIsDir) for await (const file of walk(from)) pairs.push([file, join(to, relative(from, file))]);
    else pairs.push([from, join(to, basename(from))]);
    for (const [src, dest] of pairs) {
      if (src === join(bundleRoot, 'appspec.yml') && sourceIsDir) continue;
      await map.confine?.(dest);
      if (await exists(dest)) {
        if (behavior === 'DISALLOW') {
          const owner = installedBy(dest);
          if (owner) {
            throw new InstallError(
              `${dest} was installed by deployment group ${owner} (file_exists_behavior DISALLOW): deploy the two groups to different destinations or hosts, or set file_exists_behavior OVERWRITE`,
              'FileOwnedByAnotherGroup',
            );
          }
          throw new InstallError(`${dest} already exists and was not installed by Fleetline (file_exists_behavior DISALLOW): remove it, or set file_exists_behavior OVERWRITE or RETAIN`, 'FileExists');
        }
        if (behavior === 'RETAIN') {
          log.line(`kept existing ${dest} (RETAIN)`);
          continue;
        }
        await rm(dest, { force: true });
      }
      await mkdir(join(dest, '..'), { recursive: true });
      const info = await lstat(src);
      if (info.isSymbolicLink()) await symlink(await readlink(src), dest);
      else await copyFile(src, dest);
      installed.push(dest);
    }
  }
  log.line(`installed ${installed.length} file(s)`);
  return installed;
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*\*/g, '\0').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]').replace(/\0/g, '.*');
  return new RegExp(`^${escaped}$`);
}

/** Applies the appspec's `permissions` (mode, owner, group) to what Install put in place. */
export async function applyPermissions(permissions: Permission[], map: DestinationMap, log: OutputLog): Promise<void> {
  const privileged = process.getuid?.() === 0;
  for (const permission of permissions) {
    const object = map(permission.object);
    await map.confine?.(object);
    if (!(await exists(object))) throw new InstallError(`permissions: object ${permission.object} does not exist`);
    if ((permission.owner || permission.group) && !privileged) {
      throw new InstallError(`permissions: setting owner/group on ${permission.object} needs the agent to run as root`);
    }
    if (permission.acls.length > 0 || permission.context) {
      log.line(`permissions: acls and SELinux context on ${permission.object} are not applied by this agent`);
    }
    const targets: string[] = [];
    if (!(await stat(object)).isDirectory()) {
      const problem = filePermissionProblem(permission);
      if (problem) throw new InstallError(`permissions: ${problem}`);
      targets.push(object);
    } else {
      const include = globToRegExp(permission.pattern);
      const excluded = permission.except.map(globToRegExp);
      for await (const path of walkAll(object)) {
        const rel = relative(object, path);
        const isDir = (await stat(path)).isDirectory();
        if (!permission.type.includes(isDir ? 'directory' : 'file')) continue;
        if (permission.pattern !== '**' && !include.test(basename(rel))) continue;
        if (excluded.some((r) => r.test(basename(rel)))) continue;
        targets.push(path);
      }
    }
    const ids = privileged ? ownerIds(permission) : {};
    for (const path of targets) {
      await map.confine?.(path);
      if (permission.mode) await chmod(path, Number.parseInt(permission.mode, 8));
      if (ids.uid !== undefined || ids.gid !== undefined) await chown(path, ids.uid ?? -1, ids.gid ?? -1);
    }
  }
}

async function* walkAll(dir: string): AsyncGenerator<string> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    yield path;
    if (entry.isDirectory()) yield* walkAll(path);
  }
}

function ownerIds(permission: Permission): { uid?: number; gid?: number } {
  const lookup = (args: string[]) => Number(execFileSync('id', args, { encoding: 'utf8' }).trim());
  try {
    return {
      ...(permission.owner ? { uid: lookup(['-u', permission.owner]) } : {}),
      ...(permission.group ? { gid: Number(execFileSync('getent', ['group', permission.group], { encoding: 'utf8' }).split(':')[2]) } : {}),
    };
  } catch {
    throw new InstallError(`permissions: unknown owner or group on ${permission.object}`);
  }
}
