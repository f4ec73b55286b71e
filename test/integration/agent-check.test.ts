import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requestFailureCause } from '../../agent/failure-cause.js';
import { freePort, waitFor } from '../../local/ports.js';
import { startAgent } from '../support/agent-process.js';
import { repoRoot } from '../support/packaged-template.js';

/**
 * `fleetline-agent --check` against stand-ins for what a wrong installation
 * meets (all on 127.0.0.1): each names its one problem and exits 1; a right
 * one passes every check and exits 0. The running agent logs the same causes.
 */
const home = mkdtempSync(join(tmpdir(), 'fleetline-agent-check-'));
const servers: Server[] = [];
const PRINCIPAL = 'arn:aws:sts::000000000000:assumed-role/fleetline-agent/check-1';
const FAKE_KEYS = { AWS_ACCESS_KEY_ID: 'AKIACHECKEXAMPLE', AWS_SECRET_ACCESS_KEY: 'check-secret' };

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  rmSync(home, { recursive: true, force: true });
});

async function standIn(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => handle(req, res));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Fleetline's API as far as the check sees it; `poll` answers the signed call, `date` is the server's clock. */
const apiLike = (poll: { status: number; body: unknown }, date = () => new Date()) =>
  standIn((req, res) => {
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json', date: date().toUTCString() }).end(JSON.stringify(body));
    if (req.method === 'GET' && req.url === '/health') json(200, { status: 'ok' });
    else if (req.method === 'POST' && req.url === '/agent/v1/poll') {
      const signed = typeof req.headers.authorization === 'string' || typeof req.headers['x-fleetline-principal'] === 'string';
      if (signed) json(poll.status, poll.body);
      else json(403, { message: 'Missing Authentication Token' });
    } else json(404, { message: 'Not Found' });
  });

/**
 * Runs the real agent with --check. Its environment holds no AWS settings but
 * `env`, and IMDS is off: the credential chain never leaves this machine.
 */
function check(args: string[], env: Record<string, string> = {}): Promise<{ code: number; lines: string[] }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'agent/main.ts'), '--check', '--instance-id', 'check-1', ...args],
      {
        cwd: repoRoot,
        timeout: 60_000,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: home,
          AWS_EC2_METADATA_DISABLED: 'true',
          AWS_CONFIG_FILE: join(home, 'no-config'),
          AWS_SHARED_CREDENTIALS_FILE: join(home, 'no-credentials'),
          ...env,
        },
      },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, lines: `${stdout}${stderr}`.trim().split('\n') }),
    );
  });
}

describe('fleetline-agent --check', () => {
  it('passes every check against an API that answers as Fleetline does, signing with SigV4', async () => {
    const api = await apiLike({ status: 200, body: { assignment: null, pollAfterSeconds: 10 } });
    const result = await check(['--api', api, '--region', 'eu-west-1'], FAKE_KEYS);
    expect(result).toEqual({
      code: 0,
      lines: [
        `ok: ${new URL(api).host} is Fleetline's API (GET /health)`,
        expect.stringMatching(/^ok: clock within [0-9] s of the API's$/),
        'ok: AWS credentials found in the default credential chain',
        'ok: the API accepted a signed poll for instance check-1',
      ],
    });
  });

  it('names an --api that is not a URL', async () => {
    const result = await check(['--api', 'fleetline.example', '--principal', PRINCIPAL]);
    expect(result).toEqual({ code: 1, lines: ['problem: wrong API URL: "fleetline.example" is not a URL (use the stack\'s ApiUrl output)'] });
  });

  it("names a URL whose answer is an HTML 404 page as not Fleetline's API", async () => {
    const page = await standIn((_req, res) => res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body>Not Found</body></html>'));
    const result = await check(['--api', page, '--principal', PRINCIPAL]);
    expect(result.code).toBe(1);
    expect(result.lines).toEqual([`problem: wrong API URL: ${page} answered HTTP 404 (text/html), not JSON: not Fleetline's API (use the stack's ApiUrl output)`]);
  });

  it('names a refused connection as no route to the API', async () => {
    const port = await freePort();
    const result = await check(['--api', `http://127.0.0.1:${port}`, '--principal', PRINCIPAL]);
    expect(result.code).toBe(1);
    expect(result.lines).toEqual([`problem: no route to the API: 127.0.0.1:${port} refused the connection (nothing listens there): check the URL's host and port`]);
  });

  it('names the clock skew in seconds when the server’s Date is 10 minutes off', async () => {
    const api = await apiLike({ status: 200, body: { assignment: null, pollAfterSeconds: 10 } }, () => new Date(Date.now() - 600_000));
    const result = await check(['--api', api], FAKE_KEYS);
    expect(result.code).toBe(1);
    expect(result.lines[1]).toMatch(/^problem: clock skew: this host's clock is 60[0-9] s ahead of the API's \(its Date header\); API Gateway refuses SigV4 signatures more than 300 s off/);
  });

  it('names the credential chain when there are no credentials (no instance profile)', async () => {
    const api = await apiLike({ status: 200, body: { assignment: null, pollAfterSeconds: 10 } });
    const result = await check(['--api', api]);
    expect(result.code).toBe(1);
    expect(result.lines.at(-1)).toMatch(/^problem: no AWS credentials: none found in the default credential chain \(environment variables .* EC2 instance profile \(IMDS\)\): on EC2, launch the instance with the stack's instance profile/);
  });

  it('says the role may not call the agent routes when API Gateway answers 403', async () => {
    const message = 'User: arn:aws:sts::111122223333:assumed-role/web-server/i-0abc is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:eu-west-1:111122223333:abc123/prod/POST/agent/v1/poll';
    const api = await apiLike({ status: 403, body: { Message: message } });
    const result = await check(['--api', api], FAKE_KEYS);
    expect(result.code).toBe(1);
    expect(result.lines.at(-1)).toBe(
      `problem: credentials refused: HTTP 403 (${message}): the role the agent signs with is not allowed to call the agent routes (use the stack's agent role, or name yours in agentRoleNames)`,
    );
  });

  it("names API Gateway's expired-signature refusal as clock skew", async () => {
    const api = await apiLike({ status: 403, body: { message: 'Signature expired: 20261207T160000Z is now earlier than 20261207T160500Z (20261207T161000Z - 5 min.)' } });
    const result = await check(['--api', api], FAKE_KEYS);
    expect(result.lines.at(-1)).toMatch(/^problem: clock skew: API Gateway refused the signature as out of date/);
  });
});

describe('the running agent logs the same causes', () => {
  it.each([
    ['an HTML page', (res: ServerResponse) => res.writeHead(404, { 'content-type': 'text/html' }).end('<html></html>'), /error: wrong API URL: .* answered HTTP 404 \(text\/html\), not JSON/],
    ['a 403 from API Gateway', (res: ServerResponse) => res.writeHead(403, { 'content-type': 'application/json' }).end('{"message":"Forbidden"}'), /error: poll: credentials refused: HTTP 403 \(Forbidden\): the role the agent signs with is not allowed/],
  ])('when its poll meets %s', async (_what, answer, logged) => {
    const api = await standIn((_req, res) => answer(res));
    const agent = startAgent({ apiUrl: api, instanceId: 'check-2', stateDir: home, tags: '' });
    try {
      await waitFor('the agent to log why its poll failed', () => logged.test(agent.output()));
    } finally {
      await agent.stop();
    }
  });

  it('names the same cause when its registration is refused, and exits 1', async () => {
    const api = await standIn((_req, res) => res.writeHead(403, { 'content-type': 'application/json' }).end('{"message":"Forbidden"}'));
    const agent = startAgent({ apiUrl: api, instanceId: 'check-3', stateDir: home, tags: 'env=check' });
    try {
      await waitFor('the agent to exit', () => agent.child.exitCode !== null);
      expect(agent.child.exitCode).toBe(1);
      expect(agent.output()).toMatch(/fleetline-agent: registration refused: credentials refused: HTTP 403 \(Forbidden\): the role the agent signs with is not allowed to call the agent routes/);
    } finally {
      await agent.stop();
    }
  });

  it('names a timeout and a DNS failure as no route to the API', async () => {
    const silent = await standIn(() => undefined);
    const timedOut = await fetch(silent, { signal: AbortSignal.timeout(200) }).catch((e: unknown) => e);
    expect(requestFailureCause(timedOut, silent)).toBe(`no route to the API: ${new URL(silent).host} did not answer in time (timeout): check security groups, proxies and the route to it`);
    // The shape undici gives a name that does not resolve (resolving one here would leave this machine).
    const unresolved = new TypeError('fetch failed', { cause: Object.assign(new Error('getaddrinfo ENOTFOUND api.invalid'), { code: 'ENOTFOUND' }) });
    expect(requestFailureCause(unresolved, 'https://api.invalid')).toMatch(/^no route to the API: the name api.invalid does not resolve \(DNS failure\)/);
  });
});
