import { mkdtempSync, rmSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../local/ports.js';
import { startAgent } from '../support/agent-process.js';

/**
 * A real agent, started without --channel, against a stand-in API whose idle
 * poll answers name whatever channel URL the test sets: what it opens, what it
 * refuses, and how it follows a URL that moves.
 */
const dir = mkdtempSync(join(tmpdir(), 'fleetline-channel-url-'));
let api: Server;
let apiUrl = '';
let named: string | undefined;
let polls = 0;
const channels: { server: WebSocketServer; url: string; opened: string[]; open: number; gone: boolean }[] = [];
let agent: ReturnType<typeof startAgent> | undefined;

async function channelServer() {
  const record = { url: '', opened: [] as string[], open: 0, gone: false } as (typeof channels)[number];
  // Once gone, upgrades are refused, as by a WebSocket API that was deleted.
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, verifyClient: (_info, done) => done(!record.gone, 503) });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  Object.assign(record, { server, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/channel` });
  server.on('connection', (ws, req) => {
    record.opened.push(req.url ?? '');
    record.open++;
    ws.on('close', () => record.open--);
  });
  channels.push(record);
  return record;
}

beforeAll(async () => {
  api = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/agent/v1/register') return json(201, {});
      if (req.url !== '/agent/v1/poll') return json(404, {});
      polls++;
      json(200, { assignment: null, pollAfterSeconds: 1, ...(named === undefined ? {} : { channelUrl: named }) });
    });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await agent?.stop();
  for (const { server } of channels) {
    for (const ws of server.clients) ws.terminate();
    await new Promise((resolve) => server.close(resolve));
  }
  await new Promise((resolve) => api.close(resolve));
  rmSync(dir, { recursive: true, force: true });
}, 30_000);

describe('an agent started without --channel', () => {
  it('refuses a hostile channel URL named by the server, opens a sound one, and follows it when it moves', async () => {
    const first = await channelServer();
    const second = await channelServer();
    // Plain HTTP to a listening WebSocket server (the ws library would happily connect to it), then plain ws:// off this machine.
    named = first.url.replace(/^ws:/, 'http:');
    agent = startAgent({ apiUrl, instanceId: 'url-1', stateDir: dir, tags: 'fleet=url' });
    await waitFor('the agent to refuse the http:// URL', () => agent!.output().includes('refused the control channel URL the server named (http:// is not wss://)'), { timeoutMs: 30_000 });
    named = 'ws://198.51.100.7/channel';
    await waitFor('the agent to refuse the remote ws:// URL', () => agent!.output().includes('(ws:// is accepted only to a loopback host (use wss://))'), { timeoutMs: 30_000 });
    // A URL carrying credentials is refused, and they never reach the log.
    named = first.url.replace('ws://', 'ws://agent:hunter2@');
    await waitFor('the agent to refuse the URL with credentials', () => agent!.output().includes('(it carries credentials)'), { timeoutMs: 30_000 });
    expect(agent.output()).not.toContain('hunter2');
    // It kept polling meanwhile, and opened nothing.
    const pollsAfterRefusals = polls;
    await waitFor('the agent to poll again', () => polls > pollsAfterRefusals, { timeoutMs: 30_000 });
    expect(first.opened).toEqual([]);
    expect(agent.output()).not.toMatch(/control channel (connected|could not connect|refused)/);

    named = first.url;
    await waitFor('the agent to connect to the channel the server named', () => first.open === 1, { timeoutMs: 30_000 });
    expect(first.opened).toEqual(['/channel?instanceId=url-1']);

    // The stack moves to another WebSocket API and the old one goes away: the agent, polling again
    // since its socket dropped, learns the new URL and moves there.
    named = second.url;
    first.gone = true;
    for (const ws of first.server.clients) ws.terminate();
    await waitFor('the agent to move to the new channel', () => second.open === 1 && first.open === 0, { timeoutMs: 30_000 });
    expect(first.opened).toHaveLength(1);
    expect(second.opened).toEqual(['/channel?instanceId=url-1']);
    expect(agent.output().match(/refused the control channel URL/g)).toHaveLength(3); // each refused once, however often named
  }, 90_000);
});
