import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EventsReport, applySteps, eventsReportSchema, reportSteps } from '../../lib/domain/agent-report.js';
import type { InstanceDeployment } from '../../lib/domain/deployment.js';
import { LIFECYCLE_EVENTS, type LifecycleEvent } from '../../lib/domain/lifecycle.js';
import { coalesceReports } from '../../lib/domain/report-coalescing.js';

const now = new Date('2026-11-23T10:00:00.000Z');
const ids = { instanceId: 'i-1', deploymentId: 'd-ABCDEFGHI' };
const fresh = (): InstanceDeployment => ({
  ...ids,
  source: 'registered',
  status: 'InProgress',
  version: 1,
  events: LIFECYCLE_EVENTS.map((name) => ({ name, status: 'Pending' })),
});

type Outcome = 'Succeeded' | 'Failed' | 'Skipped';

/**
 * The reports an agent makes for one assignment, as the executor makes them:
 * each scripted event's start carries what finished since (events without
 * scripts ride along), the last one carries the rest.
 */
function agentReports(plan: { scripted: boolean; outcome: Outcome }[]): EventsReport[] {
  const reports: EventsReport[] = [];
  let noted: EventsReport['done'] = [];
  for (const [i, step] of plan.entries()) {
    const event = LIFECYCLE_EVENTS[i] as LifecycleEvent;
    if (!step.scripted) {
      noted.push({ event, status: 'Skipped' });
      continue;
    }
    reports.push({ ...ids, done: noted, running: { event, timeoutSeconds: 60 } });
    noted = [{ event, status: step.outcome, startedAt: now.toISOString(), endedAt: now.toISOString() }];
    if (step.outcome === 'Failed') break;
  }
  reports.push({ ...ids, done: noted });
  return reports.filter((r) => r.done.length > 0 || r.running);
}

function applyAll(reports: readonly unknown[]): InstanceDeployment {
  let state = fresh();
  for (const body of reports) {
    const parsed = eventsReportSchema.parse(body);
    const out = applySteps(state, reportSteps(parsed), now, false);
    if (out.kind === 'conflict') throw new Error(out.reason);
    if (out.kind === 'applied') state = { ...state, events: out.events, status: out.instanceStatus };
  }
  return state;
}

/** Coalesces the queue the way the outbox drains it: the leading reports that can go together, then the next ones. */
function drain(queue: readonly unknown[]): unknown[] {
  const sent: unknown[] = [];
  for (let rest = [...queue]; rest.length > 0; ) {
    const { body, count } = coalesceReports(rest);
    sent.push(body);
    rest = rest.slice(count);
  }
  return sent;
}

const plans = fc.array(
  fc.record({ scripted: fc.boolean(), outcome: fc.constantFrom<Outcome>('Succeeded', 'Succeeded', 'Failed', 'Skipped') }),
  { minLength: LIFECYCLE_EVENTS.length, maxLength: LIFECYCLE_EVENTS.length },
);

describe('reports that piled up behind the one in flight', () => {
  it('go as one valid report that leaves the instance exactly as the reports one by one would', () => {
    fc.assert(
      fc.property(plans, fc.nat(), (plan, split) => {
        const reports = agentReports(plan);
        // Some went out alone already; the rest queued up behind them.
        const alone = reports.slice(0, split % (reports.length + 1));
        const queued = reports.slice(alone.length);
        const joined = coalesceReports(queued);
        expect(joined.count).toBe(queued.length);
        if (queued.length > 0) expect(eventsReportSchema.safeParse(joined.body).success).toBe(true);
        expect(applyAll([...alone, ...drain(queued)])).toEqual(applyAll(reports));
      }),
      { numRuns: 200 },
    );
  });

  it('are answered as repeats when replayed one by one after going together (a crash before they left the outbox)', () => {
    fc.assert(
      fc.property(plans, (plan) => {
        const reports = agentReports(plan);
        const together = applyAll(drain(reports));
        let state = together;
        for (const body of reports) {
          const out = applySteps(state, reportSteps(eventsReportSchema.parse(body)), now, false);
          expect(out.kind).toBe('duplicate');
          if (out.kind === 'applied') state = { ...state, events: out.events };
        }
        expect(state).toEqual(together);
      }),
      { numRuns: 200 },
    );
  });

  it('never join across assignments, instances, or with an older agent one-event report', () => {
    const first: EventsReport = { ...ids, done: [{ event: 'ApplicationStop', status: 'Skipped' }], running: { event: 'BeforeInstall', timeoutSeconds: 5 } };
    const closes: EventsReport = { ...ids, done: [{ event: 'BeforeInstall', status: 'Succeeded' }] };
    expect(coalesceReports([first, { ...closes, deploymentId: 'd-ZZZZZZZZZ' }]).count).toBe(1);
    expect(coalesceReports([first, { ...closes, instanceId: 'i-2' }]).count).toBe(1);
    expect(coalesceReports([first, { ...ids, event: 'BeforeInstall', status: 'Succeeded' }]).count).toBe(1);
    expect(coalesceReports([{ ...ids, event: 'Install', status: 'Succeeded' }, closes]).count).toBe(1);
    expect(coalesceReports([first, closes]).count).toBe(2);
  });

  it('stop joining where the start of an event would be lost, or an event would be named twice', () => {
    const starts: EventsReport = { ...ids, done: [], running: { event: 'BeforeInstall', timeoutSeconds: 5 } };
    const skipsAhead: EventsReport = { ...ids, done: [{ event: 'AfterInstall', status: 'Succeeded' }] };
    expect(coalesceReports([starts, skipsAhead])).toEqual({ body: starts, count: 1 });
    const closes: EventsReport = { ...ids, done: [{ event: 'BeforeInstall', status: 'Succeeded' }] };
    const again: EventsReport = { ...ids, done: [{ event: 'BeforeInstall', status: 'Failed' }] };
    expect(coalesceReports([starts, closes, again]).count).toBe(2);
    expect(coalesceReports([])).toEqual({ body: undefined, count: 0 });
  });
});
