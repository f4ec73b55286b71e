import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../local/ports.js';
import { startAgent } from '../support/agent-process.js';
import { type BundleFile, script, zipBundle } from '../support/bundles.js';
import { waitForDeploymentEnd } from '../support/deployment-end.js';
import { type LocalFleetline, pickPorts, startLocalFleetline } from '../support/local-process.js';

const stateDir = mkdtempSync(join(tmpdir(), 'fleetline-host-safety-'));
let stack: LocalFleetline;
let s3: S3Client;
let proxy: Server;
let proxyUrl: string;

/** What the API in front of the agent does to final reports (ValidateService finished). */
const faults = { active: false, refused: 0 };

beforeAll(async () => {
  const ports = await pickPorts();
  stack = await startLocalFleetline(stateDir, ports);
  s3 = new S3Client({
    endpoint: `http://127.0.0.1:${ports.s3}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  // Between the agent and the API: forwards everything, but while `faults.active` answers a
  // final report with a 503 or drops the connection, alternately.
  proxy = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if (faults.active && req.url === '/agent/v1/report') {
      const report = JSON.parse(body.toString());
      if (report.done?.some((e: { event: string }) => e.event === 'ValidateService')) {
        if (faults.refused++ % 2 === 0) res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"ServiceUnavailable","message":"down"}}');
        else req.socket.destroy();
        return;
      }
    }
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => !['host', 'content-length', 'connection'].includes(k))) as Record<string, string>;
    const answer = await fetch(`${stack.apiUrl}${req.url}`, { method: req.method, headers, body: req.method === 'GET' ? undefined : body });
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' }).end(Buffer.from(await answer.arrayBuffer()));
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  proxy?.closeAllConnections();
  await new Promise((r) => proxy?.close(r));
  s3?.destroy();
  await stack?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

async function http(method: string, path: string, body?: unknown) {
  const res = await fetch(`${stack.apiUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function group(name: string, fleet: string) {
  await http('PUT', '/applications/safety');
  const put = await http('PUT', `/applications/safety/groups/${name}`, { targets: { onPremisesTagSet: [[{ key: 'fleet', value: fleet, type: 'KEY_AND_VALUE' }]] } });
  expect(put.status).toBe(201);
}

async function deploy(groupName: string, files: BundleFile[]) {
  const key = `safety/${groupName}-${Date.now()}.zip`;
  await s3.send(new PutObjectCommand({ Bucket: 'fleetline-artifacts', Key: key, Body: await zipBundle(files) }));
  const created = await http('POST', '/deployments', { application: 'safety', group: groupName, revision: { bucket: 'fleetline-artifacts', key } });
  expect(created.status).toBe(201);
  return created.body.deploymentId as string;
}

async function status(deploymentId: string): Promise<string> {
  return (await http('GET', `/deployments/${deploymentId}`)).body.status;
}

async function finished(deploymentId: string) {
  return (await waitForDeploymentEnd(deploymentId, async () => ({ status: await status(deploymentId) }), { timeoutMs: 60_000, intervalMs: 200 })).status;
}

const appspec = (hooks: string) => `version: 0.0\nos: linux\nfiles:\n  - source: /site\n    destination: /srv/app\nhooks:\n${hooks}`;

/** last-success.json of every group on the agent's host. */
function lastSuccesses(instanceId: string): string[] {
  const groups = join(stateDir, 'agents', instanceId, 'groups');
  if (!existsSync(groups)) return [];
  return readdirSync(groups)
    .map((g) => join(groups, g, 'last-success.json'))
    .filter(existsSync)
    .map((f) => JSON.parse(readFileSync(f, 'utf8')).deploymentId);
}

describe('the agent on a host whose server fails', () => {
  it('a final report the server rejects or drops is kept, retried across a restart, and only then is the deployment the host\'s last success', async () => {
    const stops = join(stateDir, 'stops.txt');
    let agent = startAgent({ apiUrl: proxyUrl, instanceId: 'outbox-1', stateDir, tags: 'fleet=outbox' });
    try {
      await waitFor('outbox-1 to register', async () => (await http('GET', '/instances/outbox-1')).status === 200, { timeoutMs: 30_000 });
      // An agent never chooses its own targeting tags: an administrator sets them.
      expect((await http('PUT', '/instances/outbox-1', { tags: [{ key: 'fleet', value: 'outbox' }] })).status).toBe(200);
      await group('outbox', 'outbox');
      const v1: BundleFile[] = [
        { path: 'appspec.yml', content: appspec('  ApplicationStop:\n    - location: stop.sh\n  ValidateService:\n    - location: validate.sh\n') },
        { path: 'site/version.txt', content: 'v1\n' },
        { path: 'stop.sh', mode: 0o755, content: script(`echo "v1 stopped by $DEPLOYMENT_ID" >> ${stops}`) },
        // The original trigger: 4 KB of invalid UTF-8 in the output tail of the final report.
        { path: 'validate.sh', mode: 0o755, content: script("head -c 4096 /dev/zero | tr '\\000' '\\377'") },
      ];
      faults.active = true;
      const first = await deploy('outbox', v1);
      await waitFor('the final report to be refused and dropped a few times', async () => faults.refused >= 3, { timeoutMs: 60_000, intervalMs: 100 });
      expect(await status(first)).toBe('InProgress');
      expect(lastSuccesses('outbox-1')).toEqual([]);

      agent.child.kill('SIGKILL');
      await agent.stop();
      expect(lastSuccesses('outbox-1')).toEqual([]);
      faults.active = false;
      agent = startAgent({ apiUrl: proxyUrl, instanceId: 'outbox-1', stateDir, tags: 'fleet=outbox' });

      expect(await finished(first)).toBe('Succeeded');
      await waitFor('the host to record the success', async () => lastSuccesses('outbox-1').includes(first), { timeoutMs: 10_000 });
      const detail = (await http('GET', `/deployments/${first}/instances/outbox-1`)).body;
      expect(detail.events.find((e: any) => e.name === 'ValidateService').outputTail).toContain('\uFFFD');

      const second = await deploy('outbox', [
        { path: 'appspec.yml', content: appspec('') },
        { path: 'site/version.txt', content: 'v2\n' },
      ]);
      expect(await finished(second)).toBe('Succeeded');
      expect(readFileSync(stops, 'utf8')).toBe(`v1 stopped by ${second}\n`);
      expect(readFileSync(join(stateDir, 'hosts', 'outbox-1', 'srv/app/version.txt'), 'utf8')).toBe('v2\n');
    } finally {
      faults.active = false;
      await agent.stop();
    }
  }, 300_000);

  it('restarted after fast hooks (which saw their region), the agent signals no process outside the hook\'s group', async () => {
    let agent = startAgent({ apiUrl: stack.apiUrl, instanceId: 'fast-1', stateDir, tags: 'fleet=fast' });
    let bystander: ChildProcess | undefined;
    try {
      await waitFor('fast-1 to register', async () => (await http('GET', '/instances/fast-1')).status === 200, { timeoutMs: 30_000 });
      // An agent never chooses its own targeting tags: an administrator sets them.
      expect((await http('PUT', '/instances/fast-1', { tags: [{ key: 'fleet', value: 'fast' }] })).status).toBe(200);
      await group('fast', 'fast');
      const deployment = await deploy('fast', [
        { path: 'appspec.yml', content: appspec('  BeforeInstall:\n    - location: quick.sh\n  AfterInstall:\n    - location: quick.sh\n  ApplicationStart:\n    - location: quick.sh\n') },
        { path: 'site/a.txt', content: 'a' },
        { path: 'quick.sh', mode: 0o755, content: script('echo "$AWS_REGION $AWS_DEFAULT_REGION" > "$(dirname "$0")/../region.txt"') },
      ]);
      expect(await finished(deployment)).toBe('Succeeded');
      // Hooks get the agent's configured region (here the local stack's, through AWS_REGION).
      expect(readFileSync(join(stateDir, 'agents', 'fast-1', 'deployments', deployment, 'region.txt'), 'utf8')).toBe('us-east-1 us-east-1\n');
      const record = join(stateDir, 'agents', 'fast-1', 'running-hook.json');
      expect(existsSync(record)).toBe(false);
      await agent.stop();

      // A process of its own group that merely has the recorded ID, with the right start time even.
      bystander = spawn('sleep', ['120'], { detached: true, stdio: 'ignore' });
      const pid = bystander.pid as number;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const startTime = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      mkdirSync(join(stateDir, 'agents', 'fast-1'), { recursive: true });
      writeFileSync(record, JSON.stringify({ pgid: pid, startTime, marker: 'a-hook-of-an-earlier-run' }));

      agent = startAgent({ apiUrl: stack.apiUrl, instanceId: 'fast-1', stateDir, tags: 'fleet=fast' });
      await waitFor('the agent to have looked at the record', async () => !existsSync(record) && agent.output().includes('registered'), { timeoutMs: 30_000 });
      expect(agent.output()).toContain('not one this agent started');
      expect(bystander.exitCode).toBeNull();
      expect(bystander.signalCode).toBeNull();
      expect(() => process.kill(pid, 0)).not.toThrow();
    } finally {
      bystander?.kill('SIGKILL');
      await agent.stop();
    }
  }, 180_000);
});

describe('a root agent applying permissions on a host that holds other files', () => {
  const isRoot = process.getuid?.() === 0;
  it.skipIf(!isRoot)('changes only what each deployment installed, keeps setuid, and never follows a link a hook planted as another user', async () => {
    const instanceId = 'perms-1';
    const host = join(stateDir, 'hosts', instanceId);
    const at = (path: string) => join(host, path);
    // Files nobody deployed: beside the deployment's files, below them, and a file of root's elsewhere on the host.
    const foreign = ['srv/app/foreign.txt', 'srv/app/old/kept.txt', 'etc/shadow'].map(at);
    for (const path of foreign) {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, 'not deployed', { mode: 0o600 });
    }
    const untouched = () => [...foreign, at('srv/app'), at('srv/app/old'), at('etc')].map((p) => [p, statSync(p).uid, statSync(p).mode & 0o7777]);
    const before = untouched();
    const daemon = Number(execFileSync('id', ['-u', 'daemon'], { encoding: 'utf8' }).trim());
    const owned = (path: string) => [lstatSync(at(path)).uid, lstatSync(at(path)).mode & 0o7777];
    const bundle = (plant: string): BundleFile[] => [
      {
        path: 'appspec.yml',
        content:
          'version: 0.0\nos: linux\nfiles:\n  - source: /site\n    destination: /srv/app\n  - source: /bin\n    destination: /opt/tool\n' +
          'permissions:\n  - object: /srv/app\n    owner: daemon\n    mode: 750\n  - object: /opt/tool/tool\n    owner: daemon\n    mode: 4755\n' +
          (plant ? 'hooks:\n  AfterInstall:\n    - location: plant.sh\n' : ''),
      },
      { path: 'site/index.html', content: 'v1' },
      { path: 'site/data/config.txt', content: 'c' },
      { path: 'bin/tool', content: '#!/bin/sh\n', mode: 0o755 },
      { path: 'plant.sh', mode: 0o755, content: script(plant) },
    ];
    // What a runas hook can do to what it was given: swap a file, or a folder, for a link of its own to root's files.
    const plantFile = `rm ${at('srv/app/index.html')}\nln -s ${at('etc/shadow')} ${at('srv/app/index.html')}\nchown -h daemon:daemon ${at('srv/app/index.html')}`;
    const plantFolder = `rm -r ${at('srv/app/data')}\nln -s ${at('etc')} ${at('srv/app/data')}\nchown -h daemon:daemon ${at('srv/app/data')}`;
    const agent = startAgent({ apiUrl: stack.apiUrl, instanceId, stateDir, tags: 'fleet=perms' });
    try {
      await waitFor(`${instanceId} to register`, async () => (await http('GET', `/instances/${instanceId}`)).status === 200, { timeoutMs: 30_000 });
      expect((await http('PUT', `/instances/${instanceId}`, { tags: [{ key: 'fleet', value: 'perms' }] })).status).toBe(200);
      await group('perms', 'perms');

      const first = await deploy('perms', bundle(plantFile));
      expect(await finished(first)).toBe('Succeeded');
      // What it installed (files and the folder it created) is daemon's; setuid survived the change of owner.
      expect([owned('srv/app/data/config.txt'), owned('srv/app/data'), owned('opt/tool/tool')]).toEqual([[daemon, 0o750], [daemon, 0o750], [daemon, 0o4755]]);
      expect(untouched()).toEqual(before);

      // The planted file link is removed as a link; the fresh file is changed, root's file is not.
      const second = await deploy('perms', bundle(plantFolder));
      expect(await finished(second)).toBe('Succeeded');
      expect(lstatSync(at('srv/app/index.html')).isFile()).toBe(true);
      expect(owned('srv/app/index.html')).toEqual([daemon, 0o750]);
      expect(untouched()).toEqual(before);

      // The planted folder link: nothing is removed, written or re-owned through it; Install fails naming it.
      const third = await deploy('perms', bundle(''));
      expect(await finished(third)).toBe('Failed');
      const install = (await http('GET', `/deployments/${third}/instances/${instanceId}`)).body.events.find((e: any) => e.name === 'Install');
      expect(install).toMatchObject({ status: 'Failed', message: expect.stringContaining(`leads through ${at('srv/app/data')}, a link owned by uid ${daemon}`) });
      expect(existsSync(at('etc/config.txt'))).toBe(false);
      expect(untouched()).toEqual(before);
      expect(readFileSync(at('etc/shadow'), 'utf8')).toBe('not deployed');
    } finally {
      await agent.stop();
    }
  }, 180_000);
});

describe('runas on a real agent', () => {
  const isRoot = process.getuid?.() === 0;
  it.skipIf(!isRoot)('runs a root hook with root\'s environment from the host folder, and fails a runas nologin user\'s hook with CodeDeploy\'s message', async () => {
    const instanceId = 'runas-1';
    const out = join(stateDir, 'runas-env.txt');
    const agent = startAgent({ apiUrl: stack.apiUrl, instanceId, stateDir, tags: 'fleet=runas' });
    try {
      await waitFor(`${instanceId} to register`, async () => (await http('GET', `/instances/${instanceId}`)).status === 200, { timeoutMs: 30_000 });
      expect((await http('PUT', `/instances/${instanceId}`, { tags: [{ key: 'fleet', value: 'runas' }] })).status).toBe(200);
      await group('runas', 'runas');
      const deployment = await deploy('runas', [
        {
          path: 'appspec.yml',
          content: appspec('  AfterInstall:\n    - location: env.sh\n      runas: root\n  ApplicationStart:\n    - location: env.sh\n      runas: nobody\n'),
        },
        { path: 'site/a.txt', content: 'a' },
        { path: 'env.sh', mode: 0o755, content: script(`echo "$LIFECYCLE_EVENT HOME=$HOME USER=$USER LOGNAME=$LOGNAME SHELL=$SHELL PWD=$(pwd)" >> ${out}`) },
      ]);
      expect(await finished(deployment)).toBe('Failed');
      const events = (await http('GET', `/deployments/${deployment}/instances/${instanceId}`)).body.events;
      expect(events.find((e: any) => e.name === 'AfterInstall')).toMatchObject({ status: 'Succeeded' });
      expect(events.find((e: any) => e.name === 'ApplicationStart')).toMatchObject({
        status: 'Failed',
        errorCode: 'ScriptFailed',
        exitCode: 1,
        message: 'Script at specified location: env.sh run as user nobody failed with exit code 1',
        outputTail: expect.stringContaining('This account is currently not available.'),
      });
      const [, , , , , home, shell] = execFileSync('getent', ['passwd', 'root'], { encoding: 'utf8' }).trim().split(':');
      expect(readFileSync(out, 'utf8')).toBe(`AfterInstall HOME=${home} USER=root LOGNAME=root SHELL=${shell} PWD=${join(stateDir, 'hosts', instanceId)}\n`);
    } finally {
      await agent.stop();
    }
  }, 120_000);
});
