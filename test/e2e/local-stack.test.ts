import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../local/ports.js';
import { type LocalFleetline, isListening, pickPorts, startLocalFleetline } from '../support/local-process.js';
import { repoRoot } from '../support/packaged-template.js';

const run = promisify(execFile);

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
    running = await startLocalFleetline(stateDir, ports, { FLEETLINE_LOCAL_AGENTS: '1' });
    const api = running.apiUrl;
    expect(running.output()).toContain(`state in ${stateDir}/`);
    expect(running.output()).toContain('local-1 (tags env=local, fleet=local)');

    expect(await http('GET', `${api}/health`)).toEqual({ status: 200, body: { status: 'ok' } });
    expect((await http('PUT', `${api}/applications/web`, { description: 'first' })).status).toBe(201);
    const ec2 = { targets: { ec2TagSet: [[{ key: 'Name', value: 'web', type: 'KEY_AND_VALUE' }]] } };
    const onPrem = { targets: { onPremisesTagSet: [[{ key: 'env', value: 'local', type: 'KEY_AND_VALUE' }]] } };
    expect((await http('PUT', `${api}/applications/web/groups/staging`, ec2)).status).toBe(201);
    expect((await http('PUT', `${api}/applications/web/groups/local`, onPrem)).status).toBe(201);
    // local-1 was registered by npm start; retagging it answers 200.
    expect((await http('PUT', `${api}/instances/local-1`, { tags: [{ key: 'env', value: 'local' }] })).status).toBe(200);
    const bad = await http('PUT', `${api}/applications/web/groups/bad`, { targets: { ec2TagSet: 'all' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details).toEqual([{ path: '$.targets.ec2TagSet', message: expect.stringMatching(/array of tag groups/) }]);

    // The local identity header selects another principal; a malformed one is refused.
    expect((await http('GET', `${api}/applications`, undefined, { 'x-fleetline-principal': 'root' })).status).toBe(400);

    // npm run upload finds the running stack through its state dir: no S3_PORT needed.
    const bundle = join(stateDir, '..', `${stateDir.split('/').pop()}-bundle.zip`);
    writeFileSync(bundle, 'zip');
    const env = { ...process.env, FLEETLINE_STATE_DIR: stateDir, S3_PORT: '' };
    const upload = await run(process.execPath, ['--import', 'tsx', 'local/upload.ts', bundle, 'web/app 1.zip'], { cwd: repoRoot, env });
    rmSync(bundle);
    expect(upload.stdout).toContain('uploaded');
    const s3 = new S3Client({
      endpoint: `http://127.0.0.1:${ports.s3}`,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    expect((await s3.send(new HeadObjectCommand({ Bucket: 'fleetline-artifacts', Key: 'web/app 1.zip' }))).ContentLength).toBe(3);
    s3.destroy();

    // npm run reset honours FLEETLINE_STATE_DIR and refuses while the stack runs from it.
    const reset = () => run(process.execPath, ['--import', 'tsx', 'local/reset.ts'], { cwd: repoRoot, env }).catch((e: { code: number; stderr: string }) => e);
    expect(await reset()).toMatchObject({ code: 1, stderr: expect.stringContaining('stop it first') });

    expect(await running.stop()).toBe(0);
    expect(running.output()).not.toMatch(/NodeVersionSupportWarning|MaxListenersExceeded/);
    expect(readFileSync(join(stateDir, 'agents', 'local-1.log'), 'utf8')).not.toMatch(/Warning/);
    await waitFor('every local server to close', async () => {
      const open = await Promise.all([ports.api, ports.s3, ports.dynamoDb].map(isListening));
      return open.every((o) => !o);
    });

    // The agent starts again, but local-1 keeps the tags set through the API.
    running = await startLocalFleetline(stateDir, ports, { FLEETLINE_LOCAL_AGENTS: '1' });
    expect(running.output()).toContain('local-1 (tags kept from the last run)');
    const groups = await http('GET', `${api}/applications/web/groups`);
    expect(groups.body.items.map((g: { name: string }) => g.name)).toEqual(['local', 'staging']);
    expect((await http('GET', `${api}/instances/local-1`)).body.tags).toEqual([{ key: 'env', value: 'local' }]);
    expect((await http('GET', `${api}/applications/web`)).body.description).toBe('first');
    expect(await running.stop()).toBe(0);
    running = undefined;
    const stranger = mkdtempSync(join(tmpdir(), 'fleetline-not-state-'));
    writeFileSync(join(stranger, 'thesis.tex'), 'precious');
    const refused = await run(process.execPath, ['--import', 'tsx', 'local/reset.ts'], { cwd: repoRoot, env: { ...env, FLEETLINE_STATE_DIR: stranger } }).catch((e: { code: number; stderr: string }) => e);
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('thesis.tex') });
    expect(readFileSync(join(stranger, 'thesis.tex'), 'utf8')).toBe('precious');
    rmSync(stranger, { recursive: true, force: true });
    expect(await reset()).toMatchObject({ stdout: expect.stringContaining(`removed ${stateDir}`) });
    expect(existsSync(stateDir)).toBe(false);
  }, 180_000);
});
