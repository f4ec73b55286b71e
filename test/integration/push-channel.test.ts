import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CHANNEL_TIMINGS, PushChannel } from '../../agent/push-channel.js';
import { CHANNEL_LIMITS, KEEPALIVE_MESSAGE } from '../../lib/domain/agent-channel.js';
import { waitFor } from '../../local/ports.js';
import { ManualTimers } from '../support/manual-timers.js';

const WAKE = JSON.stringify({ type: 'wake', reason: 'dispatch' });

/** A real WebSocket server on loopback standing in for API Gateway: it records every connection, message and close, in order. */
interface Connection {
  n: number;
  ws: WebSocket;
  messages: string[];
}
let server: WebSocketServer;
let url = '';
let refusing = false;
let connections: Connection[] = [];
let events: string[] = [];
let onConnection: ((c: Connection) => void) | undefined;
let channel: PushChannel | undefined;

beforeEach(async () => {
  refusing = false;
  // This server's own records: a late close from the previous test's server lands in that test's.
  const seen: Connection[] = (connections = []);
  const log: string[] = (events = []);
  onConnection = undefined;
  server = new WebSocketServer({ host: '127.0.0.1', port: 0, verifyClient: (_info, done) => done(!refusing, 503) });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/channel`;
  server.on('connection', (ws) => {
    const connection = { n: seen.length + 1, ws, messages: [] as string[] };
    seen.push(connection);
    log.push(`open ${connection.n}`);
    ws.on('message', (data) => connection.messages.push(data.toString()));
    ws.on('close', () => log.push(`close ${connection.n}`));
    onConnection?.(connection);
  });
});

afterEach(async () => {
  channel?.close();
  channel = undefined;
  for (const ws of server.clients) ws.terminate();
  await new Promise((resolve) => server.close(resolve));
});

/** A channel whose timers and jitter the test drives; counts its connection attempts and keep-alives. */
function openChannel(options: { random?: () => number; minBackoffMs?: number; maxBackoffMs?: number } = {}) {
  const timers = new ManualTimers();
  const sent = { connects: 0, keepalives: 0 };
  channel = new PushChannel({
    url,
    instanceId: 'i-0channel',
    authHeaders: async () => ({}),
    timers,
    random: options.random ?? (() => 1),
    minBackoffMs: options.minBackoffMs,
    maxBackoffMs: options.maxBackoffMs,
    onRequest: (kind) => (kind === 'connect' ? sent.connects++ : sent.keepalives++),
  }).start();
  return { channel, timers, sent };
}

const connectedTo = (n: number) => waitFor(`connection ${n} to open`, () => connections.length === n && channel?.connected === true, { timeoutMs: 10_000, intervalMs: 10 });

describe('the agent end of the control channel', () => {
  it('sends a keep-alive only after an idle interval with no traffic, inside API Gateway idle timeout', async () => {
    expect(CHANNEL_TIMINGS.keepaliveSeconds).toBeLessThan(CHANNEL_LIMITS.idleTimeoutSeconds);
    const idleMs = CHANNEL_TIMINGS.keepaliveSeconds * 1000;
    const { timers, sent } = openChannel();
    await connectedTo(1);

    timers.advance(idleMs - 1);
    expect(sent.keepalives).toBe(0);
    timers.advance(1);
    expect(sent.keepalives).toBe(1);
    await waitFor('the keep-alive to arrive', () => connections[0]!.messages.length === 1, { timeoutMs: 10_000, intervalMs: 10 });
    expect(connections[0]!.messages).toEqual([KEEPALIVE_MESSAGE]);

    // A push halfway through the next interval is traffic: the keep-alive moves to an interval after it.
    timers.advance(idleMs / 2);
    const wakes = channel!.wakes;
    connections[0]!.ws.send(WAKE);
    await waitFor('the push to arrive', () => channel!.wakes > wakes, { timeoutMs: 10_000, intervalMs: 10 });
    timers.advance(idleMs - 1);
    expect(sent.keepalives).toBe(1);
    timers.advance(1);
    expect(sent.keepalives).toBe(2);
    expect(sent.connects).toBe(1);
  });

  it('renews before the 2-hour limit: the new socket opens before the old one closes, no push is lost and no poll is needed', async () => {
    expect(CHANNEL_TIMINGS.renewSeconds).toBeLessThan(CHANNEL_LIMITS.maxConnectionSeconds);
    // The jitter at its latest: the renewal still comes before the limit.
    const renewMs = CHANNEL_TIMINGS.renewSeconds * 1000;
    const { timers, sent } = openChannel({ random: () => 1 });
    await connectedTo(1);
    const wakesBefore = channel!.wakes;
    // The engine pushes to the connection it knows of (the old one) while the new one opens.
    onConnection = (c) => {
      if (c.n === 2) connections[0]!.ws.send(WAKE);
    };
    const woken = channel!.waitForWake(Number.POSITIVE_INFINITY, new AbortController().signal);

    timers.advance(renewMs - 1);
    expect(sent.connects).toBe(1);
    timers.advance(1);
    expect(sent.connects).toBe(2);
    await woken;
    await waitFor('the old connection to close', () => events.includes('close 1'), { timeoutMs: 10_000, intervalMs: 10 });
    expect(events).toEqual(['open 1', 'open 2', 'close 1']);
    expect(channel!.connected).toBe(true);
    // The push woke the agent once; the renewal itself left no gap, so it asks for no poll.
    expect(channel!.wakes).toBe(wakesBefore + 1);

    connections[1]!.ws.send(WAKE);
    await waitFor('a push on the new connection', () => channel!.wakes === wakesBefore + 2, { timeoutMs: 10_000, intervalMs: 10 });
    // One renewal pending, not one per connection so far.
    timers.advance(renewMs);
    expect(sent.connects).toBe(3);
  });

  it('reconnects after the server drops it with growing, capped backoff, one attempt at a time, and polls once when back', async () => {
    // The jitter at its highest, so each delay is its bound.
    const { timers, sent } = openChannel({ random: () => 1, minBackoffMs: 1000, maxBackoffMs: 8000 });
    await connectedTo(1);
    const wakesBefore = channel!.wakes;
    refusing = true;
    connections[0]!.ws.terminate();

    const delays: number[] = [];
    for (let attempt = 1; attempt <= 5; attempt++) {
      // Exactly one timer left: the reconnect (no keep-alive or renewal of a dead socket, no second retry).
      await waitFor(`reconnect ${attempt} to be scheduled`, () => sent.connects === attempt && timers.delays().length === 1, { timeoutMs: 10_000, intervalMs: 10 });
      delays.push(timers.delays()[0] as number);
      timers.advance(delays.at(-1) as number);
      expect(sent.connects).toBe(attempt + 1);
    }
    await waitFor('the last refused attempt to be answered', () => timers.delays().length === 1, { timeoutMs: 10_000, intervalMs: 10 });
    delays.push(timers.delays()[0] as number);
    expect(delays).toEqual([2000, 4000, 8000, 8000, 8000, 8000]);
    expect(connections).toHaveLength(1);
    expect(channel!.wakes).toBe(wakesBefore + 1); // the loss: back to polling

    refusing = false;
    timers.advance(delays.at(-1) as number);
    await connectedTo(2);
    // After a gap the agent polls once, since a push may have been missed meanwhile.
    expect(channel!.wakes).toBe(wakesBefore + 2);

    // Connected again, the backoff starts over.
    refusing = true;
    const connectsBefore = sent.connects;
    connections[1]!.ws.terminate();
    await waitFor('the next reconnect to be scheduled', () => !channel!.connected && timers.delays().length === 1, { timeoutMs: 10_000, intervalMs: 10 });
    expect(timers.delays()).toEqual([2000]);
    expect(sent.connects).toBe(connectsBefore);
  });

  it('spreads reconnects with full jitter between half the minimum and the growing cap', async () => {
    const { timers, sent } = openChannel({ random: Math.random, minBackoffMs: 1000, maxBackoffMs: 8000 });
    await connectedTo(1);
    refusing = true;
    connections[0]!.ws.terminate();
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 8; attempt++) {
      await waitFor(`reconnect ${attempt} to be scheduled`, () => sent.connects === attempt && timers.delays().length === 1, { timeoutMs: 10_000, intervalMs: 10 });
      const delay = timers.delays()[0] as number;
      expect(delay).toBeGreaterThanOrEqual(500);
      expect(delay).toBeLessThanOrEqual(Math.min(8000, 1000 * 2 ** attempt));
      delays.push(delay);
      timers.advance(delay);
    }
    expect(new Set(delays).size).toBeGreaterThan(1);
  });
});
