import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiAnswer } from '../../agent/api-client.js';
import { Outbox } from '../../agent/outbox.js';
import { EventReporter } from '../../agent/reporter.js';
import { coalesceReports } from '../../lib/domain/report-coalescing.js';
import { waitFor } from '../../local/ports.js';

let dir: string;
let reporter: EventReporter | undefined;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleetline-reporter-'));
});
afterEach(() => {
  reporter?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A server whose answers the test lets go one at a time. */
function heldServer(answer: ApiAnswer = { status: 200, body: { action: 'continue', instanceStatus: 'InProgress', duplicate: false } }) {
  const received: Record<string, unknown>[] = [];
  const gates: (() => void)[] = [];
  const send = async (body: Record<string, unknown>): Promise<ApiAnswer> => {
    received.push(body);
    await new Promise<void>((resolve) => gates.push(resolve));
    return answer;
  };
  return { send, received, releaseAll: () => gates.splice(0).forEach((go) => go()) };
}

function reporterOver(server: ReturnType<typeof heldServer>, checkInMs: number, onStop: () => void = () => undefined, startReportDelayMs = 0) {
  const outbox = new Outbox(join(dir, 'outbox'), { send: server.send, apply: async () => undefined, coalesce: coalesceReports, baseDelayMs: 1, maxDelayMs: 2 });
  reporter = new EventReporter({
    instanceId: 'i-1',
    deploymentId: 'd-AAAAAAAAA',
    outbox,
    shutdown: new AbortController().signal,
    heartbeat: async () => true,
    checkInMs: () => checkInMs,
    onStop,
    startReportDelayMs,
  });
  return { events: reporter, outbox };
}

const start = (event: 'BeforeInstall' | 'AfterInstall') => ({ starting: { event, timeoutSeconds: 60 } });
const track = <T>(promise: Promise<T>) => {
  const state = { settled: false };
  promise.then(() => (state.settled = true), () => (state.settled = true));
  return state;
};

describe('an agent starting its next hook', () => {
  it('does not wait for the start report to be answered while the server heard from it within the check-in interval', async () => {
    const server = heldServer();
    const { events, outbox } = reporterOver(server, 60_000);
    await events.sendAhead(start('BeforeInstall'));
    // The hook may run now: its report is on disk and on its way, not yet answered.
    await waitFor('the report on its way', () => server.received.length === 1, { timeoutMs: 5000, intervalMs: 5 });
    await events.sendAhead({ finished: [{ event: 'BeforeInstall', status: 'Succeeded' }], ...start('AfterInstall') });
    const last = events.send({ finished: [{ event: 'AfterInstall', status: 'Succeeded' }] });
    await waitFor('all three on disk', async () => (await outbox.pending()).length === 3, { timeoutMs: 5000, intervalMs: 5 });
    server.releaseAll();
    await waitFor('the rest on its way', () => server.received.length === 2, { timeoutMs: 5000, intervalMs: 5 });
    server.releaseAll();
    await last;
    // The two reports made while the first was answered went as one.
    expect(server.received[1]).toMatchObject({ done: [{ event: 'BeforeInstall' }, { event: 'AfterInstall' }] });
    expect(server.received[1]).not.toHaveProperty('running');
  });

  it('waits for the answer when the server has not heard from it for a check-in interval (it may have lost the lease)', async () => {
    const server = heldServer();
    const { events } = reporterOver(server, 0);
    const ahead = track(events.sendAhead(start('BeforeInstall')));
    await waitFor('the report on its way', () => server.received.length === 1, { timeoutMs: 5000, intervalMs: 5 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(ahead.settled).toBe(false);
    server.releaseAll();
    await waitFor('the start to be answered', () => ahead.settled, { timeoutMs: 5000, intervalMs: 5 });
  });

  it('is stopped when the server refuses a report it went ahead of, and sends nothing more', async () => {
    const server = heldServer({ status: 409, body: { error: { message: 'instance i-1 is already Unknown in this deployment' } } });
    let stopped = false;
    const { events } = reporterOver(server, 60_000, () => (stopped = true));
    await events.sendAhead(start('BeforeInstall'));
    await waitFor('the report on its way', () => server.received.length === 1, { timeoutMs: 5000, intervalMs: 5 });
    server.releaseAll();
    await waitFor('the refusal to stop the agent', () => stopped, { timeoutMs: 5000, intervalMs: 5 });
    expect(events.refused).toBe(true);
    expect(await events.send({ finished: [{ event: 'BeforeInstall', status: 'Failed' }] })).toBeUndefined();
    expect(server.received).toHaveLength(1);
  });
});

describe('a hook start report that waits for the report ending the hook', () => {
  it('a hook that ends before the wait is over costs no request of its own: its start goes with its end, in one report', async () => {
    const server = heldServer();
    const { events, outbox } = reporterOver(server, 60_000, () => undefined, 60_000);
    await events.sendAhead(start('BeforeInstall'));
    expect(await outbox.pending()).toHaveLength(1); // on disk before the hook runs: a crash loses nothing
    await events.sendAhead({ finished: [{ event: 'BeforeInstall', status: 'Succeeded' }], ...start('AfterInstall') });
    const last = events.send({ finished: [{ event: 'AfterInstall', status: 'Succeeded' }] });
    await waitFor('the report on its way', () => server.received.length === 1, { timeoutMs: 5000, intervalMs: 5 });
    server.releaseAll();
    await last;
    expect(server.received).toEqual([
      { instanceId: 'i-1', deploymentId: 'd-AAAAAAAAA', done: [{ event: 'BeforeInstall', status: 'Succeeded' }, { event: 'AfterInstall', status: 'Succeeded' }] },
    ]);
    expect(await outbox.pending()).toEqual([]);
  });

  it('a longer hook\'s start goes on its own once the wait is over', async () => {
    const server = heldServer();
    const { events } = reporterOver(server, 60_000, () => undefined, 30);
    await events.sendAhead(start('BeforeInstall'));
    expect(server.received).toEqual([]);
    await waitFor('the start report to go', () => server.received.length === 1, { timeoutMs: 5000, intervalMs: 5 });
    expect(server.received[0]).toMatchObject({ done: [], running: { event: 'BeforeInstall' } });
    server.releaseAll();
  });

  it('goes at once, and is waited for, when the server has not heard from the agent for a check-in interval', async () => {
    const server = heldServer();
    const { events } = reporterOver(server, 0, () => undefined, 60_000);
    const ahead = track(events.sendAhead(start('BeforeInstall')));
    await waitFor('the report on its way', () => server.received.length === 1, { timeoutMs: 5000, intervalMs: 5 });
    expect(ahead.settled).toBe(false);
    server.releaseAll();
    await waitFor('the start to be answered', () => ahead.settled, { timeoutMs: 5000, intervalMs: 5 });
  });

  it('a start report still waiting when the reporter closes is let go, not held back', async () => {
    const server = heldServer();
    const { events, outbox } = reporterOver(server, 60_000, () => undefined, 60_000);
    await events.sendAhead(start('BeforeInstall'));
    events.close();
    await waitFor('the start report to go', () => server.received.length === 1, { timeoutMs: 5000, intervalMs: 5 });
    server.releaseAll();
    await waitFor('the outbox to empty', async () => (await outbox.pending()).length === 0, { timeoutMs: 5000, intervalMs: 5 });
  });
});
