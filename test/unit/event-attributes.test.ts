import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { changedEventAttributes, eventsOf } from '../../lib/adapters/dynamodb/event-attributes.js';
import { type EventRecord, initialEvents } from '../../lib/domain/deployment.js';
import { ERROR_CODES, EVENT_STATUSES, INSTANCE_STATUSES, LIFECYCLE_EVENTS, TRAFFIC_EVENTS } from '../../lib/domain/lifecycle.js';

const time = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2040, 0, 1) }).map((ms) => new Date(ms).toISOString());
const lifecycleEvent = (name: string) =>
  fc.record(
    {
      name: fc.constant(name),
      status: fc.constantFrom(...EVENT_STATUSES),
      startedAt: time,
      endedAt: time,
      deadline: time,
      exitCode: fc.integer({ min: -255, max: 255 }),
      errorCode: fc.constantFrom(...ERROR_CODES),
      message: fc.string({ maxLength: 50 }),
    },
    { requiredKeys: ['name', 'status'] },
  );
const events = fc.tuple(...LIFECYCLE_EVENTS.map(lifecycleEvent)).map((lifecycle): EventRecord[] => [
  ...initialEvents().slice(0, 3),
  ...lifecycle,
  ...initialEvents().slice(-3),
]);

describe('stored event attributes', () => {
  it('read back exactly what was written, for an instance still running', () => {
    fc.assert(
      fc.property(events, (written) => {
        const item = { status: 'InProgress', ...changedEventAttributes(initialEvents(), written, false) };
        expect(eventsOf(item)).toEqual(written);
      }),
      { numRuns: 200 },
    );
  });

  it('write only the events that changed, and nothing the read derives once the instance ends', () => {
    fc.assert(
      fc.property(events, events, fc.constantFrom(...INSTANCE_STATUSES), (before, after, status) => {
        const ending = status !== 'Pending' && status !== 'InProgress';
        const stored = { status: 'InProgress', ...changedEventAttributes(initialEvents(), before, false) };
        const changed = changedEventAttributes(before, after, ending);
        const unchanged = after.filter((e, i) => JSON.stringify(e) === JSON.stringify(before[i])).map((e) => `ev_${e.name}`);
        for (const attribute of unchanged) expect(changed).not.toHaveProperty(attribute);
        const item = { ...stored, ...changed, status };
        const read = eventsOf(item);
        after.forEach((e, i) => {
          // Only an event with nothing stored is derived: Pending, or Skipped once the instance has ended.
          const derivedSkip = ending && e.status === 'Pending' && !(`ev_${e.name}` in item);
          expect(read[i]).toEqual(derivedSkip ? { ...e, status: 'Skipped' } : e);
        });
      }),
      { numRuns: 200 },
    );
  });

  it('load-balancer events are never written and always read Skipped', () => {
    const written = changedEventAttributes(initialEvents(), initialEvents(), true);
    expect(written).toEqual({});
    const read = eventsOf({ status: 'Succeeded' });
    expect(read.filter((e) => (TRAFFIC_EVENTS as readonly string[]).includes(e.name)).every((e) => e.status === 'Skipped')).toBe(true);
  });

  it('an item written with the older events list reads from it, stored event attributes winning', () => {
    const legacy = initialEvents().map((e) => (e.name === 'ApplicationStop' ? { ...e, status: 'Succeeded' as const, startedAt: '2026-01-01T00:00:00.000Z' } : e));
    const item = { status: 'InProgress', events: legacy, ...changedEventAttributes(legacy, legacy.map((e) => (e.name === 'DownloadBundle' ? { ...e, status: 'InProgress' as const } : e)), false) };
    expect(eventsOf(item).slice(3, 6).map((e) => [e.name, e.status])).toEqual([
      ['ApplicationStop', 'Succeeded'],
      ['DownloadBundle', 'InProgress'],
      ['BeforeInstall', 'Pending'],
    ]);
  });
});
