import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildAgent } from '../../agent/build.js';
import { publishAgent } from '../../agent/publish.js';
import { installCommand, systemdUnit, userDataScript } from '../../cli/agent-install.js';
import { UsageError } from '../../cli/api.js';
import { AGENT_VERSION } from '../../lib/domain/agent-presence.js';
import { agentChecksumKey, agentObjectKey } from '../../lib/domain/agent-package.js';
import { testS3Client } from '../support/api-harness.js';
import AgentPublishPlugin from '../../build/agent-publish.cjs';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'fleetline-user-data-'));
/** A bucket of the run's s3rver: the agent is published there as a deploy publishes it. */
const BUCKET = 'fleetline-test-artifacts';
const s3 = testS3Client();
let agentFile = '';
let server: Server;
let api = '';
const polls: Record<string, unknown>[] = [];

/**
 * Stand-ins for the host's tools: `aws s3 cp s3://… DEST` reads the object from
 * the run's s3rver (DEST - is stdout), `systemctl` notes what it was asked.
 */
function stubs(name: string, extra: Record<string, string> = {}): { bin: string; calls: string } {
  const bin = join(dir, name, 'bin');
  const calls = join(dir, name, 'systemctl.log');
  mkdirSync(bin, { recursive: true });
  const fetcher = join(bin, 'aws-s3-cp.cjs');
  writeFileSync(
    fetcher,
    `const [endpoint, source, dest] = process.argv.slice(2);
fetch(endpoint + '/' + source.slice('s3://'.length)).then(async (res) => {
  if (!res.ok) { console.error('fatal error: An error occurred (404) when calling the HeadObject operation: Not Found'); process.exit(1); }
  const body = Buffer.from(await res.arrayBuffer());
  if (dest === '-') process.stdout.write(body); else require('node:fs').writeFileSync(dest, body);
});
`,
  );
  const scripts = {
    aws: `#!/bin/sh\n[ "$1 $2" = "s3 cp" ] || exit 3\nexec "${process.execPath}" "${fetcher}" "${inject('s3Endpoint')}" "$3" "$4"\n`,
    systemctl: `#!/bin/sh\necho "$*" >> "${calls}"\n`,
    ...extra,
  };
  for (const [tool, text] of Object.entries(scripts)) {
    writeFileSync(join(bin, tool), text);
    chmodSync(join(bin, tool), 0o755);
  }
  return { bin, calls };
}

beforeAll(async () => {
  agentFile = await buildAgent(join(dir, 'built-agent.mjs'));
  await publishAgent(s3, BUCKET, readFileSync(agentFile));
  server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.url === '/agent/v1/poll') polls.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ assignment: null, pollAfterSeconds: 10 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  api = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}, 60_000);
afterAll(async () => {
  await new Promise((r) => server?.close(r));
  s3.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const text = async (key: string) => (await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToString());
const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

describe('the agent a deploy publishes', () => {
  it('lies under a versioned name in the artifact bucket with its SHA-256 beside it; the same build again writes nothing', async () => {
    const built = readFileSync(agentFile);
    expect(agentObjectKey(AGENT_VERSION)).toBe(`fleetline-agent/fleetline-agent-${AGENT_VERSION}.mjs`);
    expect(Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: agentObjectKey(AGENT_VERSION) }))).Body!.transformToByteArray())).toEqual(built);
    expect(await text(agentChecksumKey(AGENT_VERSION))).toBe(`${sha256(built)}\n`);
    expect(await publishAgent(s3, BUCKET, built)).toMatchObject({ uploaded: false, sha256: sha256(built) });
  });

  it('replaces a different build published under the same version, object and checksum together', async () => {
    const version = '0.0.3';
    await publishAgent(s3, BUCKET, Buffer.from('first build'), version);
    expect(await publishAgent(s3, BUCKET, Buffer.from('second build'), version)).toMatchObject({ uploaded: true });
    expect(await text(agentObjectKey(version))).toBe('second build');
    expect(await text(agentChecksumKey(version))).toBe(`${sha256('second build')}\n`);
  });
});

describe('the stack\'s deploy step that publishes the agent (build/agent-publish.cjs)', () => {
  class PluginError extends Error {
    constructor(message: string, readonly code: string) {
      super(message);
    }
  }
  /** osls as far as the plugin sees it after a deploy, with the SDK pointed at the run's s3rver. */
  async function afterDeploy(bucket: string) {
    const serverless = { getProvider: () => ({ getRegion: () => 'us-east-1' }), service: { provider: { environment: { ARTIFACT_BUCKET: bucket } } }, classes: { Error: PluginError } };
    const plugin = new AgentPublishPlugin(serverless, {});
    const saved = { ...process.env };
    Object.assign(process.env, { AWS_ENDPOINT_URL_S3: inject('s3Endpoint'), AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
    delete process.env.AWS_PROFILE;
    try {
      await plugin.hooks['after:deploy:deploy']();
    } finally {
      process.env = saved;
    }
  }

  it('builds the agent and publishes it under its version with its checksum, after every deploy', async () => {
    for (const key of [agentObjectKey(AGENT_VERSION), agentChecksumKey(AGENT_VERSION)]) await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));
    await afterDeploy(BUCKET);
    const body = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: agentObjectKey(AGENT_VERSION) }))).Body!.transformToByteArray());
    expect(body.subarray(0, 19).toString()).toBe('#!/usr/bin/env node');
    expect(await text(agentChecksumKey(AGENT_VERSION))).toBe(`${sha256(body)}\n`);
  }, 120_000);

  it('fails the deploy naming the bucket when the agent cannot be published', async () => {
    await expect(afterDeploy('fleetline-no-such-bucket')).rejects.toMatchObject({
      code: 'FLEETLINE_AGENT_PUBLISH',
      message: expect.stringContaining('could not be published to s3://fleetline-no-such-bucket/fleetline-agent/'),
    });
  }, 120_000);
});

describe('fleetline agent user-data', () => {
  it('installs the agent and its unit under a root, starts it, and leaves an agent that polls the API', async () => {
    const root = join(dir, 'root');
    const { bin, calls } = stubs('host');
    const script = userDataScript({ api, bucket: BUCKET, instanceId: 'onprem-1', tags: ['env=prod'] });
    const { stdout } = await run('sh', ['-c', script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FLEETLINE_ROOT: root } });
    expect(stdout).toContain(`agent ${AGENT_VERSION} installed and started`);

    const installed = join(root, 'opt/fleetline/fleetline-agent.mjs');
    expect(readFileSync(installed)).toEqual(readFileSync(agentFile));
    expect(statSync(installed).mode & 0o777).toBe(0o755);
    const unit = readFileSync(join(root, 'etc/systemd/system/fleetline-agent.service'), 'utf8');
    expect(unit).toBe(systemdUnit({ api, bucket: BUCKET, instanceId: 'onprem-1', tags: ['env=prod'] }));
    expect(unit).toMatch(/^Restart=always$/m);
    expect(unit).toMatch(/^ProtectKernelModules=yes$/m);
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toEqual(['daemon-reload', 'enable fleetline-agent', 'restart fleetline-agent']);

    // What systemd would start, run once from the install root: the agent polls the API it was given.
    const execStart = /^ExecStart=\/usr\/bin\/env node (\S+) (.*)$/m.exec(unit)!;
    const args = execStart[2]!.split(' ').map((a) => (a === '/var/lib/fleetline-agent' ? join(root, 'state') : a));
    await run(process.execPath, [join(root, execStart[1]!), ...args, '--once', '--principal', 'arn:aws:iam::111122223333:user/onprem-1'], { timeout: 30_000 });
    expect(polls).toContainEqual({ instanceId: 'onprem-1', agentVersion: AGENT_VERSION });
  }, 120_000);

  it('installs nothing and starts nothing when the object does not match its SHA-256 (the published one, or the one given)', async () => {
    const version = '0.0.9';
    await publishAgent(s3, BUCKET, readFileSync(agentFile), version);
    const published = sha256(readFileSync(agentFile));
    // Someone with write access to the bucket swaps the object and leaves its checksum.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: agentObjectKey(version), Body: '#!/usr/bin/env node\nconsole.log("not the agent")\n' }));
    const root = join(dir, 'root-tampered');
    const { bin, calls } = stubs('tampered');
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH}`, FLEETLINE_ROOT: root };
    const swapped = await run('sh', ['-c', userDataScript({ api, bucket: BUCKET, agentVersion: version, tags: [] })], { env }).catch((e) => e);
    expect(swapped.code).toBe(1);
    expect(swapped.stderr).toContain(`s3://${BUCKET}/${agentObjectKey(version)} has SHA-256 `);
    expect(swapped.stderr).toContain(`not ${published}: not installed`);
    // Pinned to another checksum, even an untouched object is refused.
    const pinned = await run('sh', ['-c', userDataScript({ api, bucket: BUCKET, sha256: 'f'.repeat(64), tags: [] })], { env }).catch((e) => e);
    expect(pinned.code).toBe(1);
    expect(pinned.stderr).toContain(`not ${'f'.repeat(64)}: not installed`);
    // A version never published is named.
    const missing = await run('sh', ['-c', userDataScript({ api, bucket: BUCKET, agentVersion: '9.9.9', tags: [] })], { env }).catch((e) => e);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`cannot fetch s3://${BUCKET}/${agentObjectKey('9.9.9')} (is agent 9.9.9 published? osls deploy publishes it)`);
    expect(existsSync(join(root, 'opt/fleetline/fleetline-agent.mjs'))).toBe(false);
    expect(existsSync(join(root, 'opt/fleetline/fleetline-agent.mjs.new'))).toBe(false);
    expect(existsSync(calls)).toBe(false);
    // The pinned checksum of the real build installs it.
    const { stdout } = await run('sh', ['-c', userDataScript({ api, bucket: BUCKET, sha256: published, tags: [] })], { env });
    expect(stdout).toContain('installed and started');
    expect(readFileSync(join(root, 'opt/fleetline/fleetline-agent.mjs'))).toEqual(readFileSync(agentFile));
  }, 60_000);

  it('stops, saying why, when Node.js is too old and cannot be installed, or the AWS CLI is missing', async () => {
    const oldNode = stubs('old-node', { node: '#!/bin/sh\necho 18\n' });
    const script = userDataScript({ api, bucket: 'fleetline-prod-artifacts', tags: [] });
    const env = { FLEETLINE_ROOT: join(dir, 'root-old') };
    const failed = await run('/bin/sh', ['-c', script], { env: { ...env, PATH: `${oldNode.bin}:/nonexistent` } }).catch((e) => e);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain('no Node.js 20 or later, and no dnf or apt-get to install it');

    const noAws = join(dir, 'no-aws');
    mkdirSync(noAws);
    writeFileSync(join(noAws, 'node'), `#!/bin/sh\nexec "${process.execPath}" "$@"\n`);
    chmodSync(join(noAws, 'node'), 0o755);
    const missing = await run('/bin/sh', ['-c', script], { env: { ...env, PATH: `${noAws}:/nonexistent` } }).catch((e) => e);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`the AWS CLI is needed to fetch the agent from s3://fleetline-prod-artifacts/fleetline-agent/fleetline-agent-${AGENT_VERSION}.mjs`);
  });

  it('refuses any value that could break out of the script or the unit (quotes, $(), newlines, %, spaces)', () => {
    const hostile = fc.string({ minLength: 1, maxLength: 20 }).filter((s) => !/^[A-Za-z0-9._~:/@+=,-]+$/.test(s));
    fc.assert(
      fc.property(hostile, fc.constantFrom('api', 'instanceId', 'tag'), (value, where) => {
        const options = {
          api: where === 'api' ? `https://api.example.com/${value}` : 'https://api.example.com',
          bucket: 'fleetline-prod-artifacts',
          instanceId: where === 'instanceId' ? value : undefined,
          tags: where === 'tag' ? [`env=${value}`] : [],
        };
        expect(() => userDataScript(options)).toThrow(UsageError);
        expect(() => installCommand(options)).toThrow(UsageError);
      }),
    );
    expect(() => userDataScript({ api: 'http://api.example.com', bucket: 'fleetline-prod-artifacts', tags: [] })).toThrow(/https/);
    for (const agentVersion of ['1.2', '1.2.3; rm -rf /', '$(id)']) expect(() => userDataScript({ api: 'https://a.example.com', bucket: 'fleetline-prod-artifacts', agentVersion, tags: [] })).toThrow(UsageError);
    for (const sha of ['F'.repeat(64), 'a'.repeat(63), `${'a'.repeat(64)}; id`]) expect(() => installCommand({ api: 'https://a.example.com', bucket: 'fleetline-prod-artifacts', sha256: sha, tags: [] })).toThrow(UsageError);
  });

  it('prints the same install as one command for a running host', async () => {
    const options = { api, bucket: 'fleetline-prod-artifacts', tags: [] };
    const command = installCommand(options);
    expect(command).toMatch(/^echo [A-Za-z0-9+/=]+ \| base64 -d \| sudo sh$/);
    const decoded = Buffer.from(command.split(' ')[1]!, 'base64').toString('utf8');
    expect(decoded).toBe(userDataScript(options));
  });
});
