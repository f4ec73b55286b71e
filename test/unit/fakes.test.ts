import { describe, expect, it } from 'vitest';
import { initialEvents } from '../../lib/domain/deployment.js';
import { fakeRepositories } from '../fakes/repositories.js';
import { createFleetStore } from '../fakes/state.js';
import { EngineCrashed, Meter } from '../fakes/store.js';

/** What only the fakes do: lag their indexes as a GSI does, die after a given write, and replay writes whose answer was lost. */
describe('the in-memory fakes', () => {
  it('with their indexes lagging, index queries see the records as they were until the index catches up', async () => {
    const store = createFleetStore();
    const ports = fakeRepositories(store);
    await ports.instanceDeployments.putAll([{ deploymentId: 'd-1', instanceId: 'i-1', source: 'registered', status: 'Pending', events: initialEvents(), version: 0 }]);
    store.lagIndexes(true);
    await ports.instanceDeployments.putAll([{ deploymentId: 'd-1', instanceId: 'i-1', source: 'registered', status: 'Skipped', events: initialEvents(), version: 1 }]);
    await ports.instances.put('i-9', { tags: [] }, '2026-01-01T00:00:00.000Z');
    // Stale: still pending on the index, the new instance not yet listed; reads of the table itself are current.
    expect(await ports.instanceDeployments.pendingCandidates('d-1', 5)).toEqual(['i-1']);
    expect((await ports.instances.list({ limit: 5 })).items).toEqual([]);
    expect((await ports.instanceDeployments.get('d-1', 'i-1'))?.status).toBe('Skipped');
    store.catchUpIndexes();
    expect(await ports.instanceDeployments.pendingCandidates('d-1', 5)).toEqual([]);
    expect((await ports.instances.list({ limit: 5 })).items.map((i) => i.instanceId)).toEqual(['i-9']);
    store.lagIndexes(false);
  });

  it('die right after the n-th write took effect: its answer and every later call fail', async () => {
    const store = createFleetStore();
    const meter = new Meter(2);
    const ports = fakeRepositories(store, meter);
    await ports.instances.put('i-1', { tags: [] }, '2026-01-01T00:00:00.000Z');
    await expect(ports.instances.put('i-2', { tags: [] }, '2026-01-01T00:00:00.000Z')).rejects.toThrow(EngineCrashed);
    await expect(ports.instances.get('i-1')).rejects.toThrow(EngineCrashed);
    expect([meter.writes, meter.kinds]).toEqual([2, ['instances.put', 'instances.put']]);
    // The write it died after did happen, for any other process.
    expect((await fakeRepositories(store).instances.listAll()).map((i) => i.instanceId)).toEqual(['i-1', 'i-2']);
  });

  it('replay a conditional write whose answer was lost, as the SDK does, and answer what the replay answers', async () => {
    const store = createFleetStore();
    const meter = new Meter(Infinity, () => 0, 0.5);
    const ports = fakeRepositories(store, meter);
    await fakeRepositories(store).applications.put('web', { description: '', revisionSources: [] }, '2026-01-01T00:00:00.000Z');
    // Taken by the first attempt; the replay finds it taken (by itself), as a DynamoDB conditional write does.
    expect(await ports.executions.acquireStage('web', 0, 'x-1')).toBe(true);
    expect(await ports.executions.recordSequencer('b', 'k', '01')).toBe(true);
    // The replay of a create finds the item its first attempt wrote: the caller hears "it existed".
    const registered = await ports.instances.registerNew('i-1', 'arn:aws:sts::1:assumed-role/agent/i-1', [], '2026-01-01T00:00:00.000Z');
    expect(registered).toMatchObject({ created: false, value: { instanceId: 'i-1' } });
    expect(meter.faults.replays).toBe(3);
  });
});
