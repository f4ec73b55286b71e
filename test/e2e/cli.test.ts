import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../local/ports.js';
import { buildTestCli } from '../support/cli-process.js';
import { type LocalFleetline, pickPorts, startLocalFleetline } from '../support/local-process.js';

const stateDir = mkdtempSync(join(tmpdir(), 'fleetline-cli-e2e-'));
const work = mkdtempSync(join(tmpdir(), 'fleetline-cli-work-'));
let stack: LocalFleetline | undefined;
let cli: Awaited<ReturnType<typeof buildTestCli>> | undefined;

beforeAll(async () => {
  [stack, cli] = await Promise.all([startLocalFleetline(stateDir, await pickPorts(), { FLEETLINE_LOCAL_AGENTS: '2' }), buildTestCli()]);
}, 240_000);
afterAll(async () => {
  await stack?.stop();
  cli?.remove();
  rmSync(stateDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

/** The CLI finds the stack through FLEETLINE_STATE_DIR, as `npm start`'s own commands do. */
const fleetline = (...args: string[]) => cli!.run(args, { FLEETLINE_STATE_DIR: stateDir, FLEETLINE_API: '' });

const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const shellQuote = (arg: string) => `'${arg.replace(/'/g, `'\\''`)}'`;

function bundleDir(name: string, hook: string): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'site'), { recursive: true });
  writeFileSync(join(dir, 'appspec.yml'), 'version: 0.0\nos: linux\nfiles:\n  - source: /site\n    destination: /srv/cli\nhooks:\n  ValidateService:\n    - location: check.sh\n');
  writeFileSync(join(dir, 'site', 'index.html'), `<h1>${name}</h1>\n`);
  writeFileSync(join(dir, 'check.sh'), `#!/bin/sh\n${hook}\n`);
  chmodSync(join(dir, 'check.sh'), 0o755);
  return dir;
}

describe('the fleetline CLI against the local stack', () => {
  it('deploys a folder with --wait: progress per instance, exit 0', async () => {
    expect((await fleetline('apps', 'put', 'cli', '--description', 'from the CLI')).code).toBe(0);
    expect((await fleetline('groups', 'put', 'cli', 'all', '--tag', 'fleet=local', '--config', 'AllAtOnce', '--file-exists', 'OVERWRITE')).code).toBe(0);
    const ok = await fleetline('deploy', '--app', 'cli', '--group', 'all', '--bundle', bundleDir('good', 'echo "all good on $DEPLOYMENT_ID"; sleep 2'), '--wait');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/uploaded good to s3:\/\/fleetline-artifacts\/cli\/deploy\//);
    expect(ok.stdout).toMatch(/d-[A-Z0-9]{9} Succeeded/);
    for (const id of ['local-1', 'local-2']) expect(ok.stdout).toMatch(new RegExp(`${id}\\s+Succeeded`));
    // Piped, progress comes as plain lines: an instance is seen before it ends (the hook takes 2 s, over a poll interval).
    expect(ok.stdout).toMatch(/local-\d\s+(Pending|InProgress)/);
    const list = await fleetline('deployments', 'list', '--app', 'cli', '-o', 'json');
    expect(JSON.parse(list.stdout)[0]).toMatchObject({ application: 'cli', group: 'all', status: 'Succeeded' });
  }, 240_000);

  it('a failing hook: exit 1, with the instance, event, exit code, output and how to get the full log', async () => {
    const failed = await fleetline('deploy', '--app', 'cli', '--group', 'all', '--bundle', bundleDir('bad', 'echo "database unreachable" >&2; exit 3'), '--wait');
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/local-\d failed at ValidateService: check\.sh exited with 3/);
    expect(failed.stderr).toMatch(/event ValidateService \(ScriptFailed, exit code 3\)/);
    expect(failed.stderr).toContain('database unreachable');
    const logCommand = /full log: (fleetline logs (d-[A-Z0-9]{9}) (local-\d))/.exec(failed.stderr);
    expect(logCommand).not.toBeNull();
    const log = await fleetline('logs', logCommand![2]!, logCommand![3]!);
    expect(log.code).toBe(0);
    expect(log.stdout).toContain('database unreachable');
  }, 240_000);

  it('bundle validate: exit 0 for a good bundle; exit 1 naming every problem with its line', async () => {
    const good = await fleetline('bundle', 'validate', bundleDir('valid', 'true'));
    expect([good.code, good.stdout]).toEqual([0, expect.stringContaining('valid')]);
    const bad = join(work, 'invalid');
    mkdirSync(bad, { recursive: true });
    writeFileSync(join(bad, 'appspec.yml'), 'version: 0.0\nos: windows-ish\nhooks:\n  AfterInstall:\n    - location: missing.sh\n      timeout: soon\n');
    const invalid = await fleetline('bundle', 'validate', bad);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/\$\.os: .*line 2/);
    expect(invalid.stderr).toMatch(/timeout: .*line 6/);
    const nothing = await fleetline('bundle', 'validate', work);
    expect(nothing.code).toBe(1);
  }, 120_000);

  it.skipIf(!hasScript)('on a terminal, deploy --wait redraws one frame in place and ends with every instance', async () => {
    // script(1) gives the CLI a pseudo-terminal (sized, as a terminal window is); CI and TERM=dumb would turn the animation off.
    const { CI: _ci, ...env } = process.env;
    const command = 'stty cols 100 rows 30 && ' + [process.execPath, cli!.file, 'deploy', '--app', 'cli', '--group', 'all', '--bundle', bundleDir('tty', 'sleep 2'), '--wait'].map(shellQuote).join(' ');
    const shown = await new Promise<{ code: number | null; output: string }>((resolve) => {
      execFile('script', ['-qec', command, '/dev/null'], { env: { ...env, TERM: 'xterm', FLEETLINE_STATE_DIR: stateDir, FLEETLINE_API: '' }, timeout: 180_000 }, (error, stdout) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: stdout });
      });
    });
    expect(shown.code, shown.output.slice(-3000)).toBe(0);
    const id = /deployment (d-[A-Z0-9]{9}) created/.exec(shown.output)?.[1];
    expect(id).toBeDefined();
    // Redrawn: the cursor goes back up and lines are cleared, and the same frame is drawn again and again.
    expect(shown.output).toMatch(/\u001b\[\d*A/);
    expect(shown.output).toMatch(/\u001b\[\d*K/);
    expect(shown.output.split(`${id} InProgress`).length - 1).toBeGreaterThan(2);
    // Not the piped form: no line per change.
    expect(shown.output).not.toMatch(/\n {2}local-1 +Pending\r?\n {2}local-1/);
    const final = shown.output.slice(shown.output.lastIndexOf(`${id} Succeeded`));
    for (const instance of ['local-1', 'local-2']) expect(final).toMatch(new RegExp(`${instance}\\s+Succeeded`));
  }, 240_000);

  it('Ctrl-C stops watching, not the deployment, and says how to stop it', async () => {
    const child = spawn(process.execPath, [cli!.file, 'deploy', '--app', 'cli', '--group', 'all', '--bundle', bundleDir('slow', 'sleep 120'), '--wait'], {
      env: { ...process.env, FLEETLINE_STATE_DIR: stateDir, FLEETLINE_API: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let id = '';
    try {
      await waitFor('the hook to be running', () => {
        id = /deployment (d-[A-Z0-9]{9}) created/.exec(output)?.[1] ?? '';
        return id !== '' && /InProgress ValidateService/.test(output);
      }, { timeoutMs: 120_000, intervalMs: 100 });
      child.kill('SIGINT');
      expect(await exited).toBe(130);
    } finally {
      child.kill('SIGKILL');
    }
    expect(output).toContain(`${id} keeps running. Stop it with: fleetline deployments stop ${id}`);
    const still = JSON.parse((await fleetline('deployments', 'get', id, '-o', 'json')).stdout);
    expect(still.status).toBe('InProgress');
    expect((await fleetline('deployments', 'stop', id)).code).toBe(0);
    const ended = await fleetline('deployments', 'get', id, '--wait');
    expect(ended.code).toBe(1);
    expect(ended.stdout).toContain(`${id} Stopped`);
  }, 240_000);

  it('a pipeline waits for approval; approve from the CLI and it deploys', async () => {
    writeFileSync(join(work, 'pipeline.yml'), [
      'source: { bucket: fleetline-artifacts, prefix: "cli/deploy/" }',
      'stages:',
      '  - name: Staging',
      '    actions: [ { type: deploy, application: cli, group: all } ]',
      '  - name: Approve',
      '    actions: [ { type: approval } ]',
    ].join('\n'));
    expect((await fleetline('pipelines', 'put', 'cli', '-f', join(work, 'pipeline.yml'))).code).toBe(0);
    // The CLI's upload lands under the pipeline's source, which starts an execution.
    expect((await fleetline('deploy', '--app', 'cli', '--group', 'all', '--bundle', bundleDir('piped', 'true'), '--wait')).code).toBe(0);
    let executionId = '';
    await waitFor('the upload to start an execution', async () => {
      executionId = JSON.parse((await fleetline('executions', 'list', 'cli', '-o', 'json')).stdout)[0]?.executionId ?? '';
      return executionId !== '';
    }, { timeoutMs: 60_000, intervalMs: 1000 });
    const waiting = await fleetline('executions', 'get', executionId, '--wait');
    expect(waiting.code).toBe(0);
    expect(waiting.stderr).toContain(`fleetline executions approve ${executionId}`);
    expect(waiting.stdout).toMatch(/Staging\s+Succeeded/);
    const approved = await fleetline('executions', 'approve', executionId, '--comment', 'ship it');
    expect(approved.code).toBe(0);
    const done = await fleetline('executions', 'get', executionId, '--wait', '-o', 'json');
    expect(JSON.parse(done.stdout).status).toBe('Succeeded');
  }, 240_000);

  it('usage mistakes exit 2 with help; every command answers --help', async () => {
    expect((await fleetline('deploy', '--app', 'cli')).code).toBe(2);
    expect((await fleetline('deploy', '--app', 'cli', '--group', 'all')).code).toBe(2);
    const help = await fleetline('executions', 'approve', '--help');
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('Usage: fleetline executions approve')]);
    const completion = await fleetline('completion');
    expect(completion.stdout).toContain('complete -F _fleetline fleetline');
    expect(completion.stdout).toContain('"executions") words="list get approve reject retry stop');
  }, 60_000);
});
