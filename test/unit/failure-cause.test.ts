import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InstanceDeployment } from '../../lib/domain/deployment.js';
import { deploymentFailedError, describeFailure, firstFailure } from '../../lib/domain/failure-cause.js';

const instance = (instanceId: string, status: InstanceDeployment['status'], endedAt: string | undefined, events: InstanceDeployment['events']): InstanceDeployment => ({
  deploymentId: 'd-AAAAAAAAA', instanceId, source: 'registered', status, events, endedAt, version: 3,
});

describe('a failed deployment names its cause', () => {
  it('names the first instance to fail, its event, script and exit code before the rule that ended it', () => {
    const instances = [
      instance('web-2', 'Failed', '2026-11-23T10:00:05Z', [
        { name: 'DownloadBundle', status: 'Succeeded' },
        { name: 'ValidateService', status: 'Failed', errorCode: 'ScriptFailed', exitCode: 2, message: 'check.sh exited with 2' },
      ]),
      instance('web-1', 'Failed', '2026-11-23T10:00:01Z', [
        { name: 'ApplicationStart', status: 'Failed', errorCode: 'ScriptFailed', exitCode: 1, message: 'start.sh exited with 1' },
      ]),
    ];
    expect(deploymentFailedError('2 instance(s) failed: at most 1 can succeed, 2 must', instances)).toEqual({
      code: 'HealthConstraints',
      message: 'web-1 failed at ApplicationStart: start.sh exited with 1 (ScriptFailed, exit code 1). 2 instance(s) failed: at most 1 can succeed, 2 must',
      cause: { instanceId: 'web-1', event: 'ApplicationStart', errorCode: 'ScriptFailed', exitCode: 1, message: 'start.sh exited with 1' },
    });
  });

  it('a lost agent is named with the event it was running', () => {
    const lost = instance('i-0abc', 'Unknown', '2026-11-23T10:00:00Z', [{ name: 'Install', status: 'InProgress' }]);
    expect(describeFailure(firstFailure([lost])!)).toBe('i-0abc failed at Install (AgentLost)');
  });

  it('without a failed instance the rule alone is the message', () => {
    expect(deploymentFailedError('0 instance(s) succeeded; 1 must', [instance('a', 'Succeeded', undefined, [])])).toEqual({
      code: 'HealthConstraints', message: '0 instance(s) succeeded; 1 must',
    });
  });

  it('whatever the order they are given in, the earliest failure wins and it is one of the failed ones', () => {
    const status = fc.constantFrom<InstanceDeployment['status']>('Failed', 'Unknown', 'Succeeded', 'Skipped');
    const item = fc.record({ id: fc.stringMatching(/^[a-z0-9-]{1,8}$/), status, at: fc.option(fc.integer({ min: 0, max: 59 })) });
    fc.assert(
      fc.property(fc.uniqueArray(item, { selector: (i) => i.id, maxLength: 12 }), (items) => {
        const instances = items.map((i) => instance(i.id, i.status, i.at === null ? undefined : `2026-11-23T10:00:${String(i.at).padStart(2, '0')}Z`, []));
        const cause = firstFailure(instances);
        const failed = instances.filter((i) => i.status === 'Failed' || i.status === 'Unknown');
        if (failed.length === 0) {
          expect(cause).toBeUndefined();
          return;
        }
        const reversed = firstFailure([...instances].reverse());
        expect(reversed).toEqual(cause);
        const chosen = failed.find((i) => i.instanceId === cause?.instanceId)!;
        for (const other of failed) if (other.endedAt && chosen.endedAt) expect(chosen.endedAt <= other.endedAt).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
