import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS } from '../local/dynamodb-local.js';
import { localAgentLog, localAgentPrincipal } from '../local/local-fleet.js';
import { freePort, waitFor } from '../local/ports.js';
import { isAlive } from '../local/process-alive.js';
import { type LocalStack, startLocalStack } from '../local/stack.js';
import { script, zipBundle } from '../test/support/bundles.js';
import { type Figure, printFigure } from './figure.js';

const AGENTS = 10;
const HOOKS = ['ApplicationStop', 'BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService'];

/**
 * Upload to success (design §9): a bundle with no-op hooks on all five script
 * events lands in S3 and is deployed OneAtATime to 10 real local agents until
 * Succeeded — once with the control channel pushing work, once with the channel
 * down (agents poll at the local 1-second interval), in the same run. Also: the
 * agents' HTTP requests per instance-deployment, and stop request → hook killed.
 */
export async function benchUploadToSuccess(): Promise<Figure[]> {
  const stateDir = mkdtempSync(join(tmpdir(), 'fleetline-bench-'));
  const stack = await startLocalStack({
    apiPort: await freePort(),
    s3Port: await freePort(),
    dynamoDbPort: await freePort(),
    stateDir,
    persist: false,
    agents: AGENTS,
  });
  const s3 = new S3Client({ endpoint: stack.s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: LOCAL_CREDENTIALS });
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${stack.apiUrl}${path}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
  };
  const figures: Figure[] = [];
  try {
    await call('PUT', '/applications/bench');
    await call('PUT', '/applications/bench/groups/fleet', {
      targets: { onPremisesTagSet: [[{ key: 'fleet', value: 'local', type: 'KEY_AND_VALUE' }]] },
      deploymentConfig: 'OneAtATime',
    });
    await waitFor('every agent on the channel', async () => stack.channel.connectionCount() === AGENTS, { timeoutMs: 120_000, intervalMs: 100 });
    const bundle = await zipBundle([
      { path: 'appspec.yml', content: `version: 0.0\nos: linux\nhooks:\n${HOOKS.map((h) => `  ${h}:\n    - location: noop.sh\n`).join('')}` },
      { path: 'noop.sh', content: script('true'), mode: 0o755 },
    ]);
    const deploy = async (key: string, body: Buffer) => {
      const started = performance.now();
      await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: key, Body: body }));
      const created = await call('POST', '/deployments', { application: 'bench', group: 'fleet', revision: { bucket: stack.bucket, key } });
      if (created.status !== 201) throw new Error(`POST /deployments: HTTP ${created.status} ${JSON.stringify(created.body)}`);
      return { deploymentId: created.body.deploymentId as string, started };
    };
    const ended = (deploymentId: string) => watchEnd((path) => call('GET', path), deploymentId);
    const agentRequests = () => stack.agentIds.reduce((n, id) => n + (stack.requestsByPrincipal.get(localAgentPrincipal(id)) ?? 0), 0);

    // A first deployment so ApplicationStop has scripts to run on every host in the measured ones.
    const warmup = await deploy('bench/app-0.zip', bundle);
    if ((await ended(warmup.deploymentId)) !== 'Succeeded') throw new Error('warm-up deployment failed');
    // Each agent uploads its log after its final report: the warm-up's uploads must not land in the measured window.
    await agentsDone(stateDir, stack.agentIds, warmup.deploymentId);

    const presigned = () => [...stack.s3PresignedRequests.values()].reduce((a, b) => a + b, 0);
    const requestsBefore = agentRequests();
    const presignedBefore = presigned();
    const pushed = await deploy('bench/app-1.zip', bundle);
    const pushedStatus = await ended(pushed.deploymentId);
    const pushSeconds = (performance.now() - pushed.started) / 1000;
    if (pushedStatus !== 'Succeeded') throw new Error(`deployment ended ${pushedStatus}`);
    figures.push(printFigure({ bench: 'upload-to-success', metric: 'seconds_total_push', value: round(pushSeconds), unit: 's', n: AGENTS }));
    figures.push(printFigure({ bench: 'upload-to-success', metric: 'seconds_per_instance_push', value: round(pushSeconds / AGENTS), unit: 's', n: AGENTS }));
    // The deployment ends with the last final report; the agents' log uploads come after theirs.
    await agentsDone(stateDir, stack.agentIds, pushed.deploymentId);
    // HTTP API requests, plus the S3 requests every host makes through presigned URLs (bundle GET, log PUT).
    const apiPerInstance = (agentRequests() - requestsBefore) / AGENTS;
    const s3PerInstance = (presigned() - presignedBefore) / AGENTS;
    figures.push(printFigure({ bench: 'agent-requests', metric: 'api_requests_per_instance_deployment', value: round(apiPerInstance), unit: 'requests', n: AGENTS }));
    figures.push(printFigure({ bench: 'agent-requests', metric: 'all_requests_per_instance_deployment', value: round(apiPerInstance + s3PerInstance), unit: 'requests', n: AGENTS }));

    figures.push(await stopToKilled(stack, stateDir, deploy, ended, call));

    // The channel goes away: agents fall back to polling.
    stack.channel.setAvailable(false);
    stack.channel.dropAll();
    await waitFor('the channel to be empty', async () => stack.channel.connectionCount() === 0, { timeoutMs: 10_000, intervalMs: 20 });
    const polled = await deploy('bench/app-2.zip', bundle);
    const polledStatus = await ended(polled.deploymentId);
    const pollSeconds = (performance.now() - polled.started) / 1000;
    if (polledStatus !== 'Succeeded') throw new Error(`deployment ended ${polledStatus}`);
    figures.push(printFigure({ bench: 'upload-to-success', metric: 'seconds_total_poll', value: round(pollSeconds), unit: 's', n: AGENTS }));
    figures.push(printFigure({ bench: 'upload-to-success', metric: 'seconds_per_instance_poll', value: round(pollSeconds / AGENTS), unit: 's', n: AGENTS }));
    return figures;
  } finally {
    s3.destroy();
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

/** Stop request → the running hook's process is gone, with the channel up. */
async function stopToKilled(
  stack: LocalStack,
  stateDir: string,
  deploy: (key: string, body: Buffer) => Promise<{ deploymentId: string }>,
  ended: (id: string) => Promise<string>,
  call: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>,
): Promise<Figure> {
  const pidFile = join(stateDir, 'long-hook.pid');
  const bundle = await zipBundle([
    { path: 'appspec.yml', content: 'version: 0.0\nos: linux\nhooks:\n  ApplicationStart:\n    - location: long.sh\n      timeout: 600\n' },
    { path: 'long.sh', content: script(`echo $$ > ${JSON.stringify(pidFile)}\nexec sleep 300`), mode: 0o755 },
  ]);
  const { deploymentId } = await deploy('bench/long.zip', bundle);
  await waitFor('the long hook to start', async () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', { timeoutMs: 120_000, intervalMs: 20 });
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  const started = performance.now();
  const stop = await call('POST', `/deployments/${deploymentId}/stop`, { rollback: false });
  if (stop.status >= 300) throw new Error(`stop: HTTP ${stop.status}`);
  await waitFor('the hook to be killed', async () => !isAlive(pid), { timeoutMs: 60_000, intervalMs: 10 });
  const seconds = (performance.now() - started) / 1000;
  await ended(deploymentId);
  void stack;
  return printFigure({ bench: 'stop', metric: 'seconds_stop_request_to_hook_killed', value: round(seconds), unit: 's' });
}

/** Waits until every agent logged that it is done with the deployment (it does so after its log upload). */
async function agentsDone(stateDir: string, agentIds: string[], deploymentId: string): Promise<void> {
  const done = `deployment ${deploymentId}: succeeded`;
  await waitFor(`every agent to finish ${deploymentId}`, () => agentIds.every((id) => existsSync(localAgentLog(stateDir, id)) && readFileSync(localAgentLog(stateDir, id), 'utf8').includes(done)), {
    timeoutMs: 60_000,
    intervalMs: 50,
  });
}

/**
 * Waits for the deployment to end and returns its status. Every request here
 * lands on the cores that run the engine being measured, so the watch is loose
 * while more than one instance is left and close (every 10 ms) from then on:
 * the end is still seen within a request of when it happens, and the figure
 * can only err long.
 */
async function watchEnd(get: (path: string) => Promise<{ body: any }>, deploymentId: string): Promise<string> {
  const deadline = performance.now() + 300_000;
  while (performance.now() < deadline) {
    const { status, counts } = (await get(`/deployments/${deploymentId}`)).body;
    if (['Succeeded', 'Failed', 'Stopped'].includes(status)) return status;
    const left = counts ? counts.pending + counts.inProgress : Number.POSITIVE_INFINITY;
    await new Promise((resolve) => setTimeout(resolve, left > 1 ? 100 : 10));
  }
  throw new Error(`deployment ${deploymentId} did not end within 300 s`);
}

const round = (n: number) => Math.round(n * 100) / 100;
