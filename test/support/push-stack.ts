import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll } from 'vitest';
import type { LocalStack } from '../../local/stack.js';
import { waitFor } from '../../local/ports.js';
import { startAgent } from './agent-process.js';
import { type BundleFile, zipBundle } from './bundles.js';
import { pickPorts } from './local-process.js';
import { waitForDeploymentEnd } from './deployment-end.js';

/**
 * The local stack in this test process (so the test can cut the channel) with
 * `agents` real agent processes connected to its control channel, which they
 * learn from the API's poll answers. `pollSeconds`
 * is the server's idle poll interval: what agents fall back to without the channel.
 */
export function usePushStack(options: { agents: number; pollSeconds: number; agentArgs?: string[] }) {
  const state = {} as {
    stack: LocalStack;
    dir: string;
    s3: S3Client;
    agents: ReturnType<typeof startAgent>[];
    instanceIds: string[];
  };
  beforeAll(async () => {
    state.dir = mkdtempSync(join(tmpdir(), 'fleetline-push-'));
    process.env.AGENT_POLL_INTERVAL_SECONDS = String(options.pollSeconds);
    const ports = await pickPorts();
    const { startLocalStack } = await import('../../local/stack.js');
    state.stack = await startLocalStack({ apiPort: ports.api, s3Port: ports.s3, dynamoDbPort: ports.dynamoDb, stateDir: state.dir, persist: false, agents: 0 });
    state.s3 = new S3Client({ endpoint: state.stack.s3Endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
    const tag = `push-${Date.now()}`;
    state.instanceIds = Array.from({ length: options.agents }, (_, i) => `${tag}-${i + 1}`);
    state.agents = state.instanceIds.map((instanceId) =>
      startAgent({
        apiUrl: state.stack.apiUrl,
        instanceId,
        stateDir: state.dir,
        tags: `fleet=${tag}`,
        // No --channel: agents open the channel the API names in its poll answers.
        extraArgs: options.agentArgs ?? [],
      }),
    );
    await waitFor('every agent connected to the channel', async () => state.stack.channel.connectionCount() === options.agents, {
      timeoutMs: 60_000,
      intervalMs: 100,
    });
    // Agents never choose their own targeting tags: an administrator sets them.
    for (const instanceId of state.instanceIds) {
      const put = await http('PUT', `/instances/${instanceId}`, { tags: [{ key: 'fleet', value: tag }] });
      if (put.status >= 300) throw new Error(`instance ${instanceId}: HTTP ${put.status}`);
    }
    await http('PUT', '/applications/push');
    const group = await http('PUT', '/applications/push/groups/prod', {
      targets: { onPremisesTagSet: [[{ key: 'fleet', value: tag, type: 'KEY_AND_VALUE' }]] },
      deploymentConfig: 'OneAtATime',
    });
    if (group.status !== 201) throw new Error(`group: HTTP ${group.status}`);
  }, 120_000);

  afterAll(async () => {
    await Promise.all((state.agents ?? []).map((a) => a.stop()));
    state.s3?.destroy();
    await state.stack?.stop();
    rmSync(state.dir, { recursive: true, force: true });
  }, 60_000);

  async function http(method: string, path: string, body?: unknown) {
    const res = await fetch(`${state.stack.apiUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  }

  async function deploy(files: BundleFile[]): Promise<string> {
    const key = `push/app-${Date.now()}.zip`;
    await state.s3.send(new PutObjectCommand({ Bucket: state.stack.bucket, Key: key, Body: await zipBundle(files) }));
    const created = await http('POST', '/deployments', { application: 'push', group: 'prod', revision: { bucket: state.stack.bucket, key } });
    if (created.status !== 201) throw new Error(`deploy: HTTP ${created.status} ${JSON.stringify(created.body)}`);
    return created.body.deploymentId;
  }

  async function finished(deploymentId: string, timeoutMs = 60_000) {
    return waitForDeploymentEnd(deploymentId, async () => (await http('GET', `/deployments/${deploymentId}`)).body, { timeoutMs });
  }

  return { state, http, deploy, finished };
}
