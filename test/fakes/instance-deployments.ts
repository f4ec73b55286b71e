import { changedEventAttributes, eventsOf } from '../../lib/adapters/dynamodb/event-attributes.js';
import { type EventRecord, type InstanceDeployment, initialEvents } from '../../lib/domain/deployment.js';
import type { InstanceCounts } from '../../lib/domain/minimum-healthy.js';
import { ConflictError } from '../../lib/errors.js';
import type { InstanceDeploymentsRepository, InstanceTransition, Page, PageRequest, ReservedChunk } from '../../lib/ports.js';
import { type FleetStore, type StoredInstance, expiry } from './state.js';
import { type Change, type Meter, Refused, byKey, chunksOf, clone, pageOf } from './store.js';

/** DynamoDB's limits the adapter works within, kept so the fakes write in the same steps. */
const BATCH_WRITE = 25;
const DISPATCH_CHUNK = 49;
const TTL_DAYS = { eventOutput: 90, agentAssignment: 14, reservedChunk: 1 };

type Status = InstanceDeployment['status'];
const COUNTER: Record<Status, keyof InstanceCounts> = {
  Pending: 'pending', InProgress: 'inProgress', Succeeded: 'succeeded', Failed: 'failed', Skipped: 'skipped', Unknown: 'unknown',
};
const ended = (status: Status) => status !== 'Pending' && status !== 'InProgress';

/** How an instance's events read back: what the stored form keeps (lib/adapters/dynamodb/event-attributes.ts). */
function toStored(instance: InstanceDeployment): StoredInstance {
  const { events, watchAt: _derived, ...rest } = clone(instance);
  return {
    ...rest,
    eventAttributes: changedEventAttributes(initialEvents(), events, ended(instance.status)),
    ...(instance.status === 'Pending' ? { indexedAs: 'pending' as const, indexKey: instance.instanceId } : {}),
  };
}

function fromStored(stored: StoredInstance): InstanceDeployment {
  const { eventAttributes, indexedAs, indexKey, ...rest } = clone(stored);
  for (const key of Object.keys(rest) as (keyof typeof rest)[]) if (rest[key] === undefined) delete rest[key];
  return { ...rest, events: eventsOf({ ...eventAttributes, status: stored.status }), ...(indexedAs === 'running' ? { watchAt: indexKey } : {}) };
}

export class FakeInstanceDeployments implements InstanceDeploymentsRepository {
  constructor(private readonly store: FleetStore, private readonly meter: Meter) {}

  private get state() {
    return this.store.state;
  }

  private partition(deploymentId: string): Map<string, StoredInstance> {
    const found = this.state.instanceDeployments.get(deploymentId) ?? new Map<string, StoredInstance>();
    this.state.instanceDeployments.set(deploymentId, found);
    return found;
  }

  private sorted(deploymentId: string, state = this.state): StoredInstance[] {
    return [...(state.instanceDeployments.get(deploymentId)?.values() ?? [])].sort((a, b) => (a.instanceId < b.instanceId ? -1 : 1));
  }

  private changed(record: (c: Change) => void, before: StoredInstance | undefined, after: StoredInstance | undefined): void {
    const id = `${(after ?? before)?.deploymentId}/${(after ?? before)?.instanceId}`;
    record({ type: 'InstanceDeployment', id, old: before && fromStored(before), new: after && fromStored(after) });
  }

  /** Moves the deployment's counters (an unconditional ADD: on a missing deployment there is nothing to move). */
  private count(record: (c: Change) => void, deploymentId: string, deltas: Partial<InstanceCounts>): void {
    const stored = this.state.deployments.get(deploymentId);
    if (!stored) return;
    const before = clone(stored.deployment);
    for (const [name, delta] of Object.entries(deltas)) stored.deployment.counts[name as keyof InstanceCounts] += delta;
    record({ type: 'Deployment', id: deploymentId, old: before, new: stored.deployment });
  }

  private assign(record: (c: Change) => void, instanceId: string, deploymentId: string, now: string): void {
    const inbox = this.state.assignments.get(instanceId) ?? new Map<string, { expiresAt: number }>();
    inbox.set(deploymentId, { expiresAt: expiry(TTL_DAYS.agentAssignment, Date.parse(now)) });
    this.state.assignments.set(instanceId, inbox);
    record({ type: 'AgentAssignment', id: `${instanceId}/${deploymentId}`, new: { instanceId, deploymentId } });
  }

  private unassign(record: (c: Change) => void, instanceId: string, deploymentId: string): void {
    const inbox = this.state.assignments.get(instanceId);
    const had = inbox?.delete(deploymentId);
    if (inbox?.size === 0) this.state.assignments.delete(instanceId);
    record({ type: 'AgentAssignment', id: `${instanceId}/${deploymentId}`, old: had ? { instanceId, deploymentId } : undefined });
  }

  /** Puts whole items, 25 per request (a request DynamoDB leaves partly unprocessed is finished by another). */
  private async batchPut(kind: string, items: StoredInstance[]): Promise<void> {
    for (const chunk of chunksOf(items, BATCH_WRITE)) {
      const parts = chunk.length > 1 && this.meter.splits() ? [chunk.slice(0, Math.floor(chunk.length / 2)), chunk.slice(Math.floor(chunk.length / 2))] : [chunk];
      for (const part of parts) {
        await this.store.write(this.meter, kind, (record) => {
          for (const item of part) {
            const partition = this.partition(item.deploymentId);
            const before = partition.get(item.instanceId);
            partition.set(item.instanceId, clone(item));
            this.changed(record, before, item);
          }
        }, 'idempotent');
      }
    }
  }

  async putAll(items: InstanceDeployment[]): Promise<void> {
    await this.batchPut('instanceDeployments.putAll', items.map(toStored));
  }

  async get(deploymentId: string, instanceId: string): Promise<InstanceDeployment | undefined> {
    await this.store.io(this.meter);
    const found = this.state.instanceDeployments.get(deploymentId)?.get(instanceId);
    return found && fromStored(found);
  }

  async list(deploymentId: string, page: PageRequest): Promise<Page<InstanceDeployment>> {
    await this.store.io(this.meter);
    return pageOf(this.sorted(deploymentId).map((i) => ({ key: i.instanceId, value: fromStored(i) })), `DEPLOYMENT#${deploymentId}`, page);
  }

  async saveOutput(deploymentId: string, instanceId: string, event: string, outputTail: string): Promise<void> {
    await this.store.write(this.meter, 'instanceDeployments.saveOutput', (record) => {
      const key = `${deploymentId}/${instanceId}`;
      const outputs = this.state.outputs.get(key) ?? new Map<string, { outputTail: string; expiresAt: number }>();
      outputs.set(event, { outputTail, expiresAt: expiry(TTL_DAYS.eventOutput) });
      this.state.outputs.set(key, outputs);
      record({ type: 'EventOutput', id: `${key}/${event}`, new: { outputTail } });
    }, 'idempotent');
  }

  async outputs(deploymentId: string, instanceId: string): Promise<Record<string, string>> {
    await this.store.io(this.meter);
    const found = this.state.outputs.get(`${deploymentId}/${instanceId}`);
    return Object.fromEntries([...(found?.entries() ?? [])].map(([event, o]) => [event, o.outputTail]));
  }

  async failedInstances(deploymentId: string, limit: number, statuses: readonly InstanceDeployment['status'][] = ['Failed', 'Unknown']): Promise<InstanceDeployment[]> {
    await this.store.io(this.meter);
    return this.sorted(deploymentId).filter((i) => statuses.includes(i.status)).slice(0, limit).map(fromStored);
  }

  /** The deployment's entries on the index (lagging as a GSI does when the store says so), in index order. */
  private indexed(deploymentId: string, as: 'pending' | 'running'): StoredInstance[] {
    return byKey(
      this.sorted(deploymentId, this.store.index()).filter((i) => i.indexedAs === as).map((i) => ({ key: `${i.indexKey ?? ''}\u0000${i.instanceId}`, i })),
    ).map((e) => e.i);
  }

  async pendingCandidates(deploymentId: string, limit: number): Promise<string[]> {
    await this.store.io(this.meter);
    return this.indexed(deploymentId, 'pending').slice(0, limit).map((i) => i.instanceId);
  }

  async due(deploymentId: string, now: string): Promise<string[]> {
    await this.store.io(this.meter);
    return this.indexed(deploymentId, 'running').filter((i) => (i.indexKey ?? '') <= now).map((i) => i.instanceId);
  }

  async findAssignment(instanceId: string): Promise<{ deploymentId: string } | undefined> {
    await this.store.io(this.meter);
    const first = [...(this.state.assignments.get(instanceId)?.keys() ?? [])].sort()[0];
    return first === undefined ? undefined : { deploymentId: first };
  }

  async existingIds(deploymentId: string): Promise<string[]> {
    await this.store.io(this.meter);
    return this.sorted(deploymentId).map((i) => i.instanceId);
  }

  async runningIds(deploymentId: string): Promise<string[]> {
    await this.store.io(this.meter);
    return this.indexed(deploymentId, 'running').map((i) => i.instanceId);
  }

  async proposeBatch(deploymentId: string, batch: number, token: string, instanceIds: string[]): Promise<ReservedChunk[]> {
    const proposed = chunksOf(instanceIds, DISPATCH_CHUNK).map((part, chunk) => ({
      key: `BATCH#${String(batch).padStart(6, '0')}#${token}#${String(chunk).padStart(4, '0')}`,
      token,
      instanceIds: part,
    }));
    for (const part of chunksOf(proposed, BATCH_WRITE)) {
      await this.store.write(this.meter, 'instanceDeployments.proposeBatch', (record) => {
        const chunks = this.state.chunks.get(deploymentId) ?? new Map<string, ReservedChunk & { expiresAt: number }>();
        for (const chunk of part) {
          chunks.set(chunk.key, { ...clone(chunk), expiresAt: expiry(TTL_DAYS.reservedChunk) });
          record({ type: 'ReservedChunk', id: `${deploymentId}/${chunk.key}`, new: chunk });
        }
        this.state.chunks.set(deploymentId, chunks);
      }, 'idempotent');
    }
    return clone(proposed);
  }

  async reservedChunks(deploymentId: string): Promise<ReservedChunk[]> {
    await this.store.io(this.meter);
    return byKey([...(this.state.chunks.get(deploymentId)?.values() ?? [])]).map(({ key, token, instanceIds }) => clone({ key, token, instanceIds }));
  }

  private takeChunk(record: (c: Change) => void, deploymentId: string, key: string): void {
    const chunks = this.state.chunks.get(deploymentId);
    const found = chunks?.get(key);
    chunks?.delete(key);
    record({ type: 'ReservedChunk', id: `${deploymentId}/${key}`, old: found });
  }

  async dispatchChunk(deploymentId: string, chunk: ReservedChunk, options: { now: string; watchAt: string }): Promise<string[]> {
    return this.store.write(this.meter, 'instanceDeployments.dispatchChunk', (record) => {
      // Another worker dispatched this chunk (or gave it back).
      if (!this.state.chunks.get(deploymentId)?.has(chunk.key)) throw new Refused([] as string[]);
      const partition = this.state.instanceDeployments.get(deploymentId);
      // An instance no longer pending gives its slot back.
      const ids = chunk.instanceIds.filter((id) => partition?.get(id)?.status === 'Pending');
      const givenBack = chunk.instanceIds.length - ids.length;
      for (const id of ids) {
        const before = partition?.get(id) as StoredInstance;
        const after: StoredInstance = { ...clone(before), status: 'InProgress', dispatchedAt: options.now, indexedAs: 'running', indexKey: options.watchAt, version: before.version + 1 };
        partition?.set(id, after);
        this.changed(record, before, after);
        this.assign(record, id, deploymentId, options.now);
      }
      this.takeChunk(record, deploymentId, chunk.key);
      if (givenBack > 0) this.count(record, deploymentId, { pending: givenBack, inProgress: -givenBack });
      return ids;
    }, 'idempotent');
  }

  async releaseChunk(deploymentId: string, chunk: ReservedChunk): Promise<void> {
    await this.store.write(this.meter, 'instanceDeployments.releaseChunk', (record) => {
      if (!this.state.chunks.get(deploymentId)?.has(chunk.key)) throw new Refused(undefined); // released (or dispatched) already
      this.takeChunk(record, deploymentId, chunk.key);
      this.count(record, deploymentId, { pending: chunk.instanceIds.length, inProgress: -chunk.instanceIds.length });
    }, 'idempotent');
  }

  async skipCountedPending(deploymentId: string, now: string): Promise<number> {
    await this.store.io(this.meter);
    const pending = this.sorted(deploymentId).filter((i) => i.status === 'Pending');
    const skipped = pending.map(({ indexedAs: _as, indexKey: _key, ...item }): StoredInstance => ({ ...item, status: 'Skipped', endedAt: now, version: item.version + 1 }));
    await this.batchPut('instanceDeployments.skipCountedPending', skipped);
    return skipped.length;
  }

  async skipUnacknowledged(deploymentId: string, instanceIds: string[], now: string): Promise<string[]> {
    const skipped: string[] = [];
    for (const chunk of chunksOf(instanceIds, DISPATCH_CHUNK)) {
      const done = await this.store.write(this.meter, 'instanceDeployments.skipUnacknowledged', (record) => {
        const partition = this.state.instanceDeployments.get(deploymentId);
        const ids = chunk.filter((id) => {
          const item = partition?.get(id);
          return item?.status === 'InProgress' && item.acknowledgedAt === undefined;
        });
        if (ids.length === 0) throw new Refused([] as string[]);
        for (const id of ids) {
          const before = partition?.get(id) as StoredInstance;
          const { indexedAs: _as, indexKey: _key, ...rest } = clone(before);
          const after: StoredInstance = { ...rest, status: 'Skipped', endedAt: now, version: before.version + 1 };
          partition?.set(id, after);
          this.changed(record, before, after);
          this.unassign(record, id, deploymentId);
        }
        this.count(record, deploymentId, { inProgress: -ids.length, skipped: ids.length });
        return ids;
      }, 'idempotent');
      skipped.push(...done);
    }
    return skipped;
  }

  async update(
    instance: InstanceDeployment,
    changes: { events: EventRecord[]; transition?: InstanceTransition | undefined; now: string; leaseExpiresAt?: string; watchAt?: string; acknowledgedAt?: string },
  ): Promise<InstanceDeployment> {
    const next: InstanceDeployment = { ...instance, events: changes.events, version: instance.version + 1 };
    if (changes.transition) {
      Object.assign(next, { status: changes.transition, endedAt: changes.now, watchAt: undefined });
    } else {
      for (const field of ['leaseExpiresAt', 'acknowledgedAt'] as const) if (changes[field] !== undefined) next[field] = changes[field];
      if (changes.watchAt !== undefined && instance.status === 'InProgress') next.watchAt = changes.watchAt;
    }
    const conflict = new ConflictError(`Instance ${instance.instanceId} changed while this report was being recorded`);
    await this.store.write(this.meter, changes.transition ? 'instanceDeployments.update transition' : 'instanceDeployments.update', (record) => {
      const partition = this.state.instanceDeployments.get(instance.deploymentId);
      const before = partition?.get(instance.instanceId);
      if (!before || before.version !== instance.version) throw conflict;
      const after: StoredInstance = clone(before);
      after.eventAttributes = { ...after.eventAttributes, ...changedEventAttributes(instance.events, changes.events, changes.transition !== undefined) };
      after.version = before.version + 1;
      if (changes.transition) {
        Object.assign(after, { status: changes.transition, endedAt: changes.now });
        delete after.indexedAs;
        delete after.indexKey;
      } else {
        for (const field of ['leaseExpiresAt', 'acknowledgedAt'] as const) if (changes[field] !== undefined) after[field] = changes[field];
        if (changes.watchAt !== undefined && instance.status === 'InProgress') after.indexKey = changes.watchAt;
      }
      partition?.set(instance.instanceId, after);
      this.changed(record, before, after);
      if (changes.transition) {
        this.unassign(record, instance.instanceId, instance.deploymentId);
        this.count(record, instance.deploymentId, { [COUNTER[instance.status]]: -1 });
        this.count(record, instance.deploymentId, { [COUNTER[changes.transition]]: 1 });
      }
    }, changes.transition ? 'idempotent' : 'condition');
    return next;
  }
}
