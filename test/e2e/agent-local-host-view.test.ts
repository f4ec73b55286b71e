import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiHandler } from '../../lib/api/handler.js';
import { type DevServer, startDevServer } from '../../local/dev-server.js';
import { waitFor } from '../../local/ports.js';
import { useApi } from '../support/api-harness.js';
import { startAgent } from '../support/agent-process.js';
import { script, zipBundle } from '../support/bundles.js';
import { waitForDeploymentEnd } from '../support/deployment-end.js';

const api = useApi();
const Bucket = 'fleetline-test-artifacts';
const stateDir = mkdtempSync(join(tmpdir(), 'fleetline-host-view-'));
// A destination that does not exist on this machine: the hooks must find it all the same, and nothing may appear there.
const destination = `/var/www/fleetline-${process.pid}-${Date.now()}`;
let server: DevServer;
const agents: ReturnType<typeof startAgent>[] = [];

beforeAll(async () => {
  server = await startDevServer(createApiHandler(api.deps), 0);
  await api.call('PUT', '/applications/view', { body: { revisionSources: [{ bucket: Bucket, prefix: 'view/' }] } });
  for (const host of ['ns', 'fallback']) {
    const group = await api.call('PUT', `/applications/view/groups/${host}`, { body: { targets: { onPremisesTagSet: [[{ key: 'view', value: host, type: 'KEY_AND_VALUE' }]] } } });
    expect(group.status).toBe(201);
    await api.call('PUT', `/instances/view-${host}`, { body: { tags: [{ key: 'view', value: host }] } });
  }
  const cdScript = script(`started=$(pwd)\ncd ${destination}\necho "$started" > cwd.txt\ntest -f index.html\nls > listing.txt\nid -u > uid.txt\necho "$FLEETLINE_HOST_ROOT" > host-root.txt`);
  const viaVariable = script(`cd "$FLEETLINE_HOST_ROOT${destination}"\ntest -f index.html\nls > listing.txt\nif cd ${destination} 2>/dev/null; then echo seen > ../seen.txt; fi`);
  for (const [key, hook] of [['view/cd.zip', cdScript], ['view/variable.zip', viaVariable]] as const) {
    const body = await zipBundle([
      { path: 'appspec.yml', content: `version: 0.0\nos: linux\nfiles:\n  - source: index.html\n    destination: ${destination}\nhooks:\n  AfterInstall:\n    - location: hook.sh\n` },
      { path: 'index.html', content: 'installed' },
      { path: 'hook.sh', content: hook, mode: 0o755 },
    ]);
    await api.s3.send(new PutObjectCommand({ Bucket, Key: key, Body: body }));
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop()));
  await server?.stop();
  rmSync(stateDir, { recursive: true, force: true });
}, 60_000);

async function deploy(group: string, key: string) {
  const res = await api.call('POST', '/deployments', { body: { application: 'view', group, revision: { bucket: Bucket, key } } });
  expect(res.status).toBe(201);
  const id = res.body.deploymentId as string;
  return waitForDeploymentEnd(id, async () => (await api.call('GET', `/deployments/${id}`)).body, { timeoutMs: 60_000 });
}

describe('local mode: hooks that cd into their appspec destination', () => {
  it('find the installed files there, in a private mount namespace over the host folder, and nothing lands outside it', async () => {
    agents.push(startAgent({ apiUrl: server.url, instanceId: 'view-ns', stateDir, tags: '' }));
    const deployment = await deploy('ns', 'view/cd.zip');
    expect(deployment.status).toBe('Succeeded');
    const installed = join(stateDir, 'hosts', 'view-ns', destination);
    expect(readFileSync(join(installed, 'listing.txt'), 'utf8')).toContain('index.html');
    expect(readFileSync(join(installed, 'uid.txt'), 'utf8').trim()).toBe(String(process.getuid?.()));
    expect(readFileSync(join(installed, 'host-root.txt'), 'utf8').trim()).toBe(join(stateDir, 'hosts', 'view-ns'));
    // The script still starts where hooks start (a local host's "/", its folder, as CodeDeploy's agent starts them from /), not where the mounts were made.
    expect(readFileSync(join(installed, 'cwd.txt'), 'utf8').trim()).toBe(join(stateDir, 'hosts', 'view-ns'));
    expect(existsSync(destination)).toBe(false);
    expect(agents[0]?.output()).not.toContain('private mount namespace');
  }, 120_000);

  it('where the namespace cannot be made, warn once and name the host folder in FLEETLINE_HOST_ROOT', async () => {
    process.env.FLEETLINE_UNSHARE = join(stateDir, 'no-unshare-here');
    try {
      agents.push(startAgent({ apiUrl: server.url, instanceId: 'view-fallback', stateDir, tags: '' }));
    } finally {
      delete process.env.FLEETLINE_UNSHARE;
    }
    const agent = agents[1] as ReturnType<typeof startAgent>;
    await waitFor('the fallback warning', async () => agent.output().includes('private mount namespace'), { timeoutMs: 30_000, intervalMs: 100 });
    const deployment = await deploy('fallback', 'view/variable.zip');
    expect(deployment.status).toBe('Succeeded');
    const installed = join(stateDir, 'hosts', 'view-fallback', destination);
    expect(readFileSync(join(installed, 'listing.txt'), 'utf8')).toContain('index.html');
    // The destination itself is not there for the hook: the warning says why.
    expect(existsSync(join(installed, '..', 'seen.txt'))).toBe(false);
    const warnings = agent.output().split('\n').filter((l) => l.includes('private mount namespace'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`$FLEETLINE_HOST_ROOT (${join(stateDir, 'hosts', 'view-fallback')})`);
  }, 120_000);
});
