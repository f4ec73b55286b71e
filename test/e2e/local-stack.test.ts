import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../local/ports.js';
import { type LocalFleetline, isListening, pickPorts, startLocalFleetline } from '../support/local-process.js';

const stateDir = mkdtempSync(join(tmpdir(), 'fleetline-e2e-'));
let running: LocalFleetline | undefined;

afterAll(async () => {
  await running?.stop();
  rmSync(stateDir, { recursive: true, force: true });
});

async function http(method: string, url: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('npm start: the local stack as a newcomer uses it', () => {
  it('serves the API on loopback, keeps state across a restart, and leaves no process behind', async () => {
    const ports = await pickPorts();
    running = await startLocalFleetline(stateDir, ports);
    const api = running.apiUrl;
    expect(running.output()).toContain(`curl -s -X PUT ${api}/applications/web`);

    expect(await http('GET', `${api}/health`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await http('PUT', `${api}/applications/web`, { description: 'first' })).status).toBe(201);
    const ec2 = { targets: { ec2TagSet: [[{ key: 'Name', value: 'web', type: 'KEY_AND_VALUE' }]] } };
    const onPrem = { targets: { onPremisesTagSet: [[{ key: 'env', value: 'local', type: 'KEY_AND_VALUE' }]] } };
    expect((await http('PUT', `${api}/applications/web/groups/staging`, ec2)).status).toBe(201);
    expect((await http('PUT', `${api}/applications/web/groups/local`, onPrem)).status).toBe(201);
    expect((await http('PUT', `${api}/instances/local-1`, { tags: [{ key: 'env', value: 'local' }] })).status).toBe(201);
    const bad = await http('PUT', `${api}/applications/web/groups/bad`, { targets: { ec2TagSet: 'all' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([{ path: '$.targets.ec2TagSet', message: expect.stringMatching(/array of tag groups/) }]);

    // The local identity header selects another principal; a malformed one is refused.
    expect((await http('GET', `${api}/applications`, undefined, { 'x-fleetline-principal': 'root' })).status).toBe(400);

    // An upload reaches the artifact bucket (its notification goes to the artifacts function).
    const s3 = new S3Client({
      endpoint: `http://127.0.0.1:${ports.s3}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    await s3.send(new PutObjectCommand({ Bucket: 'fleetline-artifacts', Key: 'web/app 1.zip', Body: 'zip' }));
    s3.destroy();

    expect(await running.stop()).toBe(0);
    await waitFor('every local server to close', async () => {
      const open = await Promise.all([ports.api, ports.s3, ports.dynamoDb].map(isListening));
      return open.every((o) => !o);
    });

    running = await startLocalFleetline(stateDir, ports);
    const groups = await http('GET', `${api}/applications/web/groups`);
    expect(groups.body.items.map((g: { name: string }) => g.name)).toEqual(['local', 'staging']);
    expect((await http('GET', `${api}/instances/local-1`)).body.tags).toEqual([{ key: 'env', value: 'local' }]);
    expect((await http('GET', `${api}/applications/web`)).body.description).toBe('first');
  }, 180_000);
});
