import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { type IncomingMessage, type Server, createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../../agent/api-client.js';
import { runAssignment } from '../../agent/executor.js';
import { runAgent } from '../../agent/main.js';
import { parseAgentArgs } from '../../agent/cli-options.js';
import { identityMap } from '../../agent/install.js';
import { AgentState } from '../../agent/state.js';
import { pollAnswerSchema, readAnswer } from '../../lib/domain/agent-wire.js';
import { pollAnswerFor } from '../support/agent-assignment.js';
import { zipBundle } from '../support/bundles.js';

const dir = mkdtempSync(join(tmpdir(), 'fleetline-agent-wire-'));
const PRINCIPAL = 'arn:aws:sts::000000000000:assumed-role/fleetline-agent/wire-1';
let server: Server;
let base = '';
let bundle: Buffer = Buffer.alloc(0);
let pollAnswer: unknown = {};
const reports: Record<string, unknown>[] = [];

const readBody = async (req: IncomingMessage) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
};

beforeAll(async () => {
  bundle = await zipBundle([{ path: 'appspec.yml', content: 'version: 0.0\nos: linux\n' }]);
  server = createServer(async (req, res) => {
    const body = await readBody(req);
    const json = (status: number, value: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (req.url === '/bundle') res.writeHead(200).end(bundle);
    else if (req.url === '/log') res.writeHead(200).end();
    else if (req.url === '/agent/v1/report') {
      reports.push(JSON.parse(body));
      json(200, { action: 'continue', instanceStatus: 'InProgress', duplicate: false });
    } else if (req.url === '/agent/v1/poll') json(200, JSON.parse(body).heartbeat ? { assignment: null, pollAfterSeconds: 10 } : pollAnswer);
    else json(404, {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  rmSync(dir, { recursive: true, force: true });
});

/** A poll answer as the server builds it, for a bundle it describes with `expected`. */
const serverAnswer = (deploymentId: string, expected: { size: number; sha256: string }) => pollAnswerFor(base, deploymentId, ['DownloadBundle'], expected);

async function download(deploymentId: string, expected: { size: number; sha256: string }) {
  const { assignment } = readAnswer(pollAnswerSchema, serverAnswer(deploymentId, expected), 'poll answer');
  if (!assignment) throw new Error('expected an assignment');
  const api = new ApiClient(base, { kind: 'local', principal: PRINCIPAL });
  await runAssignment(assignment, { api, instanceId: 'wire-1', state: new AgentState(join(dir, 'state')), map: identityMap, heartbeatMs: 1000, maxBundleBytes: 1e7 });
  const events = reports.filter((r) => r.deploymentId === deploymentId).flatMap((r) => r.done as Record<string, unknown>[]);
  return events.filter((e) => e.event === 'DownloadBundle').at(-1);
}

describe('the agent verifies exactly what the server sends', () => {
  const sha256 = () => createHash('sha256').update(bundle).digest('hex');

  it('accepts the bundle the server describes', async () => {
    expect(await download('d-WIREOK000', { size: bundle.length, sha256: sha256() })).toMatchObject({ status: 'Succeeded' });
  });

  it('rejects a bundle whose size is not the one sent, as BundleIntegrity', async () => {
    expect(await download('d-WIRESIZE0', { size: bundle.length + 1, sha256: sha256() })).toMatchObject({
      status: 'Failed', errorCode: 'BundleIntegrity', message: expect.stringMatching(/bytes/),
    });
  });

  it('rejects a bundle whose SHA-256 is not the one sent, as BundleIntegrity', async () => {
    expect(await download('d-WIREHASH0', { size: bundle.length, sha256: '0'.repeat(64) })).toMatchObject({
      status: 'Failed', errorCode: 'BundleIntegrity', message: expect.stringMatching(/SHA-256/),
    });
  });
});

describe('poll answers that do not match the protocol', () => {
  it('are refused with a clear log line, and the agent keeps running', async () => {
    const malformed = serverAnswer('d-WIREBAD00', { size: 1, sha256: 'not-a-hash' });
    pollAnswer = { ...malformed, assignment: { ...malformed.assignment, bundle: { url: 'file:///etc/passwd', bundleType: 'rar' } } };
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
    const shutdown = new AbortController();
    const options = parseAgentArgs(['run', '--api', base, '--instance-id', 'wire-1', '--principal', PRINCIPAL, '--state-dir', join(dir, 'state-bad')]);
    const running = runAgent(options, shutdown.signal);
    try {
      await vi.waitFor(() => expect(lines.some((l) => /poll answer does not match the agent protocol/.test(l))).toBe(true), { timeout: 10_000, interval: 50 });
    } finally {
      shutdown.abort();
      await running;
      spy.mockRestore();
    }
    const line = lines.find((l) => /does not match/.test(l)) ?? '';
    expect(line).toContain('$.assignment.bundle.url');
    expect(line).toContain('$.assignment.bundle.bundleType');
    expect(reports.filter((r) => r.deploymentId === 'd-WIREBAD00')).toEqual([]); // nothing was run
  });
});
