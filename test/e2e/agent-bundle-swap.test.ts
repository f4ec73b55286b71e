import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../lib/api/handler.js';
import { type DevServer, startDevServer } from '../../local/dev-server.js';
import { useApi } from '../support/api-harness.js';
import { startAgent } from '../support/agent-process.js';
import { type BundleFile, zipBundle } from '../support/bundles.js';
import { waitForDeploymentEnd } from '../support/deployment-end.js';
import { multipartForm } from '../support/multipart-form.js';

const api = useApi((deps) => ({ appspecs: multipartForm(deps.appspecs) }));
const Bucket = 'fleetline-test-artifacts';
const hosts = ['swap-1', 'swap-2'];
const stateDir = mkdtempSync(join(tmpdir(), 'fleetline-swap-'));
let server: DevServer;
let agents: ReturnType<typeof startAgent>[] = [];

const files = (marker: string): BundleFile[] => [
  { path: 'appspec.yml', content: 'version: 0.0\nos: linux\nfiles:\n  - source: index.html\n    destination: /srv/swap\n' },
  { path: 'index.html', content: marker },
];

beforeAll(async () => {
  server = await startDevServer(createApiHandler(api.deps), 0);
  await api.call('PUT', '/applications/swap', { body: { revisionSources: [{ bucket: Bucket, prefix: 'swap/' }] } });
  const group = await api.call('PUT', '/applications/swap/groups/all', {
    body: { targets: { onPremisesTagSet: [[{ key: 'swap', type: 'KEY_ONLY' }]] }, deploymentConfig: 'AllAtOnce' },
  });
  expect(group.status).toBe(201);
  for (const id of hosts) await api.call('PUT', `/instances/${id}`, { body: { tags: [{ key: 'swap', value: '' }] } });
}, 60_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await server?.stop();
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

async function deploy(key: string) {
  const res = await api.call('POST', '/deployments', { body: { application: 'swap', group: 'all', revision: { bucket: Bucket, key } } });
  expect(res.status).toBe(201);
  return res.body.deploymentId as string;
}

const ended = (id: string) => waitForDeploymentEnd(id, async () => (await api.call('GET', `/deployments/${id}`)).body, { timeoutMs: 60_000 });

// The revision check records a multipart-form ETag (see multipartForm): only size and SHA-256 can tell.
describe('a bundle swapped after its revision check, with a multipart ETag', () => {
  it('fails with BundleIntegrity on every host; the same bundle unswapped deploys', async () => {
    const original = await zipBundle(files('original'));
    await api.s3.send(new PutObjectCommand({ Bucket, Key: 'swap/app.zip', Body: original }));
    const swappedId = await deploy('swap/app.zip');
    const { revision } = (await api.call('GET', `/deployments/${swappedId}`)).body;
    expect(revision.eTag).toMatch(/-2"$/);
    expect(revision.sha256).toMatch(/^[0-9a-f]{64}$/);
    // Same size, other bytes, uploaded before any agent runs.
    const swapped = await zipBundle(files('swapped!'));
    expect(swapped.length).toBe(original.length);
    await api.s3.send(new PutObjectCommand({ Bucket, Key: 'swap/app.zip', Body: swapped }));

    agents = hosts.map((instanceId) => startAgent({ apiUrl: server.url, instanceId, stateDir, tags: '' }));
    const failed = await ended(swappedId);
    expect(failed.status).toBe('Failed');
    for (const id of hosts) {
      const instance = (await api.call('GET', `/deployments/${swappedId}/instances/${id}`)).body;
      const download = instance.events.find((e: { name: string }) => e.name === 'DownloadBundle');
      expect(download).toMatchObject({ status: 'Failed', errorCode: 'BundleIntegrity' });
    }

    const good = await deploy('swap/app.zip');
    expect((await ended(good)).status).toBe('Succeeded');
  }, 150_000);
});
