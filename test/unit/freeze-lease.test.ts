import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TARGET_RESOLUTION_GRACE_SECONDS, afterResolutionFailure, decideCreated } from '../../lib/domain/freeze-lease.js';

const NOW = '2026-11-23T12:00:00.000Z';
const iso = fc.date({ min: new Date('2026-11-23T11:50:00Z'), max: new Date('2026-11-23T12:10:00Z'), noInvalidDate: true }).map((d) => d.toISOString());
const stop = { at: NOW, by: 'arn:aws:iam::111111111111:user/ops', rollback: false };
const created = fc.record(
  {
    stopRequested: fc.option(fc.constant(stop), { nil: undefined }),
    freezeLease: fc.option(fc.record({ token: fc.string({ minLength: 1, maxLength: 12 }), until: iso }), { nil: undefined }),
  },
  { requiredKeys: [] },
);

describe('what a Created deployment needs next', () => {
  it('waits while a live worker freezes its targets, whether or not a stop was asked for', () => {
    fc.assert(
      fc.property(created, (d) => {
        const live = d.freezeLease !== undefined && d.freezeLease.until > NOW;
        expect(decideCreated(d, NOW) === 'wait').toBe(live);
      }),
    );
  });

  it('is stopped at once only when no worker ever began freezing it (so no instance item can exist)', () => {
    fc.assert(
      fc.property(created, (d) => {
        expect(decideCreated(d, NOW) === 'stop').toBe(d.stopRequested !== undefined && d.freezeLease === undefined);
      }),
    );
  });

  it('is frozen by the next worker when its holder died, even with a stop asked for since: what the dead worker wrote gets counted', () => {
    const dead = { token: 'a1b2c3d4e5f6', until: '2026-11-23T11:59:59.999Z' };
    expect(decideCreated({ freezeLease: dead }, NOW)).toBe('freeze');
    expect(decideCreated({ freezeLease: dead, stopRequested: stop }, NOW)).toBe('freeze');
    expect(decideCreated({ freezeLease: { ...dead, until: NOW } }, NOW)).toBe('freeze');
    expect(decideCreated({}, NOW)).toBe('freeze');
  });
});

describe('after a deployment’s targets could not be resolved', () => {
  const createdAt = '2026-11-23T12:00:00.000Z';
  const after = (seconds: number) => new Date(Date.parse(createdAt) + seconds * 1000).toISOString();

  it('fails it at once when the cause lasts, however young it is', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10 * TARGET_RESOLUTION_GRACE_SECONDS }), (s) => afterResolutionFailure(createdAt, after(s), true) === 'fail'));
  });

  it('tries again for a passing cause exactly until the grace period since it was created has passed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * TARGET_RESOLUTION_GRACE_SECONDS }), (s) => {
        expect(afterResolutionFailure(createdAt, after(s), false)).toBe(s < TARGET_RESOLUTION_GRACE_SECONDS ? 'retry' : 'fail');
      }),
    );
  });
});
