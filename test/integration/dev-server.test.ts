import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DevServer, startDevServer } from '../../local/dev-server.js';

/**
 * A web page in the developer's browser attacking the local API (which acts as
 * the local admin): through DNS rebinding, a cross-site fetch, or a form POST.
 * None of these may reach the API handler.
 */
let server: DevServer;
let port = 0;
const reached: string[] = [];

beforeAll(async () => {
  server = await startDevServer(async (event) => {
    reached.push(`${event.requestContext.http.method} ${event.rawPath}`);
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: '{}' };
  }, 0);
  port = Number(new URL(server.url).port);
});
afterAll(async () => server?.stop());

function send(method: string, path: string, headers: Record<string, string>, body = ''): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, setHost: false }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => {
        let body: unknown;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          body = text;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('local dev server: only local, same-origin, JSON requests reach the API', () => {
  const host = () => `127.0.0.1:${port}`;
  const hostile: [string, () => [string, string, Record<string, string>, string?], number][] = [
    ['a rebound DNS name in Host', () => ['POST', '/executions/e-1/stop', { host: `evil.example:${port}`, 'content-type': 'application/json' }], 403],
    ['the right name on another port', () => ['GET', '/applications', { host: 'localhost:1' }], 403],
    // Node's HTTP server itself answers 400 to an HTTP/1.1 request without Host.
    ['no Host at all', () => ['GET', '/applications', {}], 400],
    ['a cross-site Origin', () => ['POST', '/executions/e-1/stop', { host: host(), origin: 'http://evil.example', 'content-type': 'application/json' }], 403],
    ['a null Origin (sandboxed frame)', () => ['POST', '/executions/e-1/stop', { host: host(), origin: 'null', 'content-type': 'application/json' }], 403],
    ['Sec-Fetch-Site: cross-site', () => ['GET', '/credentials/audit', { host: host(), 'sec-fetch-site': 'cross-site' }], 403],
    ['an empty-bodied form POST', () => ['POST', '/executions/e-1/stop', { host: host(), 'content-type': 'application/x-www-form-urlencoded' }], 415],
    ['a text/plain POST carrying JSON', () => ['POST', '/deployments', { host: host(), 'content-type': 'text/plain' }, '{"application":"web"}'], 415],
    ['a POST with no content type', () => ['POST', '/executions/e-1/stop', { host: host() }], 415],
    ['a PUT with a JSON look-alike type', () => ['PUT', '/applications/x', { host: host(), 'content-type': 'application/jsonx' }, '{}'], 415],
  ];

  it.each(hostile)('refuses %s', async (_name, build, status) => {
    const before = reached.length;
    const [method, path, headers, body] = build();
    const res = await send(method, path, headers, body);
    expect(res.status).toBe(status);
    if (status !== 400) expect(res.body.error.message).toBeTruthy();
    expect(reached.length).toBe(before);
  });

  it('serves the local CLI, curl and agents: local Host, same or no Origin, JSON bodies even when empty', async () => {
    const ok = [
      await send('GET', '/applications', { host: host() }),
      await send('GET', '/applications', { host: `localhost:${port}` }),
      await send('POST', '/executions/e-1/stop', { host: host(), 'content-type': 'application/json' }),
      await send('PUT', '/applications/x', { host: host(), origin: `http://127.0.0.1:${port}`, 'content-type': 'application/json; charset=utf-8' }, '{}'),
      await send('DELETE', '/applications/x', { host: host() }),
    ];
    expect(ok.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(reached.slice(-5)).toEqual(['GET /applications', 'GET /applications', 'POST /executions/e-1/stop', 'PUT /applications/x', 'DELETE /applications/x']);
  });
});
