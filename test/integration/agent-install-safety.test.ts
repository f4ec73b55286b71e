import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type InstalledPaths, applyPermissions, copyFiles, removePrevious, rootedMap } from '../../agent/install.js';
import { OutputLog } from '../../agent/output-buffer.js';
import { parseAppspec } from '../../lib/domain/appspec.js';
import { permissionMatches, simpleGlob } from '../../lib/domain/appspec-permissions.js';

/**
 * Install and `permissions` on a host that already holds other files: only
 * what this deployment installed changes, never through a link, and owner
 * before mode so setuid survives. The rules follow CodeDeploy's agent
 * (installer.rb, install_instruction.rb, linux_permission_info.rb).
 */
let dir: string;
let log: OutputLog;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetline-install-safety-'));
  log = new OutputLog(join(dir, 'log.txt'));
});
afterEach(async () => {
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

const isRoot = process.getuid?.() === 0;
/** A system user with no login shell, present on every Linux host. */
const DAEMON_UID = Number(execFileSync('id', ['-u', 'daemon'], { encoding: 'utf8' }).trim());

function bundle(files: Record<string, string | null>): string {
  const root = join(dir, 'bundle');
  for (const [path, content] of Object.entries(files)) {
    if (content === null) mkdirSync(join(root, path), { recursive: true });
    else {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), content, { mode: 0o644 });
    }
  }
  return root;
}

const spec = (yaml: string) => parseAppspec(`version: 0.0\nos: linux\n${yaml}`);
/** Permission entries read one by one (the agent's rule is tested apart from how the appspec parser treats repeats). */
const entries = (...yaml: string[]) => yaml.flatMap((entry) => spec(`permissions:\n  - ${entry}\n`).permissions);
const mode = (path: string) => statSync(path).mode & 0o7777;
const host = () => join(dir, 'host');

/** A host folder with files nobody deployed: beside the deployment's files and in a folder below them. */
function foreignFiles(): string[] {
  const paths = [join(host(), 'srv/app/foreign.txt'), join(host(), 'srv/app/old/kept.txt'), join(host(), 'etc/passwd')];
  for (const path of paths) {
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, 'not deployed', { mode: 0o640 });
  }
  return paths;
}

describe('permissions apply only to what this deployment installed', () => {
  it.skipIf(!isRoot)('object / with ** and an owner changes the installed files and created folders, nothing that was there before', async () => {
    const foreign = foreignFiles();
    const before = foreign.map((p) => [mode(p), statSync(p).uid]);
    const folderBefore = [mode(join(host(), 'srv/app')), statSync(join(host(), 'srv/app')).uid];
    const root = bundle({ 'site/index.html': 'v1', 'site/css/a.css': 'a' });
    const installed = await copyFiles(spec('files:\n  - source: /site\n    destination: /srv/app\n'), root, 'DISALLOW', rootedMap(host()), log);
    await applyPermissions(spec('permissions:\n  - object: /\n    owner: daemon\n    mode: 700\n').permissions, installed, rootedMap(host()), log);
    for (const path of [...installed.files, ...installed.directories]) {
      expect(statSync(path).uid).toBe(DAEMON_UID);
      expect(mode(path)).toBe(0o700);
    }
    expect(installed.directories).toEqual([join(host(), 'srv/app/css')]);
    expect(foreign.map((p) => [mode(p), statSync(p).uid])).toEqual(before);
    expect([mode(join(host(), 'srv/app')), statSync(join(host(), 'srv/app')).uid]).toEqual(folderBefore);
  });

  it('a pattern other than ** selects direct children of the object only; type selects files or folders', async () => {
    const root = bundle({ 'site/run.sh': '', 'site/sub/deep.sh': '', 'site/sub/x/inner.sh': '', 'site/readme.txt': '' });
    const installed = await copyFiles(spec('files:\n  - source: /site\n    destination: /srv/app\n'), root, 'DISALLOW', rootedMap(host()), log);
    const perms = entries(
      'object: /srv/app\n    pattern: "*.sh"\n    mode: 750\n    type: [file]',
      'object: /srv/app\n    pattern: "s*"\n    mode: 711\n    type: [directory]',
    );
    await applyPermissions(perms, installed, rootedMap(host()), log);
    expect(mode(join(host(), 'srv/app/run.sh'))).toBe(0o750);
    expect(mode(join(host(), 'srv/app/sub/deep.sh'))).toBe(0o644);
    expect(mode(join(host(), 'srv/app/readme.txt'))).toBe(0o644);
    expect(mode(join(host(), 'srv/app/sub'))).toBe(0o711);
    expect(mode(join(host(), 'srv/app/sub/x'))).not.toBe(0o711);
  });

  it('an object that is an installed file is changed when type includes file; any other object that is not a folder changes nothing', async () => {
    const root = bundle({ 'conf/app.conf': 'c' });
    const installed = await copyFiles(spec('files:\n  - source: conf/app.conf\n    destination: /etc/app\n'), root, 'DISALLOW', rootedMap(host()), log);
    await applyPermissions(spec('permissions:\n  - object: /etc/app/app.conf\n    mode: 600\n  - object: /nowhere\n    mode: 777\n').permissions, installed, rootedMap(host()), log);
    expect(mode(join(host(), 'etc/app/app.conf'))).toBe(0o600);
    expect(existsSync(join(host(), 'nowhere'))).toBe(false);
  });

  it('one installed path matched by two entries is refused before anything changes (the same object listed twice with other patterns is fine)', async () => {
    const root = bundle({ 'site/a.sh': '', 'site/b.txt': '' });
    const installed = await copyFiles(spec('files:\n  - source: /site\n    destination: /srv/app\n'), root, 'DISALLOW', rootedMap(host()), log);
    const disjoint = entries('object: /srv/app\n    pattern: "*.sh"\n    mode: 700', 'object: /srv/app\n    pattern: "*.txt"\n    mode: 600');
    await applyPermissions(disjoint, installed, rootedMap(host()), log);
    expect([mode(join(host(), 'srv/app/a.sh')), mode(join(host(), 'srv/app/b.txt'))]).toEqual([0o700, 0o600]);
    const overlapping = entries('object: /srv/app\n    pattern: "*.txt"\n    mode: 640', 'object: /srv\n    mode: 400');
    await expect(applyPermissions(overlapping, installed, rootedMap(host()), log)).rejects.toThrow(/b\.txt is matched by two entries/);
    expect(mode(join(host(), 'srv/app/b.txt'))).toBe(0o600);
  });

  it('the pattern rule agrees with CodeDeploy\'s simple glob: only * is special, names with / never match', () => {
    expect(simpleGlob('*.sh', 'run.sh')).toBe(true);
    expect(simpleGlob('*.sh', 'sub/run.sh')).toBe(false);
    expect(simpleGlob('?.sh', 'a.sh')).toBe(false);
    expect(simpleGlob('?.sh', '?.sh')).toBe(true);
    expect(simpleGlob('a*b*c', 'aXbYbZc')).toBe(true);
    expect(permissionMatches('/srv/app', '/srv/app', '**', [])).toBe(false);
    expect(permissionMatches('/srv/app', '/srv/application/x', '**', [])).toBe(false);
    expect(permissionMatches('/', '/srv/app/x', '**', [])).toBe(true);
    expect(permissionMatches('/srv/app', '/srv/app/x.sh', '*.sh', ['x*'])).toBe(false);
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z*?.]{0,6}$/), fc.stringMatching(/^[a-z?.]{0,8}$/), (pattern, name) => {
        const literal = pattern.replace(/[.?+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
        expect(simpleGlob(pattern, name)).toBe(new RegExp(`^${literal}$`, 's').test(name));
      }),
    );
  });
});

describe('never through a link', () => {
  it('an installed file swapped for a link is skipped: the file the link names keeps its mode and owner', async () => {
    const outside = join(dir, 'root-file');
    writeFileSync(outside, 'secret', { mode: 0o600 });
    const root = bundle({ 'site/data.txt': 'd' });
    const installed = await copyFiles(spec('files:\n  - source: /site\n    destination: /srv/app\n'), root, 'DISALLOW', rootedMap(host()), log);
    rmSync(join(host(), 'srv/app/data.txt'));
    symlinkSync(outside, join(host(), 'srv/app/data.txt'));
    const perms = spec(`permissions:\n  - object: /srv/app\n    mode: 666\n${isRoot ? '    owner: daemon\n' : ''}`).permissions;
    await applyPermissions(perms, installed, rootedMap(host()), log);
    expect(mode(outside)).toBe(0o600);
    expect(statSync(outside).uid).toBe(process.getuid?.());
    await log.close();
    expect(readFileSync(join(dir, 'log.txt'), 'utf8')).toContain('it is a link');
  });

  it.skipIf(!isRoot)('a folder swapped for a link another user owns (what a runas hook can do) is refused: nothing is changed or removed through it', async () => {
    const victims = join(dir, 'victims');
    mkdirSync(victims);
    writeFileSync(join(victims, 'data.txt'), 'root only', { mode: 0o600 });
    const root = bundle({ 'site/sub/data.txt': 'd' });
    const installed = await copyFiles(spec('files:\n  - source: /site\n    destination: /srv/app\n'), root, 'DISALLOW', rootedMap(join(dir, 'h')), log);
    // The hook's user replaces the folder it was given with a link to a folder of root's.
    rmSync(join(dir, 'h/srv/app/sub'), { recursive: true });
    symlinkSync(victims, join(dir, 'h/srv/app/sub'));
    lchownSync(join(dir, 'h/srv/app/sub'), DAEMON_UID, DAEMON_UID);
    const perms = spec('permissions:\n  - object: /srv/app\n    owner: daemon\n    mode: 666\n').permissions;
    // As on a real instance: no host folder confines the paths, only the link rule protects them.
    await expect(applyPermissions(perms, installed, unconfined(join(dir, 'h')), log)).rejects.toThrow(/link owned by uid/);
    await removePrevious(installed, log);
    expect(readFileSync(join(victims, 'data.txt'), 'utf8')).toBe('root only');
    expect([mode(join(victims, 'data.txt')), statSync(join(victims, 'data.txt')).uid]).toEqual([0o600, 0]);
  });

  it.skipIf(!isRoot)('owner is set before mode, so setuid and setgid bits survive', async () => {
    const root = bundle({ 'bin/tool': '#!/bin/sh\n' });
    const installed = await copyFiles(spec('files:\n  - source: /bin\n    destination: /opt/tool\n'), root, 'DISALLOW', rootedMap(host()), log);
    await applyPermissions(spec('permissions:\n  - object: /opt/tool/tool\n    owner: daemon\n    group: daemon\n    mode: 6755\n').permissions, installed, rootedMap(host()), log);
    const info = statSync(join(host(), 'opt/tool/tool'));
    expect([info.mode & 0o7777, info.uid, info.gid]).toEqual([0o6755, DAEMON_UID, DAEMON_UID]);
  });
});

describe('install', () => {
  it('source / installs the whole bundle, appspec.yml included, and creates empty folders', async () => {
    const root = bundle({ 'appspec.yml': 'version: 0.0\n', 'index.html': 'i', 'logs': null, 'cache/tmp': null });
    const installed = await copyFiles(spec('files:\n  - source: /\n    destination: /srv/app\n'), root, 'DISALLOW', rootedMap(host()), log);
    expect(readFileSync(join(host(), 'srv/app/appspec.yml'), 'utf8')).toBe('version: 0.0\n');
    expect(lstatSync(join(host(), 'srv/app/logs')).isDirectory()).toBe(true);
    expect(lstatSync(join(host(), 'srv/app/cache/tmp')).isDirectory()).toBe(true);
    expect(installed.directories.map((d) => d.slice(host().length)).sort()).toEqual(['/srv', '/srv/app', '/srv/app/cache', '/srv/app/cache/tmp', '/srv/app/logs']);
  });

  it('the next deployment removes the folders the last one created when they are empty, and keeps those holding other files', async () => {
    const root = bundle({ 'site/a/x.txt': 'x', 'site/b/y.txt': 'y' });
    const installed: InstalledPaths = await copyFiles(spec('files:\n  - source: /site\n    destination: /srv/app\n'), root, 'DISALLOW', rootedMap(host()), log);
    writeFileSync(join(host(), 'srv/app/b/someone-elses.txt'), 'keep');
    chmodSync(join(host(), 'srv/app/a'), 0o755);
    await removePrevious(installed, log);
    expect(existsSync(join(host(), 'srv/app/a'))).toBe(false);
    expect(existsSync(join(host(), 'srv/app/b/y.txt'))).toBe(false);
    expect(readFileSync(join(host(), 'srv/app/b/someone-elses.txt'), 'utf8')).toBe('keep');
  });
});

/** Destinations under `root` with no confinement: what a root agent on an instance has (its paths are the host's own). */
const unconfined = (root: string) => (p: string) => join(root, posix.resolve('/', p));
