import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, readlink, realpath, rm, rmdir, stat, symlink } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, posix, relative, sep } from 'node:path';
import { type Appspec, type Permission, filePermissionProblem } from '../lib/domain/appspec.js';
import { type AclEntry, fullAcl, parseAclEntry, permissionMatches } from '../lib/domain/appspec-permissions.js';
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

/** What one Install put on the host: the next deployment of the group removes exactly this, and `permissions` apply only to it. */
export interface InstalledPaths {
  files: string[];
  /** Folders this Install created (not those that were there before), parents first. */
  directories: string[];
  /** Paths given an SELinux file-context rule (`semanage fcontext -a`): the next deployment deletes the rules, as CodeDeploy's cleanup does. */
  contexts?: string[];
}

export const NOTHING_INSTALLED: InstalledPaths = { files: [], directories: [] };

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

const withoutSlash = (path: string) => (path.length > 1 ? path.replace(/\/+$/, '') : path);

const ownUid = () => process.getuid?.() ?? 0;

/**
 * Refuses a path that leads through a link another user owns: a hook run as
 * that user (runas) could have planted it to send the agent's next write,
 * removal or chown to a file of root's. Links owned by root or by the agent
 * itself are followed (an administrator's /var/www -> /data/www). Parts that
 * do not exist yet end the check.
 */
export async function refuseForeignLinks(path: string): Promise<void> {
  const parts = path.split('/').filter(Boolean);
  let prefix = '';
  for (const part of parts) {
    prefix += `/${part}`;
    let info;
    try {
      info = await lstat(prefix);
    } catch {
      return;
    }
    if (info.isSymbolicLink() && info.uid !== 0 && info.uid !== ownUid()) {
      throw new InstallError(
        `${path} leads through ${prefix}, a link owned by uid ${info.uid}: the agent never writes, removes or changes a file through another user's link; remove the link (a hook may have left it)`,
      );
    }
  }
}

/** Source entries in order, folders before what is in them; a link is an entry of its own (never followed). */
async function* walk(dir: string): AsyncGenerator<{ path: string; isDir: boolean }> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    yield { path, isDir: entry.isDirectory() };
    if (entry.isDirectory()) yield* walk(path);
  }
}

/** Removes what the previous deployment of this group installed (its files, then the folders it created if empty), never through another user's link. */
export async function removePrevious(previous: InstalledPaths, log: OutputLog): Promise<void> {
  let removed = 0;
  for (const file of previous.files) {
    try {
      await refuseForeignLinks(dirname(file));
    } catch (error) {
      log.line(`left ${file} in place: ${(error as Error).message}`);
      continue;
    }
    const info = await lstat(file).catch(() => undefined);
    if (!info || info.isDirectory()) continue;
    await rm(file, { force: true });
    removed++;
  }
  for (const folder of [...previous.directories].reverse()) {
    const info = await lstat(folder).catch(() => undefined);
    if (!info?.isDirectory()) continue;
    try {
      await refuseForeignLinks(dirname(folder));
      await rmdir(folder);
    } catch {
      // Not empty (someone else's files are in it) or not ours to remove: it stays, as with CodeDeploy.
    }
  }
  if (removed > 0) log.line(`removed ${removed} file(s) installed by the previous deployment`);
  await removeContextRules(previous.contexts ?? [], log);
}

async function removeContextRules(paths: string[], log: OutputLog): Promise<void> {
  if (paths.length === 0) return;
  if (!onPath('semanage')) {
    log.line(`left the SELinux file-context rules of ${paths.length} path(s) in place: semanage is not installed on this host`);
    return;
  }
  for (const path of paths) {
    // Like CodeDeploy's cleanup, a rule already gone (or never added before a crash) is no failure.
    await run('semanage', ['fcontext', '-d', path]).catch((error: Error) => log.line(`left the SELinux file-context rule of ${path}: ${error.message}`));
  }
}

/**
 * Copies the appspec's `files` into place, the empty folders of a copied
 * folder included. A file that already exists (and was not ours) is refused
 * (DISALLOW), replaced (OVERWRITE) or kept (RETAIN). Returns every file
 * written and every folder created, for the next deployment to remove and for
 * `permissions` to apply to.
 */
export async function copyFiles(
  appspec: Appspec,
  bundleRoot: string,
  behavior: FileExistsBehavior,
  map: DestinationMap,
  log: OutputLog,
  /** Which other deployment group installed a path on this host, if any. */
  installedBy: (path: string) => string | undefined = () => undefined,
): Promise<InstalledPaths> {
  const installed: InstalledPaths = { files: [], directories: [] };
  const made = new Set<string>();
  /** Creates `folder` and its missing parents, recording each one created. */
  const makeFolder = async (folder: string) => {
    await map.confine?.(folder);
    const missing: string[] = [];
    for (let at = folder; !(await exists(at)); at = dirname(at)) {
      missing.unshift(at);
      if (dirname(at) === at) break;
    }
    for (const path of missing) {
      await refuseForeignLinks(dirname(path));
      try {
        await mkdir(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST' && (await lstat(path)).isDirectory()) continue; // made meanwhile: not ours
        throw error;
      }
      if (!made.has(path)) installed.directories.push(path);
      made.add(path);
    }
    if (missing.length === 0 && !(await stat(folder)).isDirectory()) throw new InstallError(`${folder} exists and is not a folder: a file cannot be installed inside it`);
  };
  for (const { source, destination } of appspec.files) {
    const from = join(bundleRoot, source === '/' ? '' : source);
    if (!(await exists(from))) throw new InstallError(`files: source ${source} does not exist in the bundle`);
    const to = withoutSlash(map(destination));
    const sourceIsDir = (await stat(from)).isDirectory();
    await makeFolder(to);
    const pairs: [string, string][] = [];
    if (sourceIsDir) {
      for await (const entry of walk(from)) {
        const dest = join(to, relative(from, entry.path));
        if (entry.isDir) await makeFolder(dest);
        else pairs.push([entry.path, dest]);
      }
    } else pairs.push([from, join(to, basename(from))]);
    for (const [src, dest] of pairs) {
      await map.confine?.(dest);
      await refuseForeignLinks(dirname(dest));
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
      const info = await lstat(src);
      // Created afresh, never through whatever may have appeared at the destination meanwhile.
      if (info.isSymbolicLink()) await symlink(await readlink(src), dest);
      else await copyFile(src, dest, constants.COPYFILE_EXCL);
      installed.files.push(dest);
    }
  }
  log.line(`installed ${installed.files.length} file(s)${installed.directories.length > 0 ? `, created ${installed.directories.length} folder(s)` : ''}`);
  return installed;
}

interface Target {
  path: string;
  kind: 'file' | 'directory';
  permission: Permission;
}

/**
 * Applies the appspec's `permissions` as CodeDeploy's agent does, to what this
 * Install put in place and nothing else: an object that is an installed file
 * (when its type includes file), or, below an object that is a folder, the
 * installed files and created folders its pattern, except and type select
 * (`**`: everything below; another pattern: direct children only). A path
 * selected by two entries is refused before anything changes. Each path is
 * opened without following a link (links are skipped) and changed through
 * that descriptor: owner first, then mode, so setuid and setgid bits survive.
 */
export async function applyPermissions(
  permissions: Permission[],
  installed: InstalledPaths,
  map: DestinationMap,
  log: OutputLog,
  /** Called with the paths that get an SELinux context before any rule is added, so a crash cannot leave a rule no later deployment removes. */
  recordContexts: (paths: string[]) => Promise<void> = async () => {},
): Promise<void> {
  const files = new Set(installed.files);
  const targets = new Map<string, Target>();
  for (const permission of permissions) {
    const object = withoutSlash(map(permission.object));
    await map.confine?.(object);
    const selected: Target[] = [];
    if (files.has(object)) {
      if (!permission.type.includes('file')) continue;
      const problem = filePermissionProblem(permission);
      if (problem) throw new InstallError(`permissions: ${problem}`);
      selected.push({ path: object, kind: 'file', permission });
    } else if (installed.directories.includes(object) || (await stat(object).catch(() => undefined))?.isDirectory()) {
      const select = (paths: string[], kind: Target['kind']) => {
        if (!permission.type.includes(kind)) return;
        for (const path of paths) if (permissionMatches(object, path, permission.pattern, permission.except)) selected.push({ path, kind, permission });
      };
      select(installed.files, 'file');
      select(installed.directories, 'directory');
    } else {
      log.line(`permissions: ${permission.object} is neither a file this deployment installed nor a folder: nothing to apply`);
      continue;
    }
    for (const target of selected) {
      const earlier = targets.get(target.path);
      if (earlier) {
        throw new InstallError(
          `permissions: ${target.path} is matched by two entries (object ${earlier.permission.object} and object ${permission.object}): CodeDeploy refuses this; narrow a pattern or add an except`,
        );
      }
      targets.set(target.path, target);
    }
  }
  if ([...targets.values()].some((t) => t.permission.owner || t.permission.group) && ownUid() !== 0) {
    throw new InstallError('permissions: setting owner/group needs the agent to run as root');
  }
  // The host's tools for acls and context, checked before anything changes (CodeDeploy's agent fails at the first one missing).
  for (const target of targets.values()) {
    const { permission } = target;
    const tools = [...(permission.acls.length > 0 ? ['setfacl'] : []), ...(permission.context ? ['semanage', 'chcon'] : [])];
    const missing = tools.filter((tool) => !onPath(tool));
    if (missing.length > 0) {
      const what = permission.acls.length > 0 && missing.includes('setfacl') ? 'acls' : 'an SELinux context';
      throw new InstallError(
        `permissions: ${target.path} gets ${what} (object ${permission.object}), but ${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not installed on this host: `
          + (what === 'acls' ? 'install the acl package (apt-get install acl, dnf install acl)' : 'install policycoreutils-python-utils (semanage) and coreutils built with SELinux (chcon) on an SELinux host')
          + ', or remove them from the appspec',
      );
    }
  }
  const contexts = [...targets.values()].filter((t) => t.permission.context).map((t) => t.path);
  if (contexts.length > 0) await recordContexts(contexts);
  let changed = 0;
  for (const target of targets.values()) {
    if (await applyOne(target, log)) changed++;
  }
  if (targets.size > 0) log.line(`permissions: applied to ${changed} installed path(s)`);
}

const OPEN_NO_LINK = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

async function applyOne({ path, kind, permission }: Target, log: OutputLog): Promise<boolean> {
  await refuseForeignLinks(dirname(path));
  let handle;
  try {
    handle = await open(path, OPEN_NO_LINK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') {
      log.line(`permissions: skipped ${path}: it is a link (the agent never changes a file through a link)`);
      return false;
    }
    if (code === 'ENOENT') {
      log.line(`permissions: skipped ${path}: it is gone`);
      return false;
    }
    throw new InstallError(`permissions: cannot open ${path}: ${(error as Error).message}`);
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory() !== (kind === 'directory')) {
      log.line(`permissions: skipped ${path}: it is no longer the ${kind} this deployment installed`);
      return false;
    }
    const ids = ownerIds(permission);
    if (ids.uid !== undefined || ids.gid !== undefined) await handle.chown(ids.uid ?? -1, ids.gid ?? -1);
    if (permission.mode) await handle.chmod(Number.parseInt(permission.mode, 8));
    // setfacl and chcon change the file this descriptor holds (/dev/fd/3 in their process), never a path a link could redirect.
    if (permission.acls.length > 0) {
      const entries = permission.acls.map(parseAclEntry).filter((e): e is AclEntry => typeof e !== 'string');
      const acl = fullAcl(entries, (await handle.stat()).mode).join(',');
      await onDescriptor('setfacl', ['--set', acl, '/dev/fd/3'], handle.fd, path);
    }
    if (permission.context) {
      const { user, type, range } = permission.context;
      const label = [...(user ? ['-s', user] : []), '-t', type, ...(range ? ['-r', range] : [])];
      // The persistent rule, as CodeDeploy's agent adds it (a relabel keeps the type), then the label itself.
      await run('semanage', ['fcontext', '-a', ...label, path]).catch(() => run('semanage', ['fcontext', '-m', ...label, path]));
      await onDescriptor('chcon', [...(user ? ['-u', user] : []), '-t', type, ...(range ? ['-l', range] : []), '/dev/fd/3'], handle.fd, path);
    }
    return true;
  } finally {
    await handle.close();
  }
}

/** Runs a host tool (with `fd` as its descriptor 3); a failure names the command, its exit and what it said. */
function run(tool: string, args: string[], fd?: number): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(tool, args, { stdio: ['ignore', 'ignore', 'pipe', ...(fd === undefined ? [] : [fd])], timeout: 60_000 });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', (error) => fail(new InstallError(`permissions: ${tool} could not start: ${error.message}`)));
    child.once('close', (code, sig) => {
      if (code === 0) return done();
      fail(new InstallError(`permissions: ${tool} ${args.join(' ')} failed (${code === null ? `killed by ${sig}` : `exit ${code}`}): ${stderr.trim().slice(0, 300)}`));
    });
  });
}

async function onDescriptor(tool: string, args: string[], fd: number, path: string): Promise<void> {
  try {
    await run(tool, args, fd);
  } catch (error) {
    throw new InstallError((error as Error).message.replaceAll('/dev/fd/3', path));
  }
}

/** Whether an executable `name` is in one of the agent's PATH folders. */
function onPath(name: string): boolean {
  return (process.env.PATH ?? '/usr/bin:/bin').split(':').some((dir) => {
    if (!dir.startsWith('/')) return false;
    try {
      accessSync(join(dir, name), constants.X_OK);
      return statSync(join(dir, name)).isFile();
    } catch {
      return false;
    }
  });
}

const idCache = new Map<string, { uid?: number; gid?: number }>();

function ownerIds(permission: Permission): { uid?: number; gid?: number } {
  if (!permission.owner && !permission.group) return {};
  const key = `${permission.owner ?? ''}:${permission.group ?? ''}`;
  const cached = idCache.get(key);
  if (cached) return cached;
  try {
    const ids = {
      ...(permission.owner ? { uid: Number(execFileSync('id', ['-u', '--', permission.owner], { encoding: 'utf8' }).trim()) } : {}),
      ...(permission.group ? { gid: Number(execFileSync('getent', ['group', '--', permission.group], { encoding: 'utf8' }).split(':')[2]) } : {}),
    };
    idCache.set(key, ids);
    return ids;
  } catch {
    throw new InstallError(`permissions: unknown owner or group on ${permission.object}`);
  }
}
