import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runScripts } from '../../agent/hooks.js';
import { OutputLog } from '../../agent/output-buffer.js';
import { AgentState, hookLogFile } from '../../agent/state.js';

/**
 * Hooks run as CodeDeploy's agent runs them (hook_executor.rb, linux_util.rb):
 * from `/`, `su <user> -c <script>` for runas (the password database's HOME,
 * USER, LOGNAME and SHELL; a nologin shell refuses), `sudo` in front for the
 * sudo key; the full log stamps each line with its time and stream, readable
 * by root only.
 */
let dir: string;
let state: AgentState;
let logPath: string;
let log: OutputLog;
const signal = new AbortController().signal;
const isRoot = process.getuid?.() === 0;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'fleetline-hook-host-'));
  chmodSync(dir, 0o755); // hooks run as other users must reach their scripts
  state = new AgentState(join(dir, 'state'));
  logPath = await hookLogFile(state, 'd-HOOKHOST0');
  log = new OutputLog(logPath);
});
afterEach(async () => {
  await log.close();
  rmSync(dir, { recursive: true, force: true });
});

function bundle(files: Record<string, string>): string {
  const root = join(dir, 'bundle');
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), content, { mode: 0o755 });
  }
  chmodSync(root, 0o755);
  return root;
}

const passwd = (user: string) => execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).trim().split(':');
/** A user other than root with a login shell, if this host has one (a runas that succeeds needs a shell that runs scripts). */
const loginUser = execFileSync('getent', ['passwd'], { encoding: 'utf8' })
  .trim()
  .split('\n')
  .map((line) => line.split(':'))
  .find((f) => f[2] !== '0' && /\/(ba|da)?sh$/.test(f[6] ?? ''))?.[0];

const printEnv = (out: string) => `#!/bin/sh\necho "HOME=$HOME USER=$USER LOGNAME=$LOGNAME SHELL=$SHELL PWD=$(pwd) ID=$(id -u) DEPLOYMENT_ID=$DEPLOYMENT_ID" > ${out}\n`;

describe('runas', () => {
  it.skipIf(!isRoot)('as root: the password database\'s HOME, USER, LOGNAME and SHELL, the deployment\'s environment, started from /', async () => {
    const out = join(dir, 'env.txt');
    const root = bundle({ 'env.sh': printEnv(out) });
    const result = await runScripts([{ location: 'env.sh', timeout: 10, runas: 'root' }], { bundleDir: root, env: { DEPLOYMENT_ID: 'd-X', HOME: '/wrong' }, log, signal });
    expect(result).toEqual({ ok: true, exitCode: 0 });
    const [, , , , , home, shell] = passwd('root');
    expect(readFileSync(out, 'utf8')).toBe(`HOME=${home} USER=root LOGNAME=root SHELL=${shell} PWD=/ ID=0 DEPLOYMENT_ID=d-X\n`);
  });

  it.skipIf(!isRoot || !loginUser)(`as another user (${loginUser ?? 'none with a login shell on this host'}): that user's identity and environment`, async () => {
    const user = loginUser as string;
    const out = join(dir, 'env.txt');
    writeFileSync(out, '', { mode: 0o666 });
    chmodSync(out, 0o666);
    const root = bundle({ 'env.sh': printEnv(out) });
    const result = await runScripts([{ location: 'env.sh', timeout: 10, runas: user }], { bundleDir: root, env: { DEPLOYMENT_ID: 'd-X' }, log, signal });
    expect(result).toEqual({ ok: true, exitCode: 0 });
    const [, , uid, , , home, shell] = passwd(user);
    expect(readFileSync(out, 'utf8')).toBe(`HOME=${home} USER=${user} LOGNAME=${user} SHELL=${shell} PWD=/ ID=${uid} DEPLOYMENT_ID=d-X\n`);
  });

  it.skipIf(!isRoot)('a user whose shell refuses logins (nobody, nologin) fails the hook with CodeDeploy\'s message, and the refusal is in the log', async () => {
    expect(passwd('nobody')[6]).toMatch(/nologin$/);
    const ran = join(dir, 'ran');
    const root = bundle({ 'a.sh': `#!/bin/sh\ntouch ${ran}\n` });
    const result = await runScripts([{ location: 'a.sh', timeout: 10, runas: 'nobody' }], { bundleDir: root, env: {}, log, signal });
    expect(result).toEqual({ ok: false, errorCode: 'ScriptFailed', exitCode: 1, message: 'Script at specified location: a.sh run as user nobody failed with exit code 1' });
    expect(() => statSync(ran)).toThrow();
    await log.close();
    expect(readFileSync(logPath, 'utf8')).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[std(out|err)\]This account is currently not available\.$/m);
  });
});

describe('the sudo key', () => {
  it('puts sudo in front of the command, as CodeDeploy does: sudo <script>, and sudo su <user> -c <script> with runas', async () => {
    // A sudo that records how it was called, then runs the command (this host may have no sudo).
    const bin = join(dir, 'bin');
    const calls = join(dir, 'sudo-calls.txt');
    mkdirSync(bin);
    writeFileSync(join(bin, 'sudo'), `#!/bin/sh\necho "$*" >> ${calls}\nexec "$@"\n`, { mode: 0o755 });
    const root = bundle({ 'a.sh': '#!/bin/sh\necho hello\n' });
    const env = { PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}` };
    expect(await runScripts([{ location: 'a.sh', timeout: 10, sudo: true } as never], { bundleDir: root, env, log, signal })).toEqual({ ok: true, exitCode: 0 });
    const lines = [`${join(root, 'a.sh')}`];
    if (isRoot) {
      expect(await runScripts([{ location: 'a.sh', timeout: 10, runas: 'root', sudo: true } as never], { bundleDir: root, env, log, signal })).toEqual({ ok: true, exitCode: 0 });
      lines.push(`su root -c '${join(root, 'a.sh')}'`);
    }
    expect(readFileSync(calls, 'utf8')).toBe(lines.map((l) => `${l}\n`).join(''));
  });
});

describe('the sudo key where the host has no sudo', () => {
  it('fails the script before running anything, naming sudo, the PATH searched and the fix', async () => {
    const ran = join(dir, 'ran');
    const root = bundle({ 'a.sh': `#!/bin/sh\ntouch ${ran}\n` });
    const noSudo = join(dir, 'empty-bin');
    mkdirSync(noSudo);
    const result = await runScripts([{ location: 'a.sh', timeout: 10, sudo: true }], { bundleDir: root, env: { PATH: noSudo }, log, signal });
    expect(result).toEqual({
      ok: false,
      errorCode: 'ScriptFailed',
      message: `a.sh has sudo: true, but sudo is not installed on this host (not on PATH ${noSudo}): install sudo, or remove the hook's sudo key`,
    });
    expect(() => statSync(ran)).toThrow();
  });
});

describe('the full hook log', () => {
  it('marks every line with its time and stream, in the order written, and is readable by root only', async () => {
    const root = bundle({ 'talk.sh': '#!/bin/sh\necho out1\necho err1 >&2\nsleep 0.2\necho out2\nprintf "no newline"\n' });
    expect(await runScripts([{ location: 'talk.sh', timeout: 10 }], { bundleDir: root, env: {}, log, signal })).toEqual({ ok: true, exitCode: 0 });
    await log.close();
    const lines = readFileSync(logPath, 'utf8').trim().split('\n');
    const stamp = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d /;
    for (const line of lines) expect(line).toMatch(stamp);
    expect(lines.map((l) => l.replace(stamp, '')).filter((l) => l.startsWith('[std'))).toEqual(['[stdout]out1', '[stderr]err1', '[stdout]out2', '[stdout]no newline']);
    expect(statSync(logPath).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(logPath)).mode & 0o777).toBe(0o700);
  });

  it('state files are 0600 in 0700 folders', async () => {
    await state.saveInstalledFiles('g-1', { files: ['/x'], directories: [] }, 'prod');
    const file = join(state.dir, 'groups', 'g-1', 'installed.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(file)).mode & 0o777).toBe(0o700);
  });
});
