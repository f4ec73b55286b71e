import { describe, expect, it } from 'vitest';
import type { DeploymentConfig } from '../../lib/domain/deployment-config.js';
import { decideRollout, emptyCounts, minimumHealthyHosts, unsatisfiableReason } from '../../lib/domain/minimum-healthy.js';

describe('minimum healthy hosts (CodeDeploy rules)', () => {
  const cases: [string, DeploymentConfig, number, number][] = [
    ['HOST_COUNT is taken as is', { minimumHealthyHosts: { type: 'HOST_COUNT', value: 6 } }, 9, 6],
    ['FLEET_PERCENT rounds up', { minimumHealthyHosts: { type: 'FLEET_PERCENT', value: 40 } }, 9, 4],
    ['AllAtOnce keeps none', 'AllAtOnce', 9, 0],
    ['HalfAtATime keeps half, rounded up', 'HalfAtATime', 9, 5],
    ['OneAtATime keeps all but one', 'OneAtATime', 9, 8],
    ['OneAtATime on one host keeps none', 'OneAtATime', 1, 0],
  ];
  it.each(cases)('%s', (_name, config, fleet, expected) => {
    expect(minimumHealthyHosts(config, fleet)).toBe(expected);
  });

  it('9 hosts with HOST_COUNT 6 deploy 3 at a time', () => {
    expect(decideRollout(9, 6, emptyCounts(9))).toEqual({ kind: 'dispatch', count: 3 });
  });

  it('9 hosts with FLEET_PERCENT 40 deploy 5 at a time and need 4 successes', () => {
    const min = minimumHealthyHosts({ minimumHealthyHosts: { type: 'FLEET_PERCENT', value: 40 } }, 9);
    expect(decideRollout(9, min, emptyCounts(9))).toEqual({ kind: 'dispatch', count: 5 });
    const threeSucceeded = { ...emptyCounts(0), succeeded: 3, failed: 6 };
    expect(decideRollout(9, min, threeSucceeded).kind).toBe('fail');
    expect(decideRollout(9, min, { ...threeSucceeded, succeeded: 4, failed: 5 })).toEqual({ kind: 'succeed' });
  });

  it('a minimum at or above the fleet size cannot start', () => {
    expect(unsatisfiableReason(3, 3)).toMatch(/needs 3 healthy.*only 3/);
    expect(unsatisfiableReason(3, 2)).toBeUndefined();
    expect(minimumHealthyHosts('HalfAtATime', 1)).toBe(1);
    expect(unsatisfiableReason(1, 1)).toBeDefined();
  });

  it('waits while a batch runs and no more room is left', () => {
    expect(decideRollout(3, 2, { ...emptyCounts(2), inProgress: 1 })).toEqual({ kind: 'wait' });
  });

  it('dispatches into the room a success frees', () => {
    expect(decideRollout(9, 6, { ...emptyCounts(6), inProgress: 2, succeeded: 1 })).toEqual({ kind: 'dispatch', count: 1 });
  });

  describe('OneAtATime: a failure stops the rollout unless it is the last instance', () => {
    it('fails when the first of three fails', () => {
      expect(decideRollout(3, 2, { ...emptyCounts(2), failed: 1 }).kind).toBe('fail');
    });
    it('succeeds when only the last of three fails', () => {
      expect(decideRollout(3, 2, { ...emptyCounts(0), succeeded: 2, failed: 1 })).toEqual({ kind: 'succeed' });
    });
    it('fails on a single instance that fails', () => {
      expect(decideRollout(1, 0, { ...emptyCounts(0), failed: 1 }).kind).toBe('fail');
    });
  });

  it('counts lost (Unknown) instances as failed', () => {
    expect(decideRollout(2, 1, { ...emptyCounts(1), unknown: 1 }).kind).toBe('fail');
  });

  it('AllAtOnce succeeds with a single success', () => {
    expect(decideRollout(4, 0, { ...emptyCounts(0), succeeded: 1, failed: 3 })).toEqual({ kind: 'succeed' });
  });
});
