import { createHash } from 'node:crypto';
import type { Deployment, Revision } from '../../lib/domain/deployment.js';
import type { ScopedToken } from '../../lib/domain/engine-tokens.js';
import type { FreezeLease } from '../../lib/domain/freeze-lease.js';
import { notFound } from '../../lib/domain/not-found.js';
import { GroupBusyError } from '../../lib/errors.js';
import type { CreateResult, DeploymentFilter, DeploymentsRepository, Page, PageRequest, QueuedChanges } from '../../lib/ports.js';
import { type FleetStore, expiry, groupKey } from './state.js';
import { type Change, type Meter, Refused, byKey, clone, pageOf } from './store.js';

const IDEMPOTENCY_TTL_DAYS = 7;
const unfinished = (d: Deployment) => d.status === 'Created' || d.status === 'InProgress';
/** On the active list: unfinished, or queued (the reconciler starts a group's queue too). */
const listedActive = (d: Deployment) => unfinished(d) || d.status === 'Queued';
const queueKey = (d: Deployment) => `${d.createdAt}#${d.deploymentId}`;

/** The listing partitions a deployment is written to: every deployment, its application's, its group's. */
const listingsOf = (application: string, group: string) => ['DEPLOYMENTS', `DEPLOYMENTS#${application}`, `DEPLOYMENTS#${application}#${group}`];
const listingOf = (filter: DeploymentFilter) =>
  filter.application === undefined ? 'DEPLOYMENTS' : filter.group === undefined ? `DEPLOYMENTS#${filter.application}` : `DEPLOYMENTS#${filter.application}#${filter.group}`;
const tokenKey = (application: string, group: string, { owner, token }: ScopedToken) =>
  `${application}#${group}#${createHash('sha256').update(owner).digest('hex')}#${token}`;

/** In progress + failed + unknown: the hosts not serving, which the batch guard caps. */
export const offline = (d: Deployment) => d.counts.inProgress + d.counts.failed + d.counts.unknown;

export class FakeDeployments implements DeploymentsRepository {
  constructor(private readonly store: FleetStore, private readonly meter: Meter) {}

  private get state() {
    return this.store.state;
  }

  async create(
    deployment: Deployment,
    options: { lockGroup: boolean; aheadOfQueue?: boolean | undefined; idempotencyToken?: ScopedToken | undefined; requestFingerprint?: string | undefined },
    queue = false,
  ): Promise<CreateResult> {
    const { application, group, deploymentId } = deployment;
    return this.store.write(this.meter, queue ? 'deployments.enqueue' : 'deployments.create', (record) => {
      const token = options.idempotencyToken && tokenKey(application, group, options.idempotencyToken);
      const used = token === undefined ? undefined : this.state.idempotency.get(token);
      const groupRecord = this.state.groups.get(groupKey(application, group));
      const exists = this.state.deployments.has(deploymentId);
      const queued = groupRecord?.queue?.size ?? 0;
      const lockRefused = queue ? !groupRecord : options.lockGroup && (!groupRecord || groupRecord.activeDeploymentId !== undefined || (!options.aheadOfQueue && queued > 0));
      if (used) throw new Refused({ kind: 'existing', deploymentId: used.deploymentId, requestFingerprint: used.requestFingerprint } satisfies CreateResult);
      if (lockRefused) {
        if (!groupRecord) throw notFound.group(application, group);
        // A retried request whose first attempt took effect (its answer was lost): the slot is already ours.
        if (groupRecord.activeDeploymentId === deploymentId) throw new Refused({ kind: 'created', deployment } satisfies CreateResult);
        throw new GroupBusyError(application, group, groupRecord.activeDeploymentId, queued);
      }
      if (exists) throw new Error(`Transaction cancelled: deployment ${deploymentId} exists already`);
      if (queue && groupRecord) {
        groupRecord.queue = groupRecord.queue ?? new Map<string, string>();
        groupRecord.queue.set(queueKey(deployment), deploymentId);
        record({ type: 'DeploymentGroup', id: groupKey(application, group), old: { queueLength: queued }, new: { queueLength: queued + 1 } });
      } else if (options.lockGroup && groupRecord) {
        groupRecord.activeDeploymentId = deploymentId;
        record({ type: 'DeploymentGroup', id: groupKey(application, group), old: { activeDeploymentId: undefined }, new: { activeDeploymentId: deploymentId } });
      }
      this.state.deployments.set(deploymentId, { deployment: clone(deployment), active: listedActive(deployment) });
      record({ type: 'Deployment', id: deploymentId, new: deployment });
      for (const listing of listingsOf(application, group)) {
        const entries = this.state.listings.get(listing) ?? new Map<string, string>();
        entries.set(`${deployment.createdAt}#${deploymentId}`, deploymentId);
        this.state.listings.set(listing, entries);
      }
      if (token !== undefined) {
        this.state.idempotency.set(token, {
          deploymentId,
          ...(options.requestFingerprint ? { requestFingerprint: options.requestFingerprint } : {}),
          expiresAt: expiry(IDEMPOTENCY_TTL_DAYS, Date.parse(deployment.createdAt)),
        });
      }
      return { kind: 'created', deployment } satisfies CreateResult;
    }, 'idempotent');
  }

  enqueue(deployment: Deployment, options: { idempotencyToken?: ScopedToken | undefined; requestFingerprint?: string | undefined }): Promise<CreateResult> {
    return this.create(deployment, { ...options, lockGroup: true }, true);
  }

  async queued(application: string, group: string, limit: number): Promise<string[]> {
    await this.store.io(this.meter);
    const queue = this.state.groups.get(groupKey(application, group))?.queue ?? new Map<string, string>();
    return byKey([...queue.entries()].map(([key, id]) => ({ key, value: id }))).map((e) => e.value).slice(0, limit);
  }

  async dequeue(deployment: Deployment, now: string, changes?: QueuedChanges): Promise<'started' | 'busy' | 'notQueued'> {
    const { application, group, deploymentId } = deployment;
    return this.store.write(this.meter, 'deployments.dequeue', (record) => {
      const key = groupKey(application, group);
      const groupRecord = this.state.groups.get(key);
      if (!groupRecord || groupRecord.activeDeploymentId !== undefined) throw new Refused('busy');
      const stored = this.state.deployments.get(deploymentId);
      const entry = queueKey(deployment);
      if (!stored || stored.deployment.status !== 'Queued' || stored.deployment.stopRequested || !groupRecord.queue?.has(entry)) throw new Refused('notQueued');
      const before = clone(stored.deployment);
      Object.assign(stored.deployment, { status: 'Created', dequeuedAt: now, ...clone(changes ?? {}) });
      groupRecord.queue.delete(entry);
      groupRecord.activeDeploymentId = deploymentId;
      record({ type: 'DeploymentGroup', id: key, old: { activeDeploymentId: undefined }, new: { activeDeploymentId: deploymentId } });
      record({ type: 'Deployment', id: deploymentId, old: before, new: stored.deployment });
      return 'started' as const;
    });
  }

  async endQueued(deployment: Deployment, outcome: { status: 'Stopped'; error: { code: string; message: string }; now: string }): Promise<boolean> {
    return this.store.write(this.meter, 'deployments.endQueued', (record) => {
      const stored = this.state.deployments.get(deployment.deploymentId);
      if (!stored || stored.deployment.status !== 'Queued') throw new Refused(false);
      const groupRecord = this.state.groups.get(groupKey(deployment.application, deployment.group));
      if (!groupRecord) throw new Error('Transaction cancelled: the group is gone');
      const before = clone(stored.deployment);
      Object.assign(stored.deployment, { status: outcome.status, completedAt: outcome.now, error: clone(outcome.error) });
      groupRecord.queue?.delete(queueKey(deployment));
      record({ type: 'Deployment', id: deployment.deploymentId, old: before, new: stored.deployment });
      return true;
    });
  }

  async findByIdempotencyToken(application: string, group: string, token: ScopedToken) {
    await this.store.io(this.meter);
    const used = this.state.idempotency.get(tokenKey(application, group, token));
    return used && { deploymentId: used.deploymentId, requestFingerprint: used.requestFingerprint };
  }

  async get(deploymentId: string): Promise<Deployment | undefined> {
    await this.store.io(this.meter);
    return clone(this.state.deployments.get(deploymentId)?.deployment);
  }

  async list(filter: DeploymentFilter, page: PageRequest<Deployment>): Promise<Page<Deployment>> {
    await this.store.io(this.meter);
    const listing = listingOf(filter);
    const entries = byKey(
      [...(this.state.listings.get(listing) ?? new Map<string, string>()).entries()].map(([key, id]) => ({ key, value: clone(this.state.deployments.get(id)?.deployment) })),
      'desc',
    );
    return pageOf(entries, listing, page, 'desc', (d) => filter.status === undefined || d.status === filter.status);
  }

  /** A conditional update of one deployment: `change` returns false (nothing written) when its condition does not hold. */
  private update(kind: string, deploymentId: string, change: (d: Deployment, stored: { active: boolean }) => boolean): Promise<boolean> {
    return this.store.write(this.meter, `deployments.${kind}`, (record) => {
      const stored = this.state.deployments.get(deploymentId);
      if (!stored) throw new Refused(false);
      const before = clone(stored.deployment);
      const next = clone(stored.deployment);
      if (!change(next, stored)) throw new Refused(false);
      stored.deployment = next;
      record({ type: 'Deployment', id: deploymentId, old: before, new: next });
      return true;
    });
  }

  claimFreeze(deploymentId: string, lease: FreezeLease, now: string): Promise<boolean> {
    return this.update('claimFreeze', deploymentId, (d) => {
      const free = (d.freezeLease === undefined && d.stopRequested === undefined) || (d.freezeLease !== undefined && d.freezeLease.until <= now);
      if (d.status !== 'Created' || !free) return false;
      d.freezeLease = clone(lease);
      return true;
    });
  }

  startRollout(deploymentId: string, fleet: { fleetSize: number; minimumHealthyHosts: number; now: string; lease: string }): Promise<boolean> {
    return this.update('startRollout', deploymentId, (d) => {
      if (d.status !== 'Created' || d.freezeLease?.token !== fleet.lease) return false;
      Object.assign(d, { status: 'InProgress', startedAt: fleet.now, fleetSize: fleet.fleetSize, minimumHealthyHosts: fleet.minimumHealthyHosts });
      d.counts.pending = fleet.fleetSize;
      delete d.freezeLease;
      return true;
    });
  }

  reserveBatch(deploymentId: string, r: { batch: number; token: string; size: number; maxOffline: number }): Promise<boolean> {
    return this.update('reserveBatch', deploymentId, (d) => {
      const previous = r.batch === 1 ? d.batchNumber === undefined : d.batchNumber === r.batch - 1;
      if (d.status !== 'InProgress' || d.stopRequested !== undefined || !previous || offline(d) > r.maxOffline - r.size || d.counts.pending < r.size) return false;
      d.batchNumber = r.batch;
      d.counts.pending -= r.size;
      d.counts.inProgress += r.size;
      d.openBatches = [...new Set([...(d.openBatches ?? []), r.token])];
      return true;
    });
  }

  async closeBatch(deploymentId: string, token: string): Promise<void> {
    await this.store.write(this.meter, 'deployments.closeBatch', (record) => {
      const stored = this.state.deployments.get(deploymentId);
      if (!stored) return;
      const before = clone(stored.deployment);
      const left = (stored.deployment.openBatches ?? []).filter((t) => t !== token);
      // An empty set is no attribute at all.
      if (left.length > 0) stored.deployment.openBatches = left;
      else delete stored.deployment.openBatches;
      record({ type: 'Deployment', id: deploymentId, old: before, new: stored.deployment });
    });
  }

  countPendingAsSkipped(deploymentId: string): Promise<boolean> {
    return this.update('countPendingAsSkipped', deploymentId, (d) => {
      if (listedActive(d) || d.counts.pending <= 0) return false;
      d.counts.skipped += d.counts.pending;
      d.counts.pending = 0;
      return true;
    });
  }

  markEndHandled(deploymentId: string): Promise<boolean> {
    return this.update('markEndHandled', deploymentId, (d) => {
      if (d.endHandled !== undefined) return false;
      d.endHandled = true;
      return true;
    });
  }

  retire(deploymentId: string): Promise<boolean> {
    return this.update('retire', deploymentId, (d, stored) => {
      const done = stored.active && !listedActive(d) && d.endHandled === true && d.counts.pending === 0 && d.counts.inProgress === 0 && d.openBatches === undefined;
      if (!done) return false;
      stored.active = false;
      return true;
    });
  }

  requestStop(deploymentId: string, stop: NonNullable<Deployment['stopRequested']>): Promise<boolean> {
    return this.update('requestStop', deploymentId, (d) => {
      if (!listedActive(d) || d.stopRequested !== undefined) return false;
      d.stopRequested = clone(stop);
      return true;
    });
  }

  async finalize(
    deployment: Deployment,
    outcome: { status: 'Succeeded' | 'Failed' | 'Stopped'; error?: { code: string; message: string } | undefined; now: string },
  ): Promise<boolean> {
    return this.store.write(this.meter, 'deployments.finalize', (record) => {
      const stored = this.state.deployments.get(deployment.deploymentId);
      if (!stored || !unfinished(stored.deployment)) throw new Refused(false);
      const key = groupKey(deployment.application, deployment.group);
      const group = this.state.groups.get(key);
      const groupFree = group !== undefined && (group.activeDeploymentId === deployment.deploymentId || group.activeDeploymentId === undefined);
      if (!groupFree) throw new Error(`Transaction cancelled: the group ${key} is held by ${group?.activeDeploymentId ?? 'nobody (it is gone)'}`);
      const before = clone(stored.deployment);
      Object.assign(stored.deployment, { status: outcome.status, completedAt: outcome.now }, outcome.error ? { error: clone(outcome.error) } : {});
      record({ type: 'Deployment', id: deployment.deploymentId, old: before, new: stored.deployment });
      const holder = group.activeDeploymentId;
      delete group.activeDeploymentId;
      if (outcome.status === 'Succeeded') group.lastSuccessful = { deploymentId: deployment.deploymentId, revision: clone(deployment.revision) };
      record({ type: 'DeploymentGroup', id: key, old: { activeDeploymentId: holder }, new: { activeDeploymentId: undefined } });
      return true;
    }, 'idempotent');
  }

  async linkRollback(originalId: string, rollbackId: string): Promise<void> {
    await this.store.write(this.meter, 'deployments.linkRollback', (record) => {
      const stored = this.state.deployments.get(originalId);
      if (!stored) return;
      const before = clone(stored.deployment);
      stored.deployment.rolledBackBy = rollbackId;
      record({ type: 'Deployment', id: originalId, old: before, new: stored.deployment } satisfies Change);
    });
  }

  async listActive(): Promise<Deployment[]> {
    await this.store.io(this.meter);
    const ids = [...this.store.index().deployments.entries()].filter(([, d]) => d.active).map(([id]) => id).sort();
    // The index holds IDs only: each deployment is read itself, consistently.
    const found: Deployment[] = [];
    for (const id of ids) {
      const deployment = await this.get(id);
      if (deployment) found.push(deployment);
    }
    return found;
  }

  async lastSuccessfulRevision(application: string, group: string): Promise<{ deploymentId: string; revision: Revision } | undefined> {
    await this.store.io(this.meter);
    return clone(this.state.groups.get(groupKey(application, group))?.lastSuccessful);
  }
}
