import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyPermissions, copyFiles, removePrevious, rootedMap } from '../../agent/install.js';
import { OutputLog } from '../../agent/output-buffer.js';
import { parseAppspec } from '../../lib/domain/appspec.js';

/**
 * `acls` and SELinux `context` applied as CodeDeploy's agent applies them
 * (install_instruction.rb: `setfacl --set <whole ACL>`, `semanage fcontext -a` then a
 * relabel), only to what this Install put in place, through the descriptor the agent
 * opened without following links. setfacl is the host's own (the acl package); this
 * machine has no SELinux, so semanage and chcon are stubs on PATH that record their
 * arguments and the file their descriptor 3 holds.
 */
let dir: string;
let log: OutputLog;
let savedPath: string | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetline-acls-'));
  log = new OutputLog(join(dir, 'log.txt'));
  savedPath = process.env.PATH;
});
afterEach(async () => {
  process.env.PATH = savedPath;
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

const hasSetfacl = (() => {
  try {
    execFileSync('setfacl', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const spec = (yaml: string) => parseAppspec(`version: 0.0\nos: linux\nfiles:\n  - source: /site\n    destination: /srv/app\n${yaml}`);
const host = (path = '') => join(dir, 'host', path);
const getfacl = (path: string) => execFileSync('getfacl', ['--omit-header', '--absolute-names', '--no-effective', path], { encoding: 'utf8' }).trim().split('\n');

async function install(yaml: string) {
  const root = join(dir, 'bundle');
  mkdirSync(join(root, 'site', 'conf'), { recursive: true });
  writeFileSync(join(root, 'site', 'index.html'), 'page');
  writeFileSync(join(root, 'site', 'conf', 'app.conf'), 'conf');
  // Already on the host, beside and below what the deployment installs: never changed.
  mkdirSync(host('srv/app/conf'), { recursive: true });
  writeFileSync(host('srv/app/foreign.txt'), 'foreign');
  writeFileSync(host('srv/app/conf/local.conf'), 'local');
  const appspec = spec(yaml);
  const installed = await copyFiles(appspec, root, 'DISALLOW', rootedMap(host()), log);
  return (recordContexts?: (paths: string[]) => Promise<void>) => applyPermissions(appspec.permissions, installed, rootedMap(host()), log, recordContexts);
}

describe('acls', () => {
  it.skipIf(!hasSetfacl)('sets the whole ACL CodeDeploy sets (entries, base entries from the mode, a mask) on installed paths only', async () => {
    const apply = await install([
      'permissions:',
      '  - object: /srv/app',
      '    pattern: "**"',
      '    mode: 640',
      '    acls: ["u:nobody:rw", "g:daemon:4"]',
      '    type: [file]',
      '  - object: /srv/app',
      '    pattern: "**"',
      '    mode: 750',
      '    acls: ["d:u:nobody:rx"]',
      '    type: [directory]',
      '',
    ].join('\n'));
    await apply();
    for (const file of ['srv/app/index.html', 'srv/app/conf/app.conf']) {
      expect(getfacl(host(file))).toEqual(['user::rw-', 'user:nobody:rw-', 'group::r--', 'group:daemon:r--', 'mask::r--', 'other::---']);
    }
    // conf/ was there before this deployment: not its own, so unchanged; no folder was created by it.
    expect(getfacl(host('srv/app/conf'))).toEqual(['user::rwx', 'group::r-x', 'other::r-x']);
    for (const file of ['srv/app/foreign.txt', 'srv/app/conf/local.conf']) expect(getfacl(host(file))).toEqual(['user::rw-', 'group::r--', 'other::r--']);
  });

  it.skipIf(!hasSetfacl)('on a folder the deployment created, default entries with the default base entries and mask from its mode', async () => {
    rmSync(host(), { recursive: true, force: true });
    const root = join(dir, 'bundle');
    mkdirSync(join(root, 'site', 'cache'), { recursive: true });
    writeFileSync(join(root, 'site', 'index.html'), 'page');
    const appspec = spec('permissions:\n  - object: /srv/app\n    mode: 750\n    acls: ["d:u:nobody:rx"]\n    type: [directory]\n');
    const installed = await copyFiles(appspec, root, 'DISALLOW', rootedMap(host()), log);
    await applyPermissions(appspec.permissions, installed, rootedMap(host()), log);
    expect(getfacl(host('srv/app/cache'))).toEqual([
      'user::rwx', 'group::r-x', 'other::---',
      'default:user::rwx', 'default:user:nobody:r-x', 'default:group::r-x', 'default:mask::r-x', 'default:other::---',
    ]);
  });

  it.skipIf(!hasSetfacl)('never through a link: a link in place of an installed file is skipped, its target unchanged', async () => {
    const apply = await install('permissions:\n  - object: /srv/app/index.html\n    acls: ["u:nobody:rwx"]\n');
    mkdirSync(host('etc'), { recursive: true });
    const target = host('etc/secret');
    writeFileSync(target, 'root file');
    chmodSync(target, 0o600);
    rmSync(host('srv/app/index.html'));
    symlinkSync(target, host('srv/app/index.html'));
    await apply();
    expect(getfacl(target)).toEqual(['user::rw-', 'group::---', 'other::---']);
    await log.close();
    expect(readFileSync(join(dir, 'log.txt'), 'utf8')).toMatch(/skipped .*index\.html: it is a link/);
  });

  it('fails Install naming setfacl, the file and the fix when the host has no setfacl, before changing anything', async () => {
    const apply = await install('permissions:\n  - object: /srv/app/index.html\n    mode: 600\n    acls: ["u:nobody:r"]\n');
    const empty = join(dir, 'empty-bin');
    mkdirSync(empty);
    process.env.PATH = empty;
    const before = statSync(host('srv/app/index.html')).mode;
    await expect(apply()).rejects.toThrow(
      `permissions: ${host('srv/app/index.html')} gets acls (object /srv/app/index.html), but setfacl is not installed on this host: install the acl package (apt-get install acl, dnf install acl), or remove them from the appspec`,
    );
    expect(statSync(host('srv/app/index.html')).mode).toBe(before);
  });
});

describe('SELinux context (semanage and chcon stubs: no SELinux here)', () => {
  function stubs(): string {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const tool of ['semanage', 'chcon']) {
      writeFileSync(join(bin, tool), `#!/bin/sh\necho "${tool} $* fd3=$(readlink /dev/fd/3 2>/dev/null || echo none)" >> ${join(dir, 'calls.txt')}\n`, { mode: 0o755 });
    }
    return bin;
  }

  it('adds the rule with semanage fcontext -a as CodeDeploy does, then labels the opened file with chcon, for installed files only', async () => {
    const apply = await install('permissions:\n  - object: /srv/app\n    pattern: "*.html"\n    context:\n      name: system_u\n      type: httpd_sys_content_t\n      range: s0\n');
    process.env.PATH = `${stubs()}:${savedPath}`;
    await apply();
    const file = host('srv/app/index.html');
    expect(readFileSync(join(dir, 'calls.txt'), 'utf8').trim().split('\n')).toEqual([
      `semanage fcontext -a -s system_u -t httpd_sys_content_t -r s0 ${file} fd3=none`,
      `chcon -u system_u -t httpd_sys_content_t -l s0 /dev/fd/3 fd3=${file}`,
    ]);
  });

  it('records the paths before adding their rules, and the next deployment deletes the rules with semanage fcontext -d, as CodeDeploy\'s cleanup does', async () => {
    const apply = await install('permissions:\n  - object: /srv/app\n    pattern: "*.html"\n    context:\n      type: httpd_sys_content_t\n');
    process.env.PATH = `${stubs()}:${savedPath}`;
    const calls = join(dir, 'calls.txt');
    let recorded: string[] = [];
    await apply(async (paths) => {
      expect(existsSync(calls)).toBe(false);
      recorded = paths;
    });
    const file = host('srv/app/index.html');
    expect(recorded).toEqual([file]);
    await removePrevious({ files: [file], directories: [], contexts: recorded }, log);
    expect(readFileSync(calls, 'utf8').trim().split('\n').at(-1)).toBe(`semanage fcontext -d ${file} fd3=none`);
    expect(existsSync(file)).toBe(false);
  });

  it('a later deployment on a host without semanage leaves the rules, says so, and still removes the files', async () => {
    const file = host('srv/app/index.html');
    mkdirSync(host('srv/app'), { recursive: true });
    writeFileSync(file, 'page');
    const empty = join(dir, 'empty-bin');
    mkdirSync(empty);
    process.env.PATH = empty;
    await removePrevious({ files: [file], directories: [], contexts: [file] }, log);
    await log.close();
    expect(readFileSync(join(dir, 'log.txt'), 'utf8')).toContain('left the SELinux file-context rules of 1 path(s) in place: semanage is not installed on this host');
    expect(existsSync(file)).toBe(false);
  });

  it('fails Install naming the missing tools and the file when the host has neither', async () => {
    const apply = await install('permissions:\n  - object: /srv/app/index.html\n    context:\n      type: httpd_sys_content_t\n');
    const empty = join(dir, 'empty-bin');
    mkdirSync(empty);
    process.env.PATH = empty;
    await expect(apply()).rejects.toThrow(`permissions: ${host('srv/app/index.html')} gets an SELinux context (object /srv/app/index.html), but semanage and chcon are not installed on this host`);
  });
});
