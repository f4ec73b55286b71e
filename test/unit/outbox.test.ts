import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiAnswer } from '../../agent/api-client.js';
import { type AcceptedEffect, Outbox } from '../../agent/outbox.js';
import { waitFor } from '../../local/ports.js';
import { coalesceReports } from '../../lib/domain/report-coalescing.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetline-outbox-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A server that answers from a script of outcomes, then 200. */
function server(script: (number | 'network')[]) {
  const received: Record<string, unknown>[] = [];
  const send = async (body: Record<string, unknown>): Promise<ApiAnswer> => {
    received.push(body);
    const next = script.shift() ?? 200;
    if (next === 'network') throw new Error('fetch failed: ECONNREFUSED');
    return { status: next, body: next < 400 ? { action: 'continue' } : { error: { message: `status ${next}` } } };
  };
  return { send, received };
}

const report = (event: string) => ({ instanceId: 'i-1', deploymentId: 'd-AAAAAAAAA', event, status: 'Succeeded' });
const noDelay = { baseDelayMs: 1, maxDelayMs: 2 };

describe('the report outbox', () => {
  it('retries a report through 5xx and network errors until the server accepts it, then runs its effect once', async () => {
    const { send, received } = server([503, 'network', 500]);
    const applied: AcceptedEffect[] = [];
    const outbox = new Outbox(join(dir, 'outbox'), { send, apply: async (e) => void applied.push(e), ...noDelay });
    const effect = { recordSuccess: { groupId: 'g', deploymentId: 'd-AAAAAAAAA', bundleRoot: '/b' } };
    const delivery = await outbox.send(report('ValidateService'), new AbortController().signal, effect);
    expect(delivery.kind).toBe('accepted');
    expect(received).toHaveLength(4);
    expect(applied).toEqual([effect]);
    expect(await outbox.pending()).toEqual([]);
  });

  it('drops a report the server refuses for good (4xx) without running its effect', async () => {
    const { send } = server([400]);
    const applied: AcceptedEffect[] = [];
    const outbox = new Outbox(join(dir, 'outbox'), { send, apply: async (e) => void applied.push(e), ...noDelay });
    const delivery = await outbox.send(report('ValidateService'), new AbortController().signal, { recordSuccess: { groupId: 'g', deploymentId: 'd', bundleRoot: '/b' } });
    expect(delivery).toMatchObject({ kind: 'refused', answer: { status: 400 } });
    expect(applied).toEqual([]);
    expect(await outbox.pending()).toEqual([]);
  });

  it('keeps an undelivered report across a restart and delivers it, in order, before newer ones', async () => {
    const down = new AbortController();
    const first = new Outbox(join(dir, 'outbox'), {
      send: async () => {
        down.abort(); // the agent is told to stop while the server is unreachable
        throw new Error('ECONNREFUSED');
      },
      apply: async () => undefined,
      ...noDelay,
    });
    const effect = { recordSuccess: { groupId: 'g', deploymentId: 'd-AAAAAAAAA', bundleRoot: '/b' } };
    expect((await first.send(report('ValidateService'), down.signal, effect)).kind).toBe('kept');
    expect(readdirSync(join(dir, 'outbox'))).toHaveLength(1);

    const { send, received } = server([]);
    const applied: AcceptedEffect[] = [];
    const restarted = new Outbox(join(dir, 'outbox'), { send, apply: async (e) => void applied.push(e), ...noDelay });
    await restarted.send(report('ApplicationStop'), new AbortController().signal);
    expect(received.map((b) => b.event)).toEqual(['ValidateService', 'ApplicationStop']);
    expect(applied).toEqual([effect]);
    expect(await restarted.pending()).toEqual([]);
  });

  it('backs off exponentially with jitter, capped', async () => {
    const delays: number[] = [];
    const { send } = server([503, 503, 503, 503, 503, 503]);
    const outbox = new Outbox(join(dir, 'outbox'), { send, apply: async () => undefined, baseDelayMs: 1, maxDelayMs: 8, random: () => 1, log: (l) => {
      const m = /next in (\d+) ms/.exec(l);
      if (m) delays.push(Number(m[1]));
    } });
    await outbox.send(report('Install'), new AbortController().signal);
    expect(delays).toEqual([1, 2, 4, 8, 8, 8]);
  });

  it('keeps reports in the order they were added when callers add them without waiting for each other', async () => {
    const outbox = new Outbox(join(dir, 'outbox'), { send: async () => ({ status: 200, body: {} }), apply: async () => undefined });
    const events = Array.from({ length: 200 }, (_, n) => `Event${n}`);
    // Each add's own file-system calls finish in whatever order the thread pool gives.
    await Promise.all(events.map((event) => outbox.add(report(event))));
    const { send, received } = server([]);
    const reader = new Outbox(join(dir, 'outbox'), { send, apply: async () => undefined });
    expect(await reader.flush(new AbortController().signal)).toBe(events.length);
    expect(received.map((b) => b.event)).toEqual(events);
  });

  it('sends the reports that queued up behind the one in flight as one request, and each caller hears how its own fared', async () => {
    const received: Record<string, unknown>[] = [];
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const send = async (body: Record<string, unknown>): Promise<ApiAnswer> => {
      received.push(body);
      if (received.length === 1) await held; // the first report is on its way for a while
      return { status: 200, body: { action: 'continue' } };
    };
    const applied: AcceptedEffect[] = [];
    const outbox = new Outbox(join(dir, 'outbox'), { send, apply: async (e) => void applied.push(e), coalesce: coalesceReports, ...noDelay });
    const signal = new AbortController().signal;
    const ids = { instanceId: 'i-1', deploymentId: 'd-AAAAAAAAA' };
    const effect = { recordSuccess: { groupId: 'g', deploymentId: 'd-AAAAAAAAA', bundleRoot: '/b' } };
    const first = outbox.send({ ...ids, done: [], running: { event: 'BeforeInstall', timeoutSeconds: 5 } }, signal);
    await waitFor('the first report on its way', async () => received.length === 1, { timeoutMs: 5000, intervalMs: 5 });
    const queued = [
      outbox.send({ ...ids, done: [{ event: 'BeforeInstall', status: 'Succeeded' }], running: { event: 'AfterInstall', timeoutSeconds: 5 } }, signal),
      outbox.send({ ...ids, done: [{ event: 'AfterInstall', status: 'Succeeded' }], running: { event: 'ApplicationStart', timeoutSeconds: 5 } }, signal),
      outbox.send({ ...ids, done: [{ event: 'ApplicationStart', status: 'Succeeded' }, { event: 'ValidateService', status: 'Skipped' }] }, signal, effect),
    ];
    await waitFor('every report on disk', async () => (await outbox.pending()).length === 4, { timeoutMs: 5000, intervalMs: 5 });
    release();
    const deliveries = await Promise.all([first, ...queued]);
    expect(deliveries.map((d) => d.kind)).toEqual(['accepted', 'accepted', 'accepted', 'accepted']);
    expect(received).toHaveLength(2);
    expect(received[1]).toEqual({
      ...ids,
      done: [
        { event: 'BeforeInstall', status: 'Succeeded' },
        { event: 'AfterInstall', status: 'Succeeded' },
        { event: 'ApplicationStart', status: 'Succeeded' },
        { event: 'ValidateService', status: 'Skipped' },
      ],
    });
    expect(applied).toEqual([effect]);
    expect(await outbox.pending()).toEqual([]);
  });

  it('after a restart, sends what an earlier run left queued as few requests as the reports allow', async () => {
    const ids = { instanceId: 'i-1', deploymentId: 'd-AAAAAAAAA' };
    const earlier = new Outbox(join(dir, 'outbox'), { send: async () => ({ status: 200, body: {} }), apply: async () => undefined });
    await earlier.add({ ...ids, done: [], running: { event: 'BeforeInstall', timeoutSeconds: 5 } });
    await earlier.add({ ...ids, done: [{ event: 'BeforeInstall', status: 'Succeeded' }] });
    await earlier.add({ ...ids, deploymentId: 'd-BBBBBBBBB', done: [{ event: 'Install', status: 'Failed' }] });
    const { send, received } = server([]);
    const restarted = new Outbox(join(dir, 'outbox'), { send, apply: async () => undefined, coalesce: coalesceReports, ...noDelay });
    expect(await restarted.flush(new AbortController().signal)).toBe(3);
    expect(received.map((b) => [b.deploymentId, (b.done as { event: string }[]).map((d) => d.event)])).toEqual([
      ['d-AAAAAAAAA', ['BeforeInstall']],
      ['d-BBBBBBBBB', ['Install']],
    ]);
    expect(await restarted.pending()).toEqual([]);
  });
});
