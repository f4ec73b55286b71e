import { type IncomingHttpHeaders, type Server, createServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ApiClient } from '../../agent/api-client.js';

let server: Server;
let url: string;
const seen: { headers: IncomingHttpHeaders; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"assignment":null,"pollAfterSeconds":10}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
afterAll(async () => {
  vi.unstubAllEnvs();
  await new Promise((r) => server.close(r));
});

describe('the agent signs its calls', () => {
  it('with SigV4 for execute-api, from the default credential chain', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIAAGENTEXAMPLE');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'agent-secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'agent-session-token');
    const answer = await new ApiClient(url, { kind: 'sigv4', region: 'eu-west-1' }).post('/agent/v1/poll', { instanceId: 'i-0abc' });
    expect(answer).toEqual({ status: 200, body: { assignment: null, pollAfterSeconds: 10 } });
    const { headers, body } = seen.at(-1)!;
    expect(headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAAGENTEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/);
    expect(headers['x-amz-security-token']).toBe('agent-session-token');
    expect(headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(headers['x-fleetline-principal']).toBeUndefined();
    expect(JSON.parse(body)).toEqual({ instanceId: 'i-0abc' });
  });

  it('with the principal header in local mode, and no signature', async () => {
    await new ApiClient(url, { kind: 'local', principal: 'arn:aws:sts::000000000000:assumed-role/fleetline-agent/local-1' }).post('/agent/v1/poll', {});
    const { headers } = seen.at(-1)!;
    expect(headers['x-fleetline-principal']).toBe('arn:aws:sts::000000000000:assumed-role/fleetline-agent/local-1');
    expect(headers.authorization).toBeUndefined();
  });
});
