import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runScripts } from '../../agent/hooks.js';
import { InstallError, applyPermissions, copyFiles, removePrevious, rootedMap } from '../../agent/install.js';
import { OutputLog } from '../../agent/output-buffer.js';
import { AgentState, KEPT_REVISIONS } from '../../agent/state.js';
import { parseAppspec } from '../../lib/domain/appspec.js';

let dir: string;
let log: OutputLog;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetline-agent-'));
  log = new OutputLog(join(dir, 'log.txt'));
});
afterEach(async () => {
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

function bundle(files: Record<string, string>): string {
  const root = join(dir, 'bundle');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content);
  }
  return root;
}

const appspec = parseAppspec('version: 0.0\nos: linux\nfiles:\n  - source: /site\n    destination: /srv/app\n  - source: conf/app.conf\n    destination: /etc/app\n');

describe('Install', () => {
  it('copies a folder and a single file to their destinations under the host root', async () => {
    const root = bundle({ 'site/index.html': 'v1', 'site/css/a.css': 'a', 'conf/app.conf': 'c' });
    const installed = await copyFiles(appspec, root, 'DISALLOW', rootedMap(join(dir, 'host')), log);
    expect(installed.files.map((p) => p.slice(join(dir, 'host').length)).sort()).toEqual(['/etc/app/app.conf', '/srv/app/css/a.css', '/srv/app/index.html']);
    expect(readFileSync(join(dir, 'host/srv/app/index.html'), 'utf8')).toBe('v1');
  });

  it('treats a file it did not install as DISALLOW / OVERWRITE / RETAIN says', async () => {
    const root = bundle({ 'site/index.html': 'new', 'conf/app.conf': 'c' });
    const host = rootedMap(join(dir, 'host'));
    mkdirSync(join(dir, 'host/srv/app'), { recursive: true });
    writeFileSync(join(dir, 'host/srv/app/index.html'), 'foreign');
    await expect(copyFiles(appspec, root, 'DISALLOW', host, log)).rejects.toThrow(/already exists.*DISALLOW/);
    expect(readFileSync(join(dir, 'host/srv/app/index.html'), 'utf8')).toBe('foreign');
    await copyFiles(appspec, root, 'RETAIN', host, log);
    expect(readFileSync(join(dir, 'host/srv/app/index.html'), 'utf8')).toBe('foreign');
    await copyFiles(appspec, root, 'OVERWRITE', host, log);
    expect(readFileSync(join(dir, 'host/srv/app/index.html'), 'utf8')).toBe('new');
  });

  it('under DISALLOW, tells a file another deployment group installed from a foreign one, each with its own code', async () => {
    const root = bundle({ 'site/index.html': 'new', 'conf/app.conf': 'c' });
    const host = rootedMap(join(dir, 'host'));
    const state = new AgentState(join(dir, 'state'));
    const staging = await copyFiles(appspec, root, 'DISALLOW', host, log);
    await state.saveInstalledFiles('group-staging-id', staging, 'staging');
    const others = await state.filesOfOtherGroups('group-prod-id');
    const byGroup = await copyFiles(appspec, root, 'DISALLOW', host, log, (p) => others.get(p)).catch((e: InstallError) => e);
    expect(byGroup).toMatchObject({ errorCode: 'FileOwnedByAnotherGroup', message: expect.stringContaining('installed by deployment group "staging"') });
    // The group's own files are not "another group's": its next deployment removes them first.
    expect((await state.filesOfOtherGroups('group-staging-id')).size).toBe(0);
    writeFileSync(join(dir, 'host/srv/app/extra.html'), 'foreign');
    const rootWithExtra = bundle({ 'site/extra.html': 'mine' });
    const foreign = await copyFiles(parseAppspec('version: 0.0\nos: linux\nfiles:\n  - source: /site/extra.html\n    destination: /srv/app\n'), rootWithExtra, 'DISALLOW', host, log, (p) => others.get(p)).catch((e: InstallError) => e);
    expect(foreign).toMatchObject({ errorCode: 'FileExists', message: expect.stringContaining('not installed by Fleetline') });
  });

  it('removes what the previous deployment installed, and only that', async () => {
    const host = join(dir, 'host');
    mkdirSync(host, { recursive: true });
    writeFileSync(join(host, 'ours'), '1');
    writeFileSync(join(host, 'theirs'), '2');
    await removePrevious({ files: [join(host, 'ours'), join(host, 'gone-already')], directories: [] }, log);
    expect(existsSync(join(host, 'ours'))).toBe(false);
    expect(existsSync(join(host, 'theirs'))).toBe(true);
  });

  it('applies modes by pattern and type, and refuses what it cannot apply', async () => {
    const root = bundle({ 'site/run.sh': '', 'site/readme.txt': '', 'conf/app.conf': '' });
    const host = rootedMap(join(dir, 'host'));
    const installed = await copyFiles(appspec, root, 'DISALLOW', host, log);
    const permissions = parseAppspec('version: 0.0\nos: linux\npermissions:\n  - object: /srv/app\n    pattern: "*.sh"\n    mode: 750\n    type: [file]\n').permissions;
    await applyPermissions(permissions, installed, host, log);
    expect(statSync(join(dir, 'host/srv/app/run.sh')).mode & 0o777).toBe(0o750);
    expect(statSync(join(dir, 'host/srv/app/readme.txt')).mode & 0o777).not.toBe(0o750);
    const twice = parseAppspec('version: 0.0\nos: linux\npermissions:\n  - object: /srv/app\n    mode: 700\n  - object: /srv\n    mode: 700\n').permissions;
    await expect(applyPermissions(twice, installed, host, log)).rejects.toThrow(/matched by two entries/);
  });
});

describe('hooks', () => {
  const signal = new AbortController().signal;

  it('runs scripts with the deployment environment, and names a missing script', async () => {
    const root = bundle({ 'env.sh': `#!/bin/sh\necho "$DEPLOYMENT_ID $LIFECYCLE_EVENT" > "${join(dir, 'out.txt')}"\n` });
    const ok = await runScripts([{ location: 'env.sh', timeout: 10 }], { bundleDir: root, env: { DEPLOYMENT_ID: 'd-X', LIFECYCLE_EVENT: 'AfterInstall' }, log, signal });
    expect(ok).toEqual({ ok: true, exitCode: 0 });
    expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe('d-X AfterInstall\n');
    expect(await runScripts([{ location: 'nope.sh', timeout: 10 }], { bundleDir: root, env: {}, log, signal })).toMatchObject({ ok: false, errorCode: 'ScriptMissing' });
  });

  it('refuses runas for a user that does not exist', async () => {
    const root = bundle({ 'a.sh': '#!/bin/sh\ntrue\n' });
    const result = await runScripts([{ location: 'a.sh', timeout: 10, runas: 'no-such-user-fleetline' }], { bundleDir: root, env: {}, log, signal });
    expect(result).toMatchObject({ ok: false, errorCode: 'ScriptFailed', message: expect.stringContaining('does not exist') });
  });

  it('stops a script when asked, with its whole process group', async () => {
    const root = bundle({ 'long.sh': '#!/bin/sh\nsleep 30 &\nsleep 30\n' });
    const abort = new AbortController();
    const running = runScripts([{ location: 'long.sh', timeout: 60 }], { bundleDir: root, env: {}, log, signal: abort.signal });
    setTimeout(() => abort.abort(), 200);
    expect(await running).toMatchObject({ ok: false, errorCode: 'ScriptFailed', message: expect.stringContaining('stopped') });
  });
});

describe('what a hook starts in the background', () => {
  const signal = new AbortController().signal;
  // Running, not a zombie its new parent has not reaped yet.
  const alive = (pid: number) => {
    try {
      return !/^\S+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return false;
    }
  };

  it('keeps running after its script exits, as under CodeDeploy\'s agent (a server an ApplicationStart script starts)', async () => {
    // The background process answers once the script has ended: it writes `served` when the test asks.
    const worker = `while [ ! -e ${join(dir, 'ask')} ]; do sleep 0.05; done; echo served > ${join(dir, 'answer')}`;
    const root = bundle({ 'start.sh': `#!/bin/sh\nnohup sh -c '${worker}' > /dev/null 2>&1 &\necho $! > ${join(dir, 'server.pid')}\n` });
    const result = await runScripts([{ location: 'start.sh', timeout: 10 }], { bundleDir: root, env: {}, log, signal });
    expect(result).toEqual({ ok: true, exitCode: 0 });
    const pid = Number(readFileSync(join(dir, 'server.pid'), 'utf8'));
    try {
      writeFileSync(join(dir, 'ask'), '');
      const deadline = Date.now() + 5000;
      while (!existsSync(join(dir, 'answer')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(join(dir, 'answer')) ? readFileSync(join(dir, 'answer'), 'utf8') : 'no answer: the process is gone').toBe('served\n');
    } finally {
      if (alive(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  it('fails the script at its timeout when it holds the script\'s output open, naming the cause and the fix', async () => {
    const root = bundle({ 'start.sh': `#!/bin/sh\nsleep 60 &\necho $! > ${join(dir, 'server.pid')}\n` });
    const result = await runScripts([{ location: 'start.sh', timeout: 1 }], { bundleDir: root, env: {}, log, signal });
    expect(result).toMatchObject({
      ok: false,
      errorCode: 'ScriptTimedOut',
      message: expect.stringMatching(/start\.sh exited with 0 but left its stdout or stderr open for its 1 s timeout: .*> \/dev\/null 2>&1 &/),
    });
    // Killed with its group, as a timed-out script's group is.
    const pid = Number(readFileSync(join(dir, 'server.pid'), 'utf8'));
    const deadline = Date.now() + 5000;
    while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(pid)).toBe(false);
  });
});

describe('agent state', () => {
  it(`keeps the last ${KEPT_REVISIONS} successful revisions of a group`, async () => {
    const state = new AgentState(join(dir, 'state'));
    for (let i = 1; i <= KEPT_REVISIONS + 2; i++) {
      mkdirSync(state.deploymentDir(`d-${i}`), { recursive: true });
      await state.recordSuccess('group-1', { deploymentId: `d-${i}`, bundleRoot: state.deploymentDir(`d-${i}`) });
    }
    expect(existsSync(state.deploymentDir('d-1'))).toBe(false);
    expect(existsSync(state.deploymentDir('d-2'))).toBe(false);
    expect(existsSync(state.deploymentDir('d-3'))).toBe(true);
    expect((await state.lastSuccess('group-1'))?.deploymentId).toBe(`d-${KEPT_REVISIONS + 2}`);
  });
});
