import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AgentReport, applyReport, applySteps, eventsReportSchema, reportSteps } from '../../lib/domain/agent-report.js';
import type { InstanceDeployment } from '../../lib/domain/deployment.js';
import { LIFECYCLE_EVENTS } from '../../lib/domain/lifecycle.js';

const now = new Date('2026-11-22T10:00:00.000Z');
const instance = (statuses: InstanceDeployment['events'][number]['status'][]): InstanceDeployment => ({
  deploymentId: 'd-ABCDEFGHI',
  instanceId: 'i-1',
  source: 'registered',
  status: 'InProgress',
  version: 3,
  events: LIFECYCLE_EVENTS.map((name, i) => ({ name, status: statuses[i] ?? 'Pending' })),
});
const report = (event: AgentReport['event'], status: AgentReport['status'], extra: Partial<AgentReport> = {}): AgentReport => ({
  instanceId: 'i-1',
  deploymentId: 'd-ABCDEFGHI',
  event,
  status,
  ...extra,
});

describe('applying an agent report', () => {
  it('starts the next event and sets its deadline from the hook timeouts', () => {
    const out = applyReport(instance(['Succeeded']), report('DownloadBundle', 'InProgress', { timeoutSeconds: 30 }), now, false);
    expect(out.kind).toBe('applied');
    if (out.kind !== 'applied') return;
    expect(out.instanceStatus).toBe('InProgress');
    expect(out.events[1]).toMatchObject({ status: 'InProgress', startedAt: now.toISOString(), deadline: '2026-11-22T10:01:30.000Z' });
  });

  it('treats a repeat of what is recorded as a duplicate', () => {
    expect(applyReport(instance(['Succeeded']), report('ApplicationStop', 'Succeeded'), now, false)).toEqual({ kind: 'duplicate' });
  });

  it('refuses an event reported before the ones ahead of it finished', () => {
    const out = applyReport(instance(['Succeeded']), report('Install', 'Succeeded'), now, false);
    expect(out).toEqual({ kind: 'conflict', reason: 'DownloadBundle has not finished yet (it is Pending)' });
  });

  it('refuses to change a finished event', () => {
    const out = applyReport(instance(['Succeeded', 'Failed']), report('DownloadBundle', 'Succeeded'), now, false);
    expect(out.kind).toBe('conflict');
  });

  it('refuses reports for an instance that already ended', () => {
    const ended = { ...instance(['Succeeded']), status: 'Unknown' as const };
    expect(applyReport(ended, report('DownloadBundle', 'InProgress'), now, false)).toMatchObject({ kind: 'conflict' });
  });

  it('fails the instance on a failed event, with UnknownError when no code is given', () => {
    const out = applyReport(instance(['Succeeded', 'Succeeded', 'InProgress']), report('BeforeInstall', 'Failed', { exitCode: 3 }), now, false);
    expect(out).toMatchObject({ kind: 'applied', instanceStatus: 'Failed' });
    if (out.kind === 'applied') expect(out.events[2]).toMatchObject({ status: 'Failed', exitCode: 3, errorCode: 'UnknownError' });
  });

  it('ends the instance Skipped when every event was skipped (a stop before the host began), Succeeded when anything ran', () => {
    const steps = (statuses: ('Succeeded' | 'Skipped')[]) =>
      LIFECYCLE_EVENTS.map((event, i) => ({ event, status: statuses[i] ?? 'Skipped' }) as const);
    expect(applySteps(instance([]), steps([]), now, false)).toMatchObject({ kind: 'applied', instanceStatus: 'Skipped' });
    expect(applySteps(instance([]), steps(['Skipped', 'Succeeded']), now, false)).toMatchObject({ kind: 'applied', instanceStatus: 'Succeeded' });
  });

  it('lets a failed ApplicationStop pass when the group ignores those failures', () => {
    const out = applyReport(instance([]), report('ApplicationStop', 'Failed', { errorCode: 'ScriptFailed' }), now, true);
    expect(out).toMatchObject({ kind: 'applied', instanceStatus: 'InProgress' });
  });

  it('succeeds the instance when the last event succeeds', () => {
    const statuses = LIFECYCLE_EVENTS.map(() => 'Succeeded' as const).slice(0, -1);
    const out = applyReport(instance([...statuses, 'InProgress']), report('ValidateService', 'Succeeded'), now, false);
    expect(out).toMatchObject({ kind: 'applied', instanceStatus: 'Succeeded' });
  });
});

describe('a report of everything since the last one (done + running)', () => {
  const base = { instanceId: 'i-1', deploymentId: 'd-ABCDEFGHI' };
  const parse = (body: unknown) => eventsReportSchema.safeParse(body);

  it('closes the events that finished and starts the next, in one change', () => {
    const body = parse({
      ...base,
      done: [
        { event: 'ApplicationStop', status: 'Succeeded', exitCode: 0 },
        { event: 'DownloadBundle', status: 'Succeeded' },
      ],
      running: { event: 'BeforeInstall', timeoutSeconds: 30 },
    });
    expect(body.success).toBe(true);
    if (!body.success) return;
    const out = applySteps(instance(['InProgress']), reportSteps(body.data), now, false);
    expect(out).toMatchObject({ kind: 'applied', instanceStatus: 'InProgress' });
    if (out.kind !== 'applied') return;
    expect(out.events.slice(0, 3)).toMatchObject([
      { name: 'ApplicationStop', status: 'Succeeded', exitCode: 0 },
      { name: 'DownloadBundle', status: 'Succeeded' },
      { name: 'BeforeInstall', status: 'InProgress', deadline: '2026-11-22T10:01:30.000Z' },
    ]);
  });

  it('is a duplicate when retried after the server recorded it', () => {
    const steps = reportSteps({ ...base, done: [{ event: 'ApplicationStop', status: 'Succeeded' }], running: { event: 'DownloadBundle', timeoutSeconds: 60 } });
    const first = applySteps(instance(['InProgress']), steps, now, false);
    if (first.kind !== 'applied') throw new Error('expected applied');
    expect(applySteps({ ...instance([]), events: first.events }, steps, now, false)).toEqual({ kind: 'duplicate' });
  });

  it('refuses the whole report when any of it is out of order', () => {
    const out = applySteps(instance([]), reportSteps({ ...base, done: [{ event: 'ApplicationStop', status: 'Succeeded' }, { event: 'BeforeInstall', status: 'Succeeded' }] }), now, false);
    expect(out).toEqual({ kind: 'conflict', reason: 'DownloadBundle has not finished yet (it is Pending)' });
  });

  it('refuses events after one that failed the instance', () => {
    const out = applySteps(
      instance([]),
      reportSteps({ ...base, done: [{ event: 'ApplicationStop', status: 'Failed', errorCode: 'ScriptFailed' }], running: { event: 'DownloadBundle', timeoutSeconds: 5 } }),
      now,
      false,
    );
    expect(out).toMatchObject({ kind: 'conflict', reason: expect.stringContaining('already Failed') });
  });

  it.each([
    ['no event at all', { ...base, done: [] }],
    ['an event twice', { ...base, done: [{ event: 'ApplicationStop', status: 'Succeeded' }], running: { event: 'ApplicationStop', timeoutSeconds: 5 } }],
    ['a finished event InProgress', { ...base, done: [{ event: 'ApplicationStop', status: 'InProgress' }] }],
    ['more events than the lifecycle has', { ...base, done: Array.from({ length: 8 }, () => ({ event: 'Install', status: 'Succeeded' })) }],
    ['a running event without its timeout', { ...base, done: [], running: { event: 'Install' } }],
    ['an unknown field', { ...base, done: [{ event: 'Install', status: 'Succeeded', deadline: '2030-01-01T00:00:00Z' }] }],
    ['a traffic event', { ...base, done: [{ event: 'BlockTraffic', status: 'Skipped' }] }],
    ['an output tail over 4 KB', { ...base, done: [{ event: 'Install', status: 'Failed', outputTail: 'x'.repeat(4097) }] }],
  ])('is refused with %s', (_what, body) => {
    expect(parse(body).success).toBe(false);
  });

  it('leads to the same state however the agent splits its events into reports', () => {
    const outcomes = ['Succeeded', 'Skipped'] as const;
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...outcomes), { minLength: LIFECYCLE_EVENTS.length, maxLength: LIFECYCLE_EVENTS.length }),
        fc.array(fc.boolean(), { minLength: LIFECYCLE_EVENTS.length, maxLength: LIFECYCLE_EVENTS.length }),
        (statuses, cuts) => {
          const all = LIFECYCLE_EVENTS.map((event, i) => ({ event, status: statuses[i] as (typeof outcomes)[number] }));
          // One event per report, as older agents send them…
          let single = instance([]);
          for (const step of all) {
            const out = applySteps(single, [step], now, false);
            if (out.kind !== 'applied') return false;
            single = { ...single, events: out.events, status: out.instanceStatus };
          }
          // …and the same events cut into reports anywhere.
          let batched = instance([]);
          let part: typeof all = [];
          all.forEach((step, i) => {
            part.push(step);
            if (cuts[i] || i === all.length - 1) {
              const out = applySteps(batched, reportSteps({ ...base, done: part }), now, false);
              if (out.kind !== 'applied') throw new Error(JSON.stringify(out));
              batched = { ...batched, events: out.events, status: out.instanceStatus };
              part = [];
            }
          });
          expect(batched).toEqual(single);
          expect(batched.status).toBe(statuses.every((s) => s === 'Skipped') ? 'Skipped' : 'Succeeded');
          return true;
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('text an agent reports', () => {
  /** Any UTF-16 code units, lone surrogates included (JSON's \uD800 escapes carry them; no UTF-8 can). */
  const codeUnits = fc.string({
    unit: fc.oneof(fc.integer({ min: 0xd800, max: 0xdfff }).map((u) => String.fromCharCode(u)), fc.constantFrom('a', 'é', '😀', '\n', '\uFFFD')),
    maxLength: 40,
  });
  const isHigh = (u: number) => u >= 0xd800 && u <= 0xdbff;
  const isLow = (u: number) => u >= 0xdc00 && u <= 0xdfff;
  /** Whether the code unit at i is a surrogate without its partner. */
  const lone = (s: string, i: number) => {
    const u = s.charCodeAt(i);
    if (isHigh(u)) return !isLow(s.charCodeAt(i + 1));
    if (isLow(u)) return !isHigh(s.charCodeAt(i - 1));
    return false;
  };

  it('keeps every character and replaces each lone surrogate in messages and output tails with U+FFFD, as invalid UTF-8 is', () => {
    fc.assert(
      fc.property(codeUnits, codeUnits, (message, outputTail) => {
        const parsed = eventsReportSchema.parse({ instanceId: 'i-1', deploymentId: 'd-ABCDEFGHI', done: [{ event: 'ApplicationStop', status: 'Failed', message, outputTail }] });
        const [done] = parsed.done;
        for (const [sent, kept] of [[message, done?.message], [outputTail, done?.outputTail]] as const) {
          expect(kept).toHaveLength(sent.length);
          expect(Buffer.from(kept as string, 'utf8').toString('utf8')).toBe(kept); // well-formed: survives UTF-8
          for (let i = 0; i < sent.length; i++) {
            expect(kept?.charCodeAt(i)).toBe(lone(sent, i) ? 0xfffd : sent.charCodeAt(i));
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
