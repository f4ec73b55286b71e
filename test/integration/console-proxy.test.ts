import { type IncomingHttpHeaders, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { buildConsole } from '../../console/build.js';
import { FleetlineApi } from '../../cli/api.js';
import { type ConsoleServer, startConsoleServer } from '../../cli/console-server.js';
import { CONSOLE_TOKEN_HEADER } from '../../lib/api/console-operations.js';

/**
 * `fleetline console` against an API in AWS: the page and the API's operations
 * on 127.0.0.1, each call passed on signed with the person's credentials. The
 * "AWS" API here is a server on 127.0.0.2 (not loopback to the CLI, so it signs)
 * that records what reached it.
 */
const ACCESS_KEY = 'AKIDCONSOLEPROXYTEST';
const SECRET_KEY = 'console-proxy-secret-never-sent';
const work = mkdtempSync(join(tmpdir(), 'fleetline-console-proxy-'));
const received: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];
const upstream = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    res.writeHead(req.method === 'POST' ? 202 : 200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: [], echoed: body }));
  });
});
const saved = { ...process.env };
let proxy: ConsoleServer;
let apiUrl: string;
/** The run's token, as the page holds it: from the address fleetline console printed. */
let token: string;
const withToken = (headers: Record<string, string> = {}) => ({ ...headers, [CONSOLE_TOKEN_HEADER]: token });

beforeAll(async () => {
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.2', resolve));
  apiUrl = `http://127.0.0.2:${(upstream.address() as AddressInfo).port}`;
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: ACCESS_KEY, AWS_SECRET_ACCESS_KEY: SECRET_KEY, AWS_EC2_METADATA_DISABLED: 'true' });
  delete process.env.AWS_SESSION_TOKEN;
  const consoleDir = await buildConsole(join(work, 'console'));
  proxy = await startConsoleServer(new FleetlineApi({ apiUrl, region: 'eu-west-1' }), 0, consoleDir);
  token = new URL(proxy.pageUrl).searchParams.get('token') ?? '';
});

afterAll(async () => {
  await proxy?.stop();
  await new Promise((resolve) => upstream.close(resolve));
  process.env = saved;
  rmSync(work, { recursive: true, force: true });
});

beforeEach(() => {
  received.length = 0;
});

/** A request with headers fetch would not let a test set (Host). */
function raw(path: string, headers: Record<string, string>): Promise<number> {
  const { port } = new URL(proxy.url);
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject).end();
  });
}

describe('fleetline console against an API in AWS', () => {
  it('answers 502 rather than relay what is not the API\'s JSON (a wrong --api), and refuses a body on a read', async () => {
    const html = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<script>alert(1)</script>'));
    await new Promise<void>((resolve) => html.listen(0, '127.0.0.2', resolve));
    const wrong = await startConsoleServer(new FleetlineApi({ apiUrl: `http://127.0.0.2:${(html.address() as AddressInfo).port}`, region: 'eu-west-1' }), 0, join(work, 'console'));
    try {
      const res = await fetch(`${wrong.url}/applications`, { headers: { [CONSOLE_TOKEN_HEADER]: new URL(wrong.pageUrl).searchParams.get('token') ?? '' } });
      expect(res.status).toBe(502);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.text()).not.toContain('<script>');
    } finally {
      await wrong.stop();
      await new Promise((resolve) => html.close(resolve));
    }
    const { port } = new URL(proxy.url);
    const withBody = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/applications', method: 'GET', headers: withToken({ 'content-type': 'application/json', 'content-length': '2' }) }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      }).on('error', reject).end('{}');
    });
    expect(withBody).toBe(400);
    expect(received).toEqual([]);
  });

  it('serves the page itself, passing nothing on', async () => {
    const page = await fetch(`${proxy.url}/console/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<main id="main"');
    expect(received).toEqual([]);
  });

  it('passes an operation on signed with SigV4 for execute-api in the API\'s region, and relays the answer', async () => {
    const res = await fetch(`${proxy.url}/applications?limit=5`, { headers: withToken() });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ items: [] });
    expect(received).toHaveLength(1);
    const [call] = received;
    expect(call).toMatchObject({ method: 'GET', url: '/applications?limit=5' });
    expect(call!.headers.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${ACCESS_KEY}/\\d{8}/eu-west-1/execute-api/aws4_request, SignedHeaders=\\S+, Signature=[0-9a-f]{64}$`));
    expect(call!.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(JSON.stringify(call!.headers)).not.toContain(SECRET_KEY);
  });

  it('passes a write on with its JSON body, signed over that body', async () => {
    const res = await fetch(`${proxy.url}/deployments/d-ABCDEFGHI/stop`, { method: 'POST', headers: withToken({ 'content-type': 'application/json' }), body: '{"rollback":true}' });
    expect(res.status).toBe(202);
    expect(received).toMatchObject([{ method: 'POST', url: '/deployments/d-ABCDEFGHI/stop', body: '{"rollback":true}' }]);
    expect(received[0]!.headers.authorization).toContain('execute-api/aws4_request');
  });

  it('prints an address holding a token made for this run', () => {
    expect(proxy.pageUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/console\/\?token=[\w-]{32}$/);
  });

  it('refuses, passing nothing on, a call without this run\'s token: another user or process on the machine', async () => {
    const { port } = new URL(proxy.url);
    // A plain local client: the right Host, no Origin, JSON, but no token (or another one).
    expect(await raw('/applications', { host: `127.0.0.1:${port}` })).toBe(401);
    expect(await raw('/applications', { host: `127.0.0.1:${port}`, [CONSOLE_TOKEN_HEADER]: 'guessed' })).toBe(401);
    expect(await raw('/applications', { host: `127.0.0.1:${port}`, [CONSOLE_TOKEN_HEADER]: `${token.slice(0, -1)}x` })).toBe(401);
    const write = await fetch(`${proxy.url}/deployments/d-ABCDEFGHI/stop`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(write.status).toBe(401);
    expect(received).toEqual([]);
  });

  it('refuses, passing nothing on, what another page or host could send through it with the person\'s credentials', async () => {
    const { port } = new URL(proxy.url);
    expect(await raw('/applications', withToken({ origin: 'https://evil.example' }))).toBe(403);
    expect(await raw('/applications', withToken({ host: `attacker.example:${port}` }))).toBe(403);
    expect(await raw('/applications', withToken({ 'sec-fetch-site': 'cross-site' }))).toBe(403);
    const form = await fetch(`${proxy.url}/deployments/d-ABCDEFGHI/stop`, { method: 'POST', headers: withToken({ 'content-type': 'text/plain' }), body: '{}' });
    expect(form.status).toBe(415);
    expect(received).toEqual([]);
  });

  it('passes on only the operations the console calls: not credentials, access rules, the agents\' routes or any other path', async () => {
    const calls = [
      ['POST', '/credentials'], ['GET', '/credentials/audit'], ['PUT', '/access-rules/r1'], ['DELETE', '/access-rules/r1'], ['PUT', '/applications/a'],
      ['POST', '/agent/v1/poll'], ['GET', '/agent/v1/poll'], ['GET', '/admin'], ['GET', '/applications/a/b/c/d'], ['DELETE', '/deployments/d-ABCDEFGHI'],
    ];
    for (const [method, path] of calls) {
      const write = method === 'POST' || method === 'PUT';
      const res = await fetch(`${proxy.url}${path}`, { method, headers: withToken(write ? { 'content-type': 'application/json' } : {}), ...(write ? { body: '{}' } : {}) });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    expect(received).toEqual([]);
  });

  it('answers 502 naming where credentials are looked for when the person has none, and passes nothing on', async () => {
    const empty = join(work, 'empty');
    writeFileSync(empty, '');
    const before = { ...process.env };
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    Object.assign(process.env, { AWS_CONFIG_FILE: empty, AWS_SHARED_CREDENTIALS_FILE: empty, AWS_PROFILE: 'nobody-here' });
    const bare = await startConsoleServer(new FleetlineApi({ apiUrl, region: 'eu-west-1' }), 0, join(work, 'console'));
    try {
      const res = await fetch(`${bare.url}/applications`, { headers: { [CONSOLE_TOKEN_HEADER]: new URL(bare.pageUrl).searchParams.get('token') ?? '' } });
      expect(res.status).toBe(502);
      expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/No AWS credentials to sign requests to .* AWS_ACCESS_KEY_ID/);
      expect(received).toEqual([]);
    } finally {
      await bare.stop();
      process.env = before;
    }
  });
});
