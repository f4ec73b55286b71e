import { marshall } from '@aws-sdk/util-dynamodb';
import { describe, expect, it } from 'vitest';
import workerStreamFilter from '../../build/worker-stream-filter.cjs';
import { INSTANCE_STATUSES, type InstanceStatus } from '../../lib/domain/lifecycle.js';
import { instanceEventState } from '../../lib/domain/state-events.js';
import { passesFilter } from '../../local/stream-filter.js';

const { patterns } = workerStreamFilter;

/** A stream record as Lambda's filter sees it: old and new images in DynamoDB's JSON. */
function record(before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined) {
  return {
    eventName: after === undefined ? 'REMOVE' : before === undefined ? 'INSERT' : 'MODIFY',
    dynamodb: {
      Keys: marshall({ PK: 'DEPLOYMENT#d-ABCDEFGHI', SK: 'INSTANCE#i-1' }),
      ...(before ? { OldImage: marshall(before) } : {}),
      ...(after ? { NewImage: marshall(after) } : {}),
    },
  };
}

const instance = (status: InstanceStatus, more: Record<string, unknown> = {}) => ({
  type: 'InstanceDeployment',
  deploymentId: 'd-ABCDEFGHI',
  instanceId: 'i-1',
  status,
  version: 3,
  ...more,
});

const passes = (before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined) => passesFilter(patterns, record(before, after));

describe("the worker's stream filter (build/worker-stream-filter.cjs)", () => {
  it("keeps an agent's report that leaves the instance's status as it was away from the worker", () => {
    // Each lifecycle event but the last: the events change, the status stays InProgress.
    expect(passes(instance('InProgress', { e_BeforeInstall: 'Pending' }), instance('InProgress', { e_BeforeInstall: 'Succeeded', leaseExpiresAt: 'later' }))).toBe(false);
    for (const status of INSTANCE_STATUSES) expect(passes(instance(status), instance(status, { version: 4 }))).toBe(false);
  });

  it('keeps the items the worker does nothing with away from it: inboxes, presence, removals', () => {
    expect(passes(undefined, { type: 'AgentAssignment', instanceId: 'i-1', deploymentId: 'd-ABCDEFGHI' })).toBe(false);
    expect(passes({ type: 'AgentPresence', lastSeenAt: 'a' }, { type: 'AgentPresence', lastSeenAt: 'b' })).toBe(false);
    expect(passes(instance('InProgress'), undefined)).toBe(false);
    expect(passes({ type: 'Deployment', status: 'InProgress' }, undefined)).toBe(false);
  });

  it("passes an instance's change exactly when it makes an event (instanceEventState)", () => {
    for (const from of INSTANCE_STATUSES) {
      for (const to of INSTANCE_STATUSES) {
        const makesEvent = instanceEventState({ status: from }, { status: to }) !== undefined;
        expect({ from, to, passes: passes(instance(from), instance(to)) }).toEqual({ from, to, passes: makesEvent });
      }
    }
  });

  it('drops an instance written for the first time: it is written Pending, which makes no event', () => {
    expect(instanceEventState(undefined, { status: 'Pending' })).toBeUndefined();
    expect(passes(undefined, instance('Pending'))).toBe(false);
  });

  it('passes every write of a deployment, an execution, a live log follower lease and an event, first or later', () => {
    for (const type of ['Deployment', 'Execution', 'LiveLogFollow', 'Event']) {
      expect(passes(undefined, { type, status: 'Created' })).toBe(true);
      expect(passes({ type, status: 'InProgress' }, { type, status: 'InProgress', version: 2 })).toBe(true);
    }
  });

  it('passes every write of a registered instance (one whose tags changed may catch up with a group), and never its removal', () => {
    const registered = (tags: unknown[]) => ({ type: 'Instance', instanceId: 'rack-1', tags, iamArn: null });
    expect(passes(undefined, registered([{ key: 'fleet', value: 'web' }]))).toBe(true);
    expect(passes(registered([]), registered([{ key: 'fleet', value: 'web' }]))).toBe(true);
    expect(passes(registered([]), undefined)).toBe(false);
  });

  it("stays within Lambda's default of five patterns per event source mapping", () => {
    expect(patterns.length).toBeLessThanOrEqual(5);
  });

  it('refuses a rule it does not know rather than guessing what AWS would pass', () => {
    expect(() => passesFilter([{ dynamodb: { NewImage: { type: { S: [{ prefix: 'Dep' }] } } } }], record(undefined, { type: 'Deployment' }))).toThrow(/Unsupported filter rule/);
  });
});
