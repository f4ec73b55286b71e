import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_EMULATOR_CREDENTIALS } from '../../lib/adapters/aws/local-emulators.js';
import { waitFor } from '../../local/ports.js';
import { buildTestCli } from '../support/cli-process.js';
import { hasTmux, startTerminal } from '../support/tmux.js';
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
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/uploaded good to s3:\/\/fleetline-artifacts\/cli\/deploy\//);
    expect(ok.stdout).toMatch(/d-[A-Z0-9]{9} Succeeded/);
    for (const id of ['local-1', 'local-2']) expect(ok.stdout).toMatch(new RegExp(`${id}\\s+Succeeded`));
    // Piped, progress comes as plain lines on stderr (stdout is the result): an instance is seen before it ends
    // (the hook takes 2 s, over a poll interval).
    expect(ok.stderr).toMatch(/local-\d\s+(Pending|InProgress)/);
    expect(ok.stdout).not.toMatch(/local-\d\s+(Pending|InProgress)/);
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

  it.skipIf(!hasTmux)('in a real terminal, Ctrl-C stops watching (not the deployment), Ctrl-Z suspends and Ctrl-\\ quits', async () => {
    expect((await fleetline('apps', 'put', 'cli')).code).toBe(0);
    expect((await fleetline('groups', 'put', 'cli', 'all', '--tag', 'fleet=local', '--config', 'AllAtOnce', '--file-exists', 'OVERWRITE')).code).toBe(0);
    const terminal = startTerminal({ FLEETLINE_STATE_DIR: stateDir, FLEETLINE_API: '' });
    const fleetlineIn = (args: string) => `${shellQuote(process.execPath)} ${shellQuote(cli!.file)} ${args}; echo "exit=$?"`;
    let id: string | undefined;
    try {
      terminal.type(fleetlineIn(`deploy --app cli --group all --bundle ${shellQuote(bundleDir('slow', 'sleep 120'))} --wait`));
      await terminal.waitForScreen('the hook to be running', /InProgress ValidateService/, 120_000);
      id = /deployment (d-[A-Z0-9]{9}) created/.exec(terminal.screen())?.[1] ?? '';
      expect(id).not.toBe('');
      terminal.press('C-c');
      await terminal.waitForScreen('Ctrl-C to end the watch', /exit=130/, 10_000);
      expect(terminal.screen()).toContain(`${id} keeps running. Stop it with: fleetline deployments stop ${id}`);

      // Ctrl-Z suspends the watch as it would any program (bash reports the job stopped: 128 + SIGTSTP).
      terminal.type('echo second-watch');
      terminal.type(fleetlineIn(`deployments get ${id} --wait`));
      await terminal.waitForScreen('the watch to show the deployment', new RegExp(`second-watch[^]*${id} InProgress[^]*local-\\d\\s+InProgress`));
      terminal.press('C-z');
      await terminal.waitForScreen('Ctrl-Z to suspend the watch', /exit=148/, 10_000);
      expect(terminal.screen()).toMatch(/Stopped/);
      terminal.type('kill -9 %1; echo third-watch');
      terminal.type(fleetlineIn(`deployments get ${id} --wait`));
      await terminal.waitForScreen('the watch to show the deployment again', new RegExp(`third-watch[^]*${id} InProgress[^]*local-\\d\\s+InProgress`));
      terminal.press('C-\\');
      await terminal.waitForScreen('Ctrl-\\ to quit the watch', /exit=131/, 10_000);
    } finally {
      terminal.stop();
    }
    const still = JSON.parse((await fleetline('deployments', 'get', id, '-o', 'json')).stdout);
    expect(still.status).toBe('InProgress');
    // The log of a running instance is not there yet: said, with how to follow it, and not a silent exit 0.
    const early = await fleetline('logs', id, 'local-1');
    expect(early.code).toBe(1);
    expect(early.stderr).toContain(`local-1: no full log yet: instance InProgress, it is still running`);
    expect(early.stderr).toContain(`fleetline deployments get ${id} --wait`);
    expect((await fleetline('deployments', 'stop', id)).code).toBe(0);
    const ended = await fleetline('deployments', 'get', id, '--wait');
    expect(ended.code).toBe(1);
    expect(ended.stdout).toContain(`${id} Stopped`);
  }, 240_000);

  it.skipIf(!hasTmux)('in a real terminal, from a folder outside the repository, Ctrl-C ends events --follow (exit 0) and logs --follow (130, the instance runs on) at once', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'fleetline-follow-'));
    expect((await fleetline('apps', 'put', 'follow')).code).toBe(0);
    expect((await fleetline('groups', 'put', 'follow', 'all', '--tag', 'fleet=local', '--config', 'AllAtOnce', '--file-exists', 'OVERWRITE')).code).toBe(0);
    const started = await fleetline('-o', 'json', 'deploy', '--app', 'follow', '--group', 'all', '--bundle', bundleDir('chatty', 'echo warming-up; sleep 120'));
    expect(started.code, started.stderr).toBe(0);
    const id = JSON.parse(started.stdout).deploymentId as string;
    const terminal = startTerminal({ FLEETLINE_STATE_DIR: stateDir, FLEETLINE_API: '' });
    const run = (label: string, args: string) => terminal.type(`${shellQuote(process.execPath)} ${shellQuote(cli!.file)} ${args}; echo "${label}-exit=$?"`);
    try {
      terminal.type(`cd ${shellQuote(elsewhere)} && pwd`);
      run('events', 'events --app follow --type deployment --follow');
      await terminal.waitForScreen('events --follow to print the deployment’s start', new RegExp(`Deployment  START +${id} follow/all`), 30_000);
      terminal.press('C-c');
      // Ctrl-C is how following ends: exit 0.
      await terminal.waitForScreen('Ctrl-C to end events --follow', /events-exit=0/, 10_000);

      run('logs', `logs ${id} local-1 --follow`);
      await terminal.waitForScreen('logs --follow to show the running hook', /\[stdout\]warming-up/, 60_000);
      terminal.press('C-c');
      // It stops following, not the instance, and says so, as Ctrl-C in a --wait watch does.
      await terminal.waitForScreen('Ctrl-C to end logs --follow', /logs-exit=130/, 10_000);
      expect(terminal.screen()).toContain(`Stopped following; local-1 in ${id} keeps running. Its full log once it ends: fleetline logs ${id} local-1`);

      // The terminal is as it was: what is typed is echoed and runs.
      terminal.type('echo "still $((40 + 2))"');
      await terminal.waitForScreen('the shell to take commands again', /^still 42$/m, 10_000);
      expect(terminal.screen()).not.toMatch(/Error|at .*\.m?js:\d+/);
    } finally {
      terminal.stop();
      rmSync(elsewhere, { recursive: true, force: true });
    }
    // Following ended; the deployment did not.
    expect(JSON.parse((await fleetline('deployments', 'get', id, '-o', 'json')).stdout).status).toBe('InProgress');
    expect((await fleetline('deployments', 'stop', id)).code).toBe(0);
    expect((await fleetline('deployments', 'get', id, '--wait')).stdout).toContain(`${id} Stopped`);
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
    expect(approved.stdout).toContain(`${executionId} approved: the pipeline goes on from here (follow it: fleetline executions get ${executionId} --wait)`);
    const done = await fleetline('executions', 'get', executionId, '--wait', '-o', 'json');
    expect(JSON.parse(done.stdout).status).toBe('Succeeded');
  }, 240_000);

  it('usage mistakes exit 2 with help; every command answers --help', async () => {
    expect((await fleetline('deploy', '--app', 'cli')).code).toBe(2);
    expect((await fleetline('deploy', '--app', 'cli', '--group', 'all')).code).toBe(2);
    const help = await fleetline('executions', 'approve', '--help');
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining('Usage: fleetline executions approve')]);
    // The form the help shows works as shown.
    expect((await fleetline('completion', '--help')).stdout).toContain('eval "$(fleetline completion bash)"');
    expect((await fleetline('completion', 'bash')).code).toBe(0);
    expect((await fleetline('completion', 'zsh')).stdout).toContain('bashcompinit');
    const completion = await fleetline('completion');
    expect(completion.stdout).toContain('complete -F _fleetline fleetline');
    expect(completion.stdout).toContain('"executions") words="list get approve reject retry stop');
  }, 60_000);
});

describe('the fleetline CLI as a team uses it day to day', () => {
  const stack = () => JSON.parse(readFileSync(join(stateDir, 'stack.json'), 'utf8')) as { apiUrl: string; s3Endpoint: string; bucket: string };
  const s3 = () => new S3Client({ endpoint: stack().s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: LOCAL_EMULATOR_CREDENTIALS });
  const keysUnder = async (prefix: string) => {
    const client = s3();
    try {
      return ((await client.send(new ListObjectsV2Command({ Bucket: stack().bucket, Prefix: prefix }))).Contents ?? []).map((o) => o.Key);
    } finally {
      client.destroy();
    }
  };

  beforeAll(async () => {
    expect((await fleetline('apps', 'put', 'ops')).code).toBe(0);
    expect((await fleetline('groups', 'put', 'ops', 'fleet', '--tag', 'fleet=local', '--config', 'AllAtOnce', '--file-exists', 'OVERWRITE')).code).toBe(0);
  }, 60_000);

  it('-o json with --wait: stdout is only the JSON, progress on stderr', async () => {
    const json = await fleetline('-o', 'json', 'deploy', '--app', 'ops', '--group', 'fleet', '--bundle', bundleDir('json', 'sleep 2'), '--wait');
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ application: 'ops', group: 'fleet', status: 'Succeeded' });
    expect(json.stderr).toMatch(/local-\d\s+(Pending|InProgress)/);
  }, 240_000);

  it('.tar, .tgz and .tar.gz bundles: validated and deployed like a folder', async () => {
    const dir = bundleDir('tarred', 'echo tarred');
    for (const [name, flags] of [['b.tar', '-cf'], ['b.tgz', '-czf'], ['b.tar.gz', '-czf']] as const) {
      execFileSync('tar', [flags, join(work, name), '-C', dir, '.']);
      const valid = await fleetline('bundle', 'validate', join(work, name));
      expect([name, valid.code, valid.stdout.trim()]).toEqual([name, 0, `${join(work, name)}: valid`]);
    }
    const deployed = await fleetline('deploy', '--app', 'ops', '--group', 'fleet', '--bundle', join(work, 'b.tar.gz'), '--wait');
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/uploaded b\.tar\.gz to s3:\/\/fleetline-artifacts\/ops\/deploy\/[0-9a-f]+-b\n/);
    // A tar with a hook that is not in it is refused before anything is uploaded.
    const broken = bundleDir('broken-tar', 'true');
    rmSync(join(broken, 'check.sh'));
    execFileSync('tar', ['-czf', join(work, 'broken.tgz'), '-C', broken, '.']);
    const before = await keysUnder('ops/deploy/');
    const refused = await fleetline('deploy', '--app', 'ops', '--group', 'fleet', '--bundle', join(work, 'broken.tgz'));
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('check.sh is not in the bundle');
    expect(await keysUnder('ops/deploy/')).toEqual(before);
  }, 240_000);

  it('events: one JSON event a line with -o json; --follow prints what happens next until stopped', async () => {
    const follow = spawn(process.execPath, [cli!.file, 'events', '--follow', '--app', 'ops', '--type', 'deployment', '--since', '0s', '-o', 'json'], {
      env: { ...process.env, FLEETLINE_STATE_DIR: stateDir, FLEETLINE_API: '' },
    });
    let followed = '';
    follow.stdout.on('data', (chunk: Buffer) => (followed += chunk.toString()));
    try {
      const deployed = await fleetline('-o', 'json', 'deploy', '--app', 'ops', '--group', 'fleet', '--bundle', bundleDir('evented', 'true'), '--wait');
      expect(deployed.code, deployed.stderr).toBe(0);
      const id = JSON.parse(deployed.stdout).deploymentId as string;
      await waitFor('--follow to print the deployment’s end', async () => followed.split('\n').some((l) => l.includes(id) && l.includes('"SUCCESS"')), {
        timeoutMs: 30_000,
        intervalMs: 200,
      });
      const lines = followed.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.filter((e) => e.detail.deploymentId === id).map((e) => e.detail.state)).toEqual(['START', 'SUCCESS']);
      expect(new Set(lines.map((e) => e['detail-type']))).toEqual(new Set(['CodeDeploy Deployment State-change Notification']));

      const all = await fleetline('events', '--app', 'ops', '-o', 'json');
      expect(all.code, all.stderr).toBe(0);
      const mine = all.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.detail.deploymentId === id);
      const steps = mine.map((e) => `${e['detail-type'].split(' ')[1]} ${e.detail.instanceId ?? ''} ${e.detail.state}`.replace('  ', ' '));
      expect([steps[0], steps.at(-1)]).toEqual(['Deployment START', 'Deployment SUCCESS']);
      for (const host of ['local-1', 'local-2']) {
        expect(steps.filter((s) => s.includes(` ${host} `))).toEqual([`Instance ${host} START`, `Instance ${host} SUCCESS`]);
      }
      expect(mine[0]).toMatchObject({ version: '0', source: 'aws.codedeploy', detail: { application: 'ops', deploymentGroup: 'fleet' } });
      const table = await fleetline('events', '--app', 'ops', '--type', 'instance', '--since', '10m');
      expect(table.stdout).toMatch(new RegExp(`Z  Instance    SUCCESS     ${id} ops/fleet local-1`));
      const refused = await fleetline('events', '--since', 'yesterday');
      expect([refused.code, refused.stderr]).toEqual([2, expect.stringContaining('--since must be an ISO time')]);
    } finally {
      follow.kill();
    }
  }, 240_000);

  it('--api alone is enough from any folder: the API tells the CLI where bundles go (GET /config)', async () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'fleetline-elsewhere-'));
    try {
      const env = { FLEETLINE_STATE_DIR: '', FLEETLINE_API: '', FLEETLINE_BUCKET: '' };
      const run = (...args: string[]) => cli!.run(['--api', stack().apiUrl, ...args], env, elsewhere);
      const deployed = await run('deploy', '--app', 'ops', '--group', 'fleet', '--bundle', bundleDir('anywhere', 'true'), '--wait');
      expect(deployed.code, deployed.stderr).toBe(0);
      expect(deployed.stdout).toMatch(/uploaded anywhere to s3:\/\/fleetline-artifacts\/ops\/deploy\/[0-9a-f]+-anywhere/);
      expect(deployed.stdout).toMatch(/d-[A-Z0-9]{9} Succeeded/);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  }, 240_000);

  it('deploy --bundle checks the group before uploading, and removes the bundle when the deployment is refused', async () => {
    const before = await keysUnder('ops/deploy/');
    const missing = await fleetline('deploy', '--app', 'ops', '--group', 'nope', '--bundle', bundleDir('nowhere', 'true'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('Deployment group "nope" does not exist in application "ops"; nothing was uploaded');
    const refused = await fleetline('deploy', '--app', 'ops', '--group', 'fleet', '--config', 'NotAConfig', '--bundle', bundleDir('refused', 'true'));
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/uploaded refused to/);
    expect(await keysUnder('ops/deploy/')).toEqual(before);
  }, 120_000);

  it('--bundle . names the key after the folder', async () => {
    const dir = bundleDir('dotted', 'true');
    const deployed = await cli!.run(['deploy', '--app', 'ops', '--group', 'fleet', '--bundle', '.'], { FLEETLINE_STATE_DIR: stateDir, FLEETLINE_API: '' }, dir);
    expect(deployed.code, deployed.stderr).toBe(0);
    expect(deployed.stdout).toMatch(/uploaded dotted to s3:\/\/fleetline-artifacts\/ops\/deploy\/[0-9a-f]+-dotted\n/);
    const id = /(d-[A-Z0-9]{9})/.exec(deployed.stdout)?.[1] as string;
    expect((await fleetline('deployments', 'get', id, '--wait')).code).toBe(0);
  }, 120_000);

  it('instances put and groups put change only what is given', async () => {
    expect((await fleetline('instances', 'put', 'spare-1', '--tag', 'role=spare')).code).toBe(0);
    const arn = 'arn:aws:iam::111122223333:role/spare-host';
    expect((await fleetline('instances', 'put', 'spare-1', '--iam-arn', arn)).code).toBe(0);
    expect(JSON.parse((await fleetline('instances', 'get', 'spare-1', '-o', 'json')).stdout)).toMatchObject({ tags: [{ key: 'role', value: 'spare' }], iamArn: arn });
    expect((await fleetline('instances', 'put', 'spare-1', '--tag', 'role=standby')).code).toBe(0);
    expect(JSON.parse((await fleetline('instances', 'get', 'spare-1', '-o', 'json')).stdout)).toMatchObject({ tags: [{ key: 'role', value: 'standby' }], iamArn: arn });

    const config = await fleetline('groups', 'put', 'ops', 'fleet', '--config', 'OneAtATime');
    expect(config.code, config.stderr).toBe(0);
    const group = JSON.parse((await fleetline('groups', 'get', 'ops', 'fleet', '-o', 'json')).stdout);
    expect(group).toMatchObject({ deploymentConfig: 'OneAtATime', fileExistsBehavior: 'OVERWRITE', targets: { onPremisesTagSet: [[{ key: 'fleet', value: 'local' }]] } });
    expect((await fleetline('groups', 'put', 'ops', 'fleet', '--config', 'AllAtOnce')).code).toBe(0);
    // A new group still needs its targets.
    const bare = await fleetline('groups', 'put', 'ops', 'new', '--config', 'AllAtOnce');
    expect([bare.code, bare.stderr]).toEqual([2, expect.stringContaining('group ops/new does not exist yet')]);
  }, 60_000);

  it('apps put --revision-source sets where revisions may come from; a listing of an unknown app is a 404', async () => {
    const put = await fleetline('apps', 'put', 'sourced', '--revision-source', 's3://fleetline-artifacts/builds/sourced/');
    expect(put.code, put.stderr).toBe(0);
    expect(JSON.parse((await fleetline('apps', 'get', 'sourced', '-o', 'json')).stdout).revisionSources).toEqual([{ bucket: 'fleetline-artifacts', prefix: 'builds/sourced/' }]);
    expect((await fleetline('apps', 'put', 'sourced', '--description', 'kept sources')).code).toBe(0);
    expect(JSON.parse((await fleetline('apps', 'get', 'sourced', '-o', 'json')).stdout).revisionSources).toHaveLength(1);
    const nope = await fleetline('deployments', 'list', '--app', 'nope');
    expect([nope.code, nope.stderr.trim()]).toEqual([1, 'fleetline: 404 NotFoundError: Application "nope" does not exist']);
    const noGroup = await fleetline('deployments', 'list', '--app', 'ops', '--group', 'nope');
    expect([noGroup.code, noGroup.stderr.trim()]).toEqual([1, 'fleetline: 404 NotFoundError: Deployment group "nope" does not exist in application "ops"']);
  }, 60_000);

  it('deployments get shows the status first; a deployment with automatic rollback shows the rollback and follows it', async () => {
    expect((await fleetline('groups', 'put', 'ops', 'safe', '--tag', 'fleet=local', '--config', 'AllAtOnce', '--file-exists', 'OVERWRITE', '--auto-rollback')).code).toBe(0);
    expect(JSON.parse((await fleetline('groups', 'get', 'ops', 'safe', '-o', 'json')).stdout).autoRollback).toEqual({ enabled: true, events: ['DEPLOYMENT_FAILURE'] });
    const good = await fleetline('deploy', '--app', 'ops', '--group', 'safe', '--bundle', bundleDir('safe-good', 'true'), '--wait');
    expect(good.code, good.stderr).toBe(0);
    const goodId = /deployment (d-[A-Z0-9]{9}) created/.exec(good.stdout)?.[1] as string;
    const shown = (await fleetline('deployments', 'get', goodId)).stdout.split('\n');
    expect(shown.slice(0, 2)).toEqual([expect.stringMatching(new RegExp(`^deploymentId: +${goodId}$`)), expect.stringMatching(/^status: +Succeeded$/)]);
    expect(shown.join('\n')).not.toMatch(/groupId|openBatches|endHandled|batchNumber/);

    const bad = await fleetline('deploy', '--app', 'ops', '--group', 'safe', '--bundle', bundleDir('safe-bad', 'exit 4'), '--wait');
    expect(bad.code).toBe(1);
    const rollback = /automatic rollback (d-[A-Z0-9]{9}) started: redeploying the last successful revision to ops\/safe/.exec(bad.stderr)?.[1];
    expect(rollback, bad.stderr).toBeDefined();
    expect(bad.stdout).toMatch(new RegExp(`rollback ${rollback} Succeeded`));
    expect(bad.stderr).toContain(`rollback ${rollback} Succeeded: ops/safe is back on its last successful revision`);
    expect(JSON.parse((await fleetline('deployments', 'get', rollback as string, '-o', 'json')).stdout)).toMatchObject({ status: 'Succeeded' });
  }, 240_000);

  it('deployments redeploy deploys the same revision again and records what it repeats', async () => {
    expect((await fleetline('groups', 'put', 'ops', 'again', '--tag', 'fleet=local', '--config', 'AllAtOnce', '--file-exists', 'OVERWRITE')).code).toBe(0);
    const first = await fleetline('deploy', '--app', 'ops', '--group', 'again', '--bundle', bundleDir('again', 'echo again'), '--wait');
    expect(first.code, first.stderr).toBe(0);
    const firstId = /deployment (d-[A-Z0-9]{9}) created/.exec(first.stdout)?.[1] as string;
    const again = await fleetline('deployments', 'redeploy', firstId, '--wait');
    expect(again.code, again.stderr).toBe(0);
    const againId = new RegExp(`deployment (d-[A-Z0-9]{9}) created \\(redeploy of ${firstId}\\)`).exec(again.stdout)?.[1] as string;
    expect(againId, again.stdout).toMatch(/^d-/);
    expect(again.stdout).toMatch(new RegExp(`${againId} Succeeded`));
    const [before, after] = await Promise.all([firstId, againId].map(async (id) => JSON.parse((await fleetline('deployments', 'get', id, '-o', 'json')).stdout)));
    expect(after).toMatchObject({ status: 'Succeeded', redeployOf: firstId, revision: before.revision });
    expect((await fleetline('deployments', 'get', againId)).stdout).toMatch(new RegExp(`^redeployOf: +${firstId}$`, 'm'));
    const unknown = await fleetline('deployments', 'redeploy', 'd-ZZZZZZZZZ');
    expect([unknown.code, unknown.stderr.trim()]).toEqual([1, 'fleetline: 404 NotFoundError: Deployment d-ZZZZZZZZZ does not exist']);
    const help = await fleetline('deployments', 'redeploy', '--help');
    expect(help.stdout).toContain("deploy that deployment's exact revision");
    expect(help.stdout).toContain('--wait');
  }, 240_000);

  it('deployments retry --failed-only deploys the same revision to the instance that failed, and to no other', async () => {
    expect((await fleetline('groups', 'put', 'ops', 'retry', '--tag', 'fleet=local', '--config', 'AllAtOnce', '--file-exists', 'OVERWRITE')).code).toBe(0);
    // The first host to run the hook fails it; every later run passes.
    const marker = join(work, 'failed-once');
    const first = await fleetline('deploy', '--app', 'ops', '--group', 'retry', '--bundle', bundleDir('flaky', `mkdir ${shellQuote(marker)} 2>/dev/null && { echo "first run fails" >&2; exit 3; }; echo passed`), '--wait');
    const firstId = /deployment (d-[A-Z0-9]{9}) created/.exec(first.stdout)?.[1] as string;
    expect(firstId, first.stdout + first.stderr).toMatch(/^d-/);
    const before = JSON.parse((await fleetline('deployments', 'get', firstId, '-o', 'json')).stdout);
    const failedHosts = before.instances.filter((i: { status: string }) => i.status === 'Failed').map((i: { instanceId: string }) => i.instanceId);
    expect(failedHosts).toHaveLength(1);

    const again = await fleetline('deployments', 'retry', firstId, '--failed-only', '--wait');
    expect(again.code, again.stderr).toBe(0);
    const againId = new RegExp(`deployment (d-[A-Z0-9]{9}) created \\(retry of ${firstId} on 1 instance: ${failedHosts[0]}\\)`).exec(again.stdout)?.[1] as string;
    expect(againId, again.stdout).toMatch(/^d-/);
    const after = JSON.parse((await fleetline('deployments', 'get', againId, '-o', 'json')).stdout);
    expect(after).toMatchObject({ status: 'Succeeded', retryOf: firstId, revision: before.revision, targetInstances: { instanceIds: failedHosts } });
    expect(after.instances.map((i: { instanceId: string; status: string }) => `${i.instanceId} ${i.status}`)).toEqual([`${failedHosts[0]} Succeeded`]);
    expect((await fleetline('deployments', 'get', againId)).stdout).toMatch(new RegExp(`^retryOf: +${firstId}$`, 'm'));

    const nothing = await fleetline('deployments', 'retry', againId, '--failed-only');
    expect([nothing.code, nothing.stderr.trim()]).toEqual([1, `fleetline: 422 UnprocessableError: Deployment ${againId} has no instance that failed, was skipped or lost its agent: there is nothing to retry (Succeeded, 1 succeeded)`]);
    const unsaid = await fleetline('deployments', 'retry', firstId);
    expect(unsaid.code).not.toBe(0);
    expect(unsaid.stderr).toContain('--failed-only');
  }, 240_000);

  it('executions retry and stop work; a rejection is shown once', async () => {
    writeFileSync(join(work, 'gate.yml'), 'source: { bucket: fleetline-artifacts, prefix: "gate/" }\nstages:\n  - name: Gate\n    actions: [ { type: approval } ]\n');
    expect((await fleetline('pipelines', 'put', 'gate', '-f', join(work, 'gate.yml'))).code).toBe(0);
    const client = s3();
    try {
      const dir = bundleDir('gated', 'true');
      execFileSync('zip', ['-qr', join(work, 'gated.zip'), '.'], { cwd: dir });
      await client.send(new PutObjectCommand({ Bucket: stack().bucket, Key: 'gate/manual.zip', Body: readFileSync(join(work, 'gated.zip')) }));
    } finally {
      client.destroy();
    }
    // The upload under the pipeline's source starts an execution.
    let executionId = '';
    await waitFor('the upload to start an execution', async () => {
      executionId = (await fleetline('executions', 'list', 'gate', '--latest', '-q')).stdout.trim();
      return executionId !== '';
    }, { timeoutMs: 60_000, intervalMs: 500 });
    await waitFor('the approval to wait', async () => /Gate\s+InProgress/.test((await fleetline('executions', 'get', executionId)).stdout), { timeoutMs: 60_000, intervalMs: 500 });
    expect((await fleetline('executions', 'reject', executionId, '--comment', 'not today')).code).toBe(0);
    await waitFor('the rejection to fail the execution', async () => JSON.parse((await fleetline('executions', 'get', executionId, '-o', 'json')).stdout).status === 'Failed', { timeoutMs: 60_000, intervalMs: 500 });
    const shown = (await fleetline('executions', 'get', executionId)).stdout;
    expect(shown.split('not today').length - 1).toBe(1);

    const retried = await fleetline('executions', 'retry', executionId);
    expect(retried.code, retried.stderr).toBe(0);
    await waitFor('the retried approval to wait again', async () => /Gate\s+InProgress/.test((await fleetline('executions', 'get', executionId)).stdout), { timeoutMs: 60_000, intervalMs: 500 });
    const stopped = await fleetline('executions', 'stop', executionId);
    expect(stopped.code, stopped.stderr).toBe(0);
    await waitFor('the stop', async () => JSON.parse((await fleetline('executions', 'get', executionId, '-o', 'json')).stdout).status === 'Stopped', { timeoutMs: 60_000, intervalMs: 500 });
  }, 240_000);

  it('a wrong --api and missing AWS credentials are explained, not dumped', async () => {
    const wrong = await cli!.run(['--api', stack().s3Endpoint, 'apps', 'list'], { FLEETLINE_STATE_DIR: '', FLEETLINE_API: '' });
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).not.toContain('<?xml');
    expect(wrong.stderr).toContain(`${stack().s3Endpoint} did not answer as the Fleetline API`);

    const home = mkdtempSync(join(tmpdir(), 'fleetline-home-'));
    try {
      const env: Record<string, string> = { HOME: home, AWS_EC2_METADATA_DISABLED: 'true', FLEETLINE_STATE_DIR: '', FLEETLINE_API: '' };
      for (const name of Object.keys(process.env)) if (name.startsWith('AWS_') && !(name in env)) env[name] = '';
      const none = await cli!.run(['--api', 'https://abc123defg.execute-api.eu-west-1.amazonaws.com', 'apps', 'list'], env);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain('No AWS credentials to sign requests to https://abc123defg.execute-api.eu-west-1.amazonaws.com with');
      expect(none.stderr).toContain('default credential chain');
      expect(none.stderr).toContain('AWS_PROFILE');
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 60_000);
});
