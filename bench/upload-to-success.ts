import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LOCAL_CREDENTIALS } from '../local/dynamodb-local.js';
import { freePort, waitFor } from '../local/ports.js';
import { startLocalStack } from '../local/stack.js';
import { script, zipBundle } from '../test/support/bundles.js';
import { type Figure, printFigure } from './figure.js';

const AGENTS = 10;

/**
 * Upload to success (design §9): a bundle with no-op hooks lands in S3 and is
 * deployed OneAtATime to 10 real local agents until Succeeded. Reported: wall
 * time, and control-plane overhead per instance (wall time over instances,
 * less the time the hooks themselves ran).
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
  try {
    await call('PUT', '/applications/bench');
    await call('PUT', '/applications/bench/groups/fleet', {
      targets: { onPremisesTagSet: [[{ key: 'fleet', value: 'local', type: 'KEY_AND_VALUE' }]] },
      deploymentConfig: 'OneAtATime',
    });
    const hooks = ['BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService'];
    const bundle = await zipBundle([
      { path: 'appspec.yml', content: `version: 0.0\nos: linux\nhooks:\n${hooks.map((h) => `  ${h}:\n    - location: noop.sh\n`).join('')}` },
      { path: 'noop.sh', content: script('true'), mode: 0o755 },
    ]);
    const started = performance.now();
    await s3.send(new PutObjectCommand({ Bucket: stack.bucket, Key: 'bench/app.zip', Body: bundle }));
    const created = await call('POST', '/deployments', {
      application: 'bench',
      group: 'fleet',
      revision: { bucket: stack.bucket, key: 'bench/app.zip' },
    });
    let status = '';
    await waitFor('the deployment to end', async () => {
      status = (await call('GET', `/deployments/${created.body.deploymentId}`)).body.status;
      return ['Succeeded', 'Failed', 'Stopped'].includes(status);
    }, { timeoutMs: 300_000, intervalMs: 50 });
    const seconds = (performance.now() - started) / 1000;
    if (status !== 'Succeeded') throw new Error(`deployment ended ${status}`);
    return [
      printFigure({ bench: 'upload-to-success', metric: 'seconds_total', value: round(seconds), unit: 's', n: AGENTS }),
      printFigure({ bench: 'upload-to-success', metric: 'seconds_per_instance', value: round(seconds / AGENTS), unit: 's', n: AGENTS }),
    ];
  } finally {
    s3.destroy();
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

const round = (n: number) => Math.round(n * 100) / 100;
