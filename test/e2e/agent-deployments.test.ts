import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../local/ports.js';
import { type BundleFile, script, zipBundle } from '../support/bundles.js';
import { startAgent } from '../support/agent-process.js';
import { type LocalFleetline, pickPorts, startLocalFleetline } from '../support/local-process.js';
import { waitForDeploymentEnd } from '../support/deployment-end.js';

const stateDir = mkdtempSync(join(tmpdir(), 'fleetline-agents-'));
let stack: LocalFleetline;
let s3: S3Client;
let groupCounter = 0;

beforeAll(async () => {
  const ports = await pickPorts();
  stack = await startLocalFleetline(stateDir, ports, { FLEETLINE_LOCAL_AGENTS: '3' });
  s3 = new S3Client({
    endpoint: `http://127.0.0.1:${ports.s3}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
}, 120_000);

afterAll(async () => {
  s3?.destroy();
  await stack?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

async function http(method: string, path: string, body?: unknown) {
  const res = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** A new group over the three local agents; uploads the bundle and deploys it. */
async function deploy(files: BundleFile[], settings: Record<string, unknown> = {}, key = `e2e/app-${Date.now()}.zip`) {
  const group = `g${++groupCounter}`;
  await http('PUT', '/applications/e2e');
  const put = await http('PUT', `/applications/e2e/groups/${group}`, {
    targets: { onPremisesTagSet: [[{ key: 'fleet', value: 'local', type: 'KEY_AND_VALUE' }]] },
    deploymentConfig: 'AllAtOnce',
    ...settings,
  });
  expect(put.status).toBe(201);
  return { group, ...(await deployTo(group, files, key)) };
}

async function deployTo(group: string, files: BundleFile[], key: string) {
  await s3.send(new PutObjectCommand({ Bucket: 'fleetline-artifacts', Key: key, Body: await zipBundle(files) }));
  const created = await http('POST', '/deployments', { application: 'e2e', group, revision: { bucket: 'fleetline-artifacts', key } });
  expect(created.status).toBe(201);
  return { deploymentId: created.body.deploymentId as string };
}

async function finished(deploymentId: string, timeoutMs = 90_000) {
  return waitForDeploymentEnd(deploymentId, async () => (await http('GET', `/deployments/${deploymentId}`)).body, { timeoutMs });
}

const host = (instanceId: string, path: string) => join(stateDir, 'hosts', instanceId, path);

const appspec = (hooks: string, files = '  - source: /site\n    destination: /srv/site\n') =>
  `version: 0.0\nos: linux\nfiles:\n${files}hooks:\n${hooks}`;

// Every batch is now a hop through the table's stream and the worker: generous on a loaded machine.
describe('real agents running real hooks', { timeout: 120_000 }, () => {
  it('deploys a bundle everywhere: files in place, hooks see their environment, logs retrievable', async () => {
    const files: BundleFile[] = [
      {
        path: 'appspec.yml',
        content: appspec(
          '  AfterInstall:\n    - location: scripts/record-env.sh\n      timeout: 30\n  ValidateService:\n    - location: scripts/validate.sh\n',
        ),
      },
      { path: 'site/index.html', content: '<h1>v1</h1>\n' },
      { path: 'scripts/record-env.sh', mode: 0o755, content: script('echo "$LIFECYCLE_EVENT $DEPLOYMENT_ID $APPLICATION_NAME $DEPLOYMENT_GROUP_NAME $BUNDLE_KEY" > "$(dirname "$0")/../../env.txt"\necho recorded') },
      { path: 'scripts/validate.sh', mode: 0o644, content: script('echo validating; test -f "$(dirname "$0")/../../env.txt"') },
    ];
    const { group, deploymentId } = await deploy(files);
    const deployment = await finished(deploymentId);
    expect(deployment.status).toBe('Succeeded');
    expect(deployment.counts).toMatchObject({ succeeded: 3, failed: 0 });
    for (const id of ['local-1', 'local-2', 'local-3']) {
      expect(readFileSync(host(id, 'srv/site/index.html'), 'utf8')).toBe('<h1>v1</h1>\n');
    }
    const detail = (await http('GET', `/deployments/${deploymentId}/instances/local-1`)).body;
    expect(detail.events.find((e: any) => e.name === 'AfterInstall')).toMatchObject({ status: 'Succeeded', exitCode: 0 });
    expect(detail.events.find((e: any) => e.name === 'ValidateService').outputTail).toContain('made it executable');
    const env = readFileSync(join(stateDir, 'agents', 'local-1', 'deployments', deploymentId, 'env.txt'), 'utf8').trim().split(' ');
    expect(env.slice(0, 4)).toEqual(['AfterInstall', deploymentId, 'e2e', group]);
    const log = await fetch(detail.logUrl);
    expect(log.status).toBe(200);
    expect(await log.text()).toContain('recorded');
  }, 120_000);

  it('a failing hook fails the instances, and rollback redeploys the previous revision', async () => {
    const stops = join(stateDir, `stops-${Date.now()}.txt`);
    const good: BundleFile[] = [
      { path: 'appspec.yml', content: appspec('  ApplicationStop:\n    - location: stop.sh\n  ApplicationStart:\n    - location: start.sh\n') },
      { path: 'site/version.txt', content: 'good\n' },
      { path: 'start.sh', mode: 0o755, content: script('echo started') },
      { path: 'stop.sh', mode: 0o755, content: script(`echo "stopped good for $DEPLOYMENT_ID" >> ${stops}`) },
    ];
    const first = await deploy(good, { autoRollback: { enabled: true, events: ['DEPLOYMENT_FAILURE'] } });
    expect((await finished(first.deploymentId)).status).toBe('Succeeded');
    const bad: BundleFile[] = [
      { path: 'appspec.yml', content: appspec('  ApplicationStart:\n    - location: start.sh\n') },
      { path: 'site/version.txt', content: 'bad\n' },
      { path: 'start.sh', mode: 0o755, content: script('echo "cannot start" >&2; exit 3') },
    ];
    const second = await deployTo(first.group, bad, `e2e/bad-${Date.now()}.zip`);
    const failed = await finished(second.deploymentId);
    expect(failed.status).toBe('Failed');
    // The deployment's own error names where it went wrong: instance, event, script, exit code.
    expect(failed.error.message).toMatch(/^local-\d failed at ApplicationStart: start\.sh exited with 3 \(ScriptFailed, exit code 3\)\. /);
    expect(failed.error.cause).toMatchObject({ event: 'ApplicationStart', errorCode: 'ScriptFailed', exitCode: 3 });
    // ApplicationStop of the new deployment ran the scripts of the revision that was running.
    expect(readFileSync(stops, "utf8").split('\n').filter((l) => l === `stopped good for ${second.deploymentId}`)).toHaveLength(3);
    await waitFor('the rollback to be linked', async () => {
      failed.rolledBackBy = (await http('GET', `/deployments/${second.deploymentId}`)).body.rolledBackBy;
      return Boolean(failed.rolledBackBy);
    }, { timeoutMs: 90_000 });
    const detail = (await http('GET', `/deployments/${second.deploymentId}/instances/local-2`)).body;
    expect(detail.events.find((e: any) => e.name === 'ApplicationStart')).toMatchObject({
      status: 'Failed', errorCode: 'ScriptFailed', exitCode: 3, outputTail: expect.stringContaining('cannot start'),
    });
    expect(failed.rolledBackBy).toMatch(/^d-/);
    expect((await finished(failed.rolledBackBy)).status).toBe('Succeeded');
    expect(readFileSync(host('local-2', 'srv/site/version.txt'), 'utf8')).toBe('good\n');
  }, 120_000);

  it('a hook past its timeout is killed with its children and reported ScriptTimedOut', async () => {
    const marker = join(stateDir, `sleeper-${Date.now()}`);
    const { deploymentId } = await deploy([
      { path: 'appspec.yml', content: appspec('  BeforeInstall:\n    - location: slow.sh\n      timeout: 1\n') },
      { path: 'site/a.txt', content: 'a' },
      { path: 'slow.sh', mode: 0o755, content: script(`(sleep 30; touch ${marker}) &\nsleep 30`) },
    ], { deploymentConfig: { minimumHealthyHosts: { type: 'HOST_COUNT', value: 2 } } });
    const deployment = await finished(deploymentId);
    expect(deployment.status).toBe('Failed');
    const instance = (await http('GET', `/deployments/${deploymentId}/instances`)).body.items.find((i: any) => i.status === 'Failed');
    const detail = (await http('GET', `/deployments/${deploymentId}/instances/${instance.instanceId}`)).body;
    expect(detail.events.find((e: any) => e.name === 'BeforeInstall')).toMatchObject({ status: 'Failed', errorCode: 'ScriptTimedOut' });
    const pgrep = await import('node:child_process').then((cp) => cp.spawnSync('pgrep', ['-f', marker]));
    expect(pgrep.stdout.toString().trim()).toBe('');
  });

  it('stop during a long hook ends it within 2 seconds', async () => {
    const { deploymentId } = await deploy([
      { path: 'appspec.yml', content: appspec('  ApplicationStart:\n    - location: long.sh\n      timeout: 120\n') },
      { path: 'site/a.txt', content: 'a' },
      { path: 'long.sh', mode: 0o755, content: script('echo long-running; sleep 60') },
    ]);
    await waitFor('the long hook to start', async () => {
      const items = (await http('GET', `/deployments/${deploymentId}/instances`)).body.items;
      return items.some((i: any) => i.lastEvent === 'ApplicationStart');
    }, { timeoutMs: 90_000, intervalMs: 100 });
    expect((await http('POST', `/deployments/${deploymentId}/stop`, {})).status).toBe(202);
    // The contract is a deadline: every running hook is ended and reported within 2 s of the stop.
    await waitFor('every agent to report the stopped hook', async () => {
      const d = (await http('GET', `/deployments/${deploymentId}`)).body;
      return d.counts.inProgress === 0;
    }, { timeoutMs: 2000, intervalMs: 50 });
    expect((await http('GET', `/deployments/${deploymentId}`)).body.status).toBe('Stopped');
  });

  it('a zip-slip bundle is refused at the door (422, naming the entry) and reaches no host', async () => {
    const escapee = join(stateDir, 'hosts', 'escaped.txt');
    const group = `g${++groupCounter}`;
    await http('PUT', '/applications/e2e');
    await http('PUT', `/applications/e2e/groups/${group}`, { targets: { onPremisesTagSet: [[{ key: 'fleet', value: 'local', type: 'KEY_AND_VALUE' }]] } });
    const key = `e2e/slip-${Date.now()}.zip`;
    const body = await zipBundle([
      { path: 'appspec.yml', content: appspec('') },
      { path: 'site/a.txt', content: 'a' },
      { path: '../../../escaped.txt', content: 'owned' },
    ]);
    await s3.send(new PutObjectCommand({ Bucket: 'fleetline-artifacts', Key: key, Body: body }));
    const created = await http('POST', '/deployments', { application: 'e2e', group, revision: { bucket: 'fleetline-artifacts', key } });
    expect(created.status).toBe(422);
    expect(created.body.error.details[0].message).toContain('../../../escaped.txt');
    expect((await http('GET', `/deployments?application=e2e&group=${group}`)).body.items).toEqual([]);
    expect(existsSync(escapee)).toBe(false);
  });

  it('an agent killed mid-hook and restarted reports the event Failed, ends the old hook, and the deployment ends', async () => {
    const marker = `survivor-${Date.now()}`;
    // Agents never choose their own targeting tags: the administrator sets them.
    await http('PUT', '/instances/solo-1', { tags: [{ key: 'fleet', value: 'solo' }] });
    let agent = startAgent({ apiUrl: stack.apiUrl, instanceId: 'solo-1', stateDir, tags: 'fleet=solo' });
    try {
      await waitFor('solo-1 to register', async () => (await http('GET', '/instances/solo-1')).status === 200, { timeoutMs: 30_000 });
      const group = `crash${++groupCounter}`;
      await http('PUT', '/applications/e2e');
      await http('PUT', `/applications/e2e/groups/${group}`, {
        targets: { onPremisesTagSet: [[{ key: 'fleet', value: 'solo', type: 'KEY_AND_VALUE' }]] },
      });
      const { deploymentId } = await deployTo(group, [
        { path: 'appspec.yml', content: appspec('  ApplicationStart:\n    - location: long.sh\n      timeout: 300\n') },
        { path: 'site/a.txt', content: 'a' },
        { path: 'long.sh', mode: 0o755, content: script(`exec sleep 120 # ${marker}`) },
      ], `e2e/crash-${Date.now()}.zip`);
      await waitFor('the hook to run', async () => {
        const detail = (await http('GET', `/deployments/${deploymentId}/instances/solo-1`)).body;
        return detail.events?.some((e: any) => e.name === 'ApplicationStart' && e.status === 'InProgress');
      }, { timeoutMs: 90_000, intervalMs: 100 });

      agent.child.kill('SIGKILL');
      await agent.stop();
      agent = startAgent({ apiUrl: stack.apiUrl, instanceId: 'solo-1', stateDir, tags: 'fleet=solo' });

      const deployment = await finished(deploymentId);
      expect(deployment.status).toBe('Failed');
      const detail = (await http('GET', `/deployments/${deploymentId}/instances/solo-1`)).body;
      expect(detail.events.find((e: any) => e.name === 'ApplicationStart')).toMatchObject({
        status: 'Failed', message: 'The agent restarted while this event was running',
      });
      const { spawnSync } = await import('node:child_process');
      expect(spawnSync('pgrep', ['-f', marker]).stdout.toString().trim()).toBe('');
    } finally {
      await agent.stop();
    }
  });

  it('upload to prod: an S3 upload deploys to staging, waits for approval, then deploys to prod', async () => {
    for (const [id, stage] of [['local-1', 'staging'], ['local-2', 'prod'], ['local-3', 'prod']]) {
      const tags = [{ key: 'env', value: 'local' }, { key: 'fleet', value: 'local' }, { key: 'stage', value: stage }];
      await http('PUT', `/instances/${id}`, { tags, iamArn: `arn:aws:sts::000000000000:assumed-role/fleetline-agent/${id}` });
    }
    await http('PUT', '/applications/shop');
    for (const stage of ['staging', 'prod']) {
      await http('PUT', `/applications/shop/groups/${stage}`, {
        targets: { onPremisesTagSet: [[{ key: 'stage', value: stage, type: 'KEY_AND_VALUE' }]] },
      });
    }
    const pipeline = await http('PUT', '/pipelines/shop', {
      source: { bucket: 'fleetline-artifacts', prefix: 'shop/', suffix: '.zip' },
      stages: [
        { name: 'Staging', actions: [{ type: 'deploy', application: 'shop', group: 'staging' }] },
        { name: 'Approve', actions: [{ type: 'approval', timeoutMinutes: 30 }] },
        { name: 'Prod', actions: [{ type: 'deploy', application: 'shop', group: 'prod' }] },
      ],
    });
    expect(pipeline.status).toBe(201);
    const bundle = await zipBundle([
      { path: 'appspec.yml', content: 'version: 0.0\nos: linux\nfiles:\n  - source: /site\n    destination: /srv/shop\n' },
      { path: 'site/index.html', content: 'shop v1\n' },
    ]);
    await s3.send(new PutObjectCommand({ Bucket: 'fleetline-artifacts', Key: 'shop/app-1.zip', Body: bundle }));

    let execution: any;
    await waitFor('staging to be deployed and the approval to wait', async () => {
      const [latest] = (await http('GET', '/pipelines/shop/executions')).body.items;
      execution = latest;
      // The stage is entered first, then its approval starts: only then is there something to approve.
      return latest?.stages[1].actions[0].status === 'InProgress';
    }, { timeoutMs: 90_000, intervalMs: 100 });
    expect(readFileSync(host('local-1', 'srv/shop/index.html'), 'utf8')).toBe('shop v1\n');
    expect(existsSync(host('local-2', 'srv/shop/index.html'))).toBe(false);

    expect((await http('POST', `/executions/${execution.executionId}/approve`, { comment: 'ship it' })).status).toBe(200);
    await waitFor('prod to be deployed', async () => (await http('GET', `/executions/${execution.executionId}`)).body.status === 'Succeeded', {
      timeoutMs: 90_000,
      intervalMs: 100,
    });
    for (const id of ['local-2', 'local-3']) expect(readFileSync(host(id, 'srv/shop/index.html'), 'utf8')).toBe('shop v1\n');
  });
});
