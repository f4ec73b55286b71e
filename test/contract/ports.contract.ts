import { describe, expect, it } from 'vitest';
import type { DeploymentGroupSettings } from '../../lib/domain/deployment-group.js';
import { type Deployment, type InstanceDeployment, initialEvents } from '../../lib/domain/deployment.js';
import type { Execution } from '../../lib/domain/pipeline.js';
import { ConflictError, GroupBusyError, NotFoundError, ValidationError } from '../../lib/errors.js';
import type {
  AccessRulesRepository,
  AgentConnectionsRepository,
  AgentPresenceRepository,
  ApplicationsRepository,
  CredentialAuditLog,
  DeploymentGroupsRepository,
  DeploymentsRepository,
  ExecutionsRepository,
  InstanceDeploymentsRepository,
  InstancesRepository,
  LiveLogRepository,
  Page,
  PipelinesRepository,
} from '../../lib/ports.js';

/**
 * What every implementation of the table's ports must do, run against the
 * in-memory fakes (test/unit/port-contract.test.ts) and the DynamoDB adapters
 * on DynamoDB Local (test/integration/port-contract.test.ts): the fakes the
 * engine lab runs on cannot drift from the adapters without one of them failing.
 */
export interface Ports {
  applications: ApplicationsRepository;
  groups: DeploymentGroupsRepository;
  instances: InstancesRepository;
  deployments: DeploymentsRepository;
  instanceDeployments: InstanceDeploymentsRepository;
  agentPresence: AgentPresenceRepository;
  connections: AgentConnectionsRepository;
  pipelines: PipelinesRepository;
  executions: ExecutionsRepository;
  accessRules: AccessRulesRepository;
  audit: CredentialAuditLog;
  liveLogs: LiveLogRepository;
  /** How many write requests took effect so far (DynamoDB's, or the fakes' counted writes): the crash matrix's steps. */
  writes(): number;
}

const NOW = '2026-01-01T00:00:00.000Z';
const LATER = '2026-01-01T00:10:00.000Z';

const groupSettings = (): DeploymentGroupSettings & { hookRoleSetBy: string | null } => ({
  targets: { onPremisesTagSet: [[{ key: 'fleet', value: 'web', type: 'KEY_AND_VALUE' }]] } as never,
  deploymentConfig: { minimumHealthyHosts: { type: 'HOST_COUNT', value: 0 } } as never,
  autoRollback: { enabled: false, events: [] },
  fileExistsBehavior: 'DISALLOW',
  ignoreApplicationStopFailures: false,
  hookRoleArn: null,
  hookRoleSetBy: null,
  busyBehavior: 'QUEUE',
  outdatedInstancesStrategy: 'IGNORE',
  triggerConfigurations: [],
});

let serial = 0;
const deploymentOf = (overrides: Partial<Deployment> = {}): Deployment => ({
  deploymentId: `d-CONTRACT${String(++serial).padStart(2, '0')}`,
  application: 'web',
  group: 'prod',
  groupId: 'group-id',
  revision: { bucket: 'b', key: 'web/app.zip', bundleType: 'zip' },
  deploymentConfig: { minimumHealthyHosts: { type: 'HOST_COUNT', value: 0 } } as never,
  minimumHealthyHosts: 0,
  fleetSize: 0,
  status: 'Created',
  counts: { pending: 0, inProgress: 0, succeeded: 0, failed: 0, skipped: 0, unknown: 0 },
  fileExistsBehavior: 'DISALLOW',
  ignoreApplicationStopFailures: false,
  description: '',
  creator: 'alice',
  createdAt: `2026-01-01T00:00:${String(serial % 60).padStart(2, '0')}.000Z`,
  hookRoleArn: null,
  ...overrides,
});

const instanceOf = (deploymentId: string, instanceId: string): InstanceDeployment => ({
  deploymentId, instanceId, source: 'registered', status: 'Pending', events: initialEvents(), version: 0,
});

const executionOf = (id: string, overrides: Partial<Execution> = {}): Execution => ({
  executionId: id,
  pipeline: 'web',
  definition: [{ name: 'prod', actions: [] }] as never,
  revision: { bucket: 'b', key: 'web/pipe/app.zip' },
  trigger: { type: 'Manual', by: 'alice' },
  status: 'InProgress',
  stageIndex: 0,
  waiting: false,
  stages: [{ name: 'prod', status: 'Pending', actions: [] }],
  createdAt: NOW,
  updatedAt: NOW,
  version: 0,
  ...overrides,
});

async function all<T>(list: (nextToken?: string) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const page = await list(token);
    items.push(...page.items);
    token = page.nextToken;
  } while (token);
  return items;
}

/** Registers the contract's tests for one implementation: `open` gives fresh, empty ports for each test. */
export function portContract(open: () => Promise<Ports>): void {
  const withGroup = async (ports: Ports) => {
    await ports.applications.put('web', { description: '', revisionSources: [] }, NOW);
    await ports.groups.put('web', 'prod', groupSettings(), NOW, () => 'group-id');
  };
  /** A deployment rolled out to `ids`, all pending. */
  const rolledOut = async (ports: Ports, ids: string[], overrides: Partial<Deployment> = {}) => {
    const d = deploymentOf(overrides);
    await ports.deployments.create(d, { lockGroup: true });
    expect(await ports.deployments.claimFreeze(d.deploymentId, { token: 'lease', until: LATER }, NOW)).toBe(true);
    await ports.instanceDeployments.putAll(ids.map((id) => instanceOf(d.deploymentId, id)));
    expect(await ports.deployments.startRollout(d.deploymentId, { fleetSize: ids.length, minimumHealthyHosts: 0, now: NOW, lease: 'lease' })).toBe(true);
    return d;
  };

  describe('applications', () => {
    it('creates, updates, lists in pages by name, and refuses to delete one with groups', async () => {
      const ports = await open();
      expect((await ports.applications.put('web', { description: 'a', revisionSources: [] }, NOW)).created).toBe(true);
      const updated = await ports.applications.put('web', { description: 'b', revisionSources: [] }, LATER);
      expect(updated).toMatchObject({ created: false, value: { name: 'web', description: 'b', createdAt: NOW, updatedAt: LATER } });
      expect(await ports.applications.get('web')).toEqual(updated.value);
      for (const name of ['api', 'zeta']) await ports.applications.put(name, { description: '', revisionSources: [] }, NOW);
      const first = await ports.applications.list({ limit: 2 });
      expect(first.items.map((a) => a.name)).toEqual(['api', 'web']);
      const second = await ports.applications.list({ limit: 2, nextToken: first.nextToken });
      expect([second.items.map((a) => a.name), second.nextToken]).toEqual([['zeta'], undefined]);
      expect((await ports.applications.list({ limit: 5, visible: (a) => a.name !== 'web' })).items.map((a) => a.name)).toEqual(['api', 'zeta']);
      await ports.groups.put('web', 'prod', groupSettings(), NOW, () => 'g1');
      await expect(ports.applications.delete('web')).rejects.toThrow(ConflictError);
      await ports.groups.delete('web', 'prod');
      await ports.applications.delete('web');
      expect(await ports.applications.get('web')).toBeUndefined();
      await expect(ports.applications.delete('web')).rejects.toThrow(NotFoundError);
    });

    it('refuses a token that is not one of the listing, or one of another listing', async () => {
      const ports = await open();
      for (const name of ['a1', 'a2']) await ports.applications.put(name, { description: '', revisionSources: [] }, NOW);
      await expect(ports.applications.list({ limit: 1, nextToken: 'not-a-token' })).rejects.toThrow(ValidationError);
      await ports.instances.put('i-1', { tags: [] }, NOW);
      await ports.instances.put('i-2', { tags: [] }, NOW);
      const instancesToken = (await ports.instances.list({ limit: 1 })).nextToken;
      expect(instancesToken).toBeDefined();
      await expect(ports.applications.list({ limit: 1, nextToken: instancesToken })).rejects.toThrow(ValidationError);
    });
  });

  describe('a group\'s queue', () => {
    it('queues behind the active deployment, starts the oldest once the group is free, ends a stopped one without the group, and keeps a group with a queue', async () => {
      const ports = await open();
      await ports.applications.put('web', { description: '', revisionSources: [] }, NOW);
      await ports.groups.put('web', 'prod', groupSettings(), NOW, () => 'g1');
      expect(await ports.groups.get('web', 'prod')).toMatchObject({ busyBehavior: 'QUEUE', outdatedInstancesStrategy: 'IGNORE' });
      const a = deploymentOf();
      await ports.deployments.create(a, { lockGroup: true });
      const [b, c] = [deploymentOf({ status: 'Queued' }), deploymentOf({ status: 'Queued' })];
      for (const d of [b, c]) expect((await ports.deployments.enqueue({ ...d, queuedAt: d.createdAt }, {})).kind).toBe('created');
      expect(await ports.deployments.queued('web', 'prod', 10)).toEqual([b.deploymentId, c.deploymentId]);
      expect((await ports.deployments.listActive()).map((d) => d.deploymentId).sort()).toEqual([a, b, c].map((d) => d.deploymentId).sort());
      // Queued ones go first: even a free group is not taken past them, except by a rollback.
      await expect(ports.groups.delete('web', 'prod')).rejects.toThrow(ConflictError);
      expect(await ports.deployments.dequeue(b, NOW)).toBe('busy');
      await ports.deployments.finalize(a, { status: 'Succeeded', now: NOW });
      await expect(ports.deployments.create(deploymentOf(), { lockGroup: true })).rejects.toThrow(GroupBusyError);
      expect(await ports.deployments.requestStop(c.deploymentId, { at: NOW, by: 'bob', rollback: false })).toBe(true);
      expect(await ports.deployments.dequeue(c, NOW)).toBe('notQueued');
      expect(await ports.deployments.dequeue(b, LATER)).toBe('started');
      expect(await ports.deployments.dequeue(b, LATER)).toBe('busy');
      expect(await ports.deployments.get(b.deploymentId)).toMatchObject({ status: 'Created', dequeuedAt: LATER });
      const stopped = await ports.deployments.get(c.deploymentId);
      expect(await ports.deployments.endQueued(stopped as Deployment, { status: 'Stopped', error: { code: 'StoppedByRequest', message: 'Stopped by bob' }, now: LATER })).toBe(true);
      expect(await ports.deployments.endQueued(stopped as Deployment, { status: 'Stopped', error: { code: 'StoppedByRequest', message: 'Stopped by bob' }, now: LATER })).toBe(false);
      expect(await ports.deployments.get(c.deploymentId)).toMatchObject({ status: 'Stopped', error: { code: 'StoppedByRequest' } });
      expect(await ports.deployments.queued('web', 'prod', 10)).toEqual([]);
      await ports.deployments.finalize((await ports.deployments.get(b.deploymentId)) as Deployment, { status: 'Succeeded', now: LATER });
      // The queue is empty: a new deployment takes the free group, and the group can go.
      expect((await ports.deployments.create(deploymentOf(), { lockGroup: true })).kind).toBe('created');
    });

    it('starts a queued catch-up with the revision its group has now, recorded in the same write that takes the group', async () => {
      const ports = await open();
      await ports.applications.put('web', { description: '', revisionSources: [] }, NOW);
      await ports.groups.put('web', 'prod', groupSettings(), NOW, () => 'g1');
      const queued = deploymentOf({ status: 'Queued', catchUp: { instanceId: 'late-1', revisionOf: 'd-OLDER0001' }, targetInstances: { instanceIds: ['late-1'] } });
      await ports.deployments.enqueue({ ...queued, queuedAt: queued.createdAt }, {});
      const newer = { revision: { bucket: 'fleetline-artifacts', key: 'web/app-9.zip', bundleType: 'zip' as const }, catchUp: { instanceId: 'late-1', revisionOf: 'd-NEWER0001' }, description: 'caught up to d-NEWER0001' };
      expect(await ports.deployments.dequeue(queued, LATER, newer)).toBe('started');
      expect(await ports.deployments.get(queued.deploymentId)).toMatchObject({ status: 'Created', dequeuedAt: LATER, ...newer, targetInstances: { instanceIds: ['late-1'] } });
      expect(await ports.deployments.queued('web', 'prod', 10)).toEqual([]);
    });
  });

  describe('deployment groups', () => {
    it('needs its application, keeps its ID on update, and is not deleted while a deployment holds it', async () => {
      const ports = await open();
      await expect(ports.groups.put('web', 'prod', groupSettings(), NOW, () => 'g1')).rejects.toThrow(NotFoundError);
      await ports.applications.put('web', { description: '', revisionSources: [] }, NOW);
      expect((await ports.groups.put('web', 'prod', groupSettings(), NOW, () => 'g1')).value).toMatchObject({ id: 'g1', hookRoleArn: null, createdAt: NOW });
      const again = await ports.groups.put('web', 'prod', { ...groupSettings(), ignoreApplicationStopFailures: true }, LATER, () => 'g2');
      expect(again).toMatchObject({ created: false, value: { id: 'g1', ignoreApplicationStopFailures: true, updatedAt: LATER } });
      await ports.groups.put('web', 'qa', groupSettings(), NOW, () => 'g3');
      const page = await ports.groups.list('web', { limit: 1 });
      expect(page.items.map((g) => g.name)).toEqual(['prod']);
      expect((await ports.groups.list('web', { limit: 1, nextToken: page.nextToken })).items.map((g) => g.name)).toEqual(['qa']);
      const d = deploymentOf();
      await ports.deployments.create(d, { lockGroup: true });
      await expect(ports.groups.delete('web', 'prod')).rejects.toThrow(ConflictError);
      await ports.deployments.finalize(d, { status: 'Stopped', now: LATER });
      await ports.groups.delete('web', 'prod');
      expect(await ports.groups.get('web', 'prod')).toBeUndefined();
      await expect(ports.groups.delete('web', 'prod')).rejects.toThrow(NotFoundError);
    });
  });

  describe('instances', () => {
    it('creates and changes only what is given; an agent registers only a new one', async () => {
      const ports = await open();
      const tag = { key: 'fleet', value: 'web' };
      expect(await ports.instances.put('i-1', { tags: [tag] }, NOW)).toEqual({
        created: true, value: { instanceId: 'i-1', tags: [tag], iamArn: null, registeredAt: NOW, updatedAt: NOW },
      });
      expect((await ports.instances.put('i-1', { iamArn: 'arn:aws:iam::1:role/r' }, LATER)).value).toMatchObject({ tags: [tag], iamArn: 'arn:aws:iam::1:role/r', updatedAt: LATER });
      const registered = await ports.instances.registerNew('i-2', 'arn:aws:sts::1:assumed-role/agent/i-2', [tag], NOW);
      expect(registered).toMatchObject({ created: true, value: { tags: [], requestedTags: [tag] } });
      expect(await ports.instances.registerNew('i-1', 'arn:other', [], LATER)).toMatchObject({ created: false, value: { iamArn: 'arn:aws:iam::1:role/r' } });
      // Tags an administrator sets settle what the agent asked for.
      expect((await ports.instances.put('i-2', { tags: [tag] }, LATER)).value.requestedTags).toBeUndefined();
      expect((await ports.instances.listAll()).map((i) => i.instanceId)).toEqual(['i-1', 'i-2']);
      // An explicit target list is looked up by its IDs alone: an unknown one is simply absent.
      expect((await ports.instances.getMany(['i-2', 'i-404', 'i-1'])).map((i) => i.instanceId).sort()).toEqual(['i-1', 'i-2']);
      await ports.instances.delete('i-1');
      await expect(ports.instances.delete('i-1')).rejects.toThrow(NotFoundError);
      expect(await ports.instances.get('i-1')).toBeUndefined();
    });
  });

  describe('deployments', () => {
    it('takes the group\'s slot once: a second deployment is refused naming the active one; a missing group is not found', async () => {
      const ports = await open();
      await withGroup(ports);
      const first = deploymentOf();
      expect(await ports.deployments.create(first, { lockGroup: true })).toEqual({ kind: 'created', deployment: first });
      // The same request again (its answer was lost): the slot is already its own.
      expect((await ports.deployments.create(first, { lockGroup: true })).kind).toBe('created');
      const busy = ports.deployments.create(deploymentOf(), { lockGroup: true });
      await expect(busy).rejects.toThrow(GroupBusyError);
      await expect(busy).rejects.toThrow(first.deploymentId);
      await expect(ports.deployments.create(deploymentOf({ group: 'nope' }), { lockGroup: true })).rejects.toThrow(NotFoundError);
      expect(await ports.deployments.get(first.deploymentId)).toEqual(first);
    });

    it('answers a used idempotency token with the deployment it created and the first request\'s fingerprint', async () => {
      const ports = await open();
      await withGroup(ports);
      const token = { owner: 'arn:aws:iam::1:role/ci', token: 'build-1' };
      const first = deploymentOf();
      await ports.deployments.create(first, { lockGroup: false, idempotencyToken: token, requestFingerprint: 'fp-1' });
      expect(await ports.deployments.create(deploymentOf(), { lockGroup: false, idempotencyToken: token, requestFingerprint: 'fp-2' })).toEqual({
        kind: 'existing', deploymentId: first.deploymentId, requestFingerprint: 'fp-1',
      });
      expect(await ports.deployments.findByIdempotencyToken('web', 'prod', token)).toEqual({ deploymentId: first.deploymentId, requestFingerprint: 'fp-1' });
      expect(await ports.deployments.findByIdempotencyToken('web', 'prod', { ...token, owner: 'someone else' })).toBeUndefined();
    });

    it('lists newest first, by application and group, filtered by status, across pages', async () => {
      const ports = await open();
      await withGroup(ports);
      const made: Deployment[] = [];
      for (const group of ['prod', 'qa', 'prod']) {
        const d = deploymentOf({ group });
        made.push(d);
        await ports.deployments.create(d, { lockGroup: false });
      }
      await ports.deployments.finalize(made[0] as Deployment, { status: 'Stopped', now: LATER });
      const ids = (ds: Deployment[]) => ds.map((d) => d.deploymentId);
      expect(ids(await all((nextToken) => ports.deployments.list({}, { limit: 1, nextToken })))).toEqual(ids([...made].reverse()));
      expect(ids(await all((nextToken) => ports.deployments.list({ application: 'web', group: 'prod' }, { limit: 5, nextToken })))).toEqual(ids([made[2], made[0]] as Deployment[]));
      expect(ids((await ports.deployments.list({ status: 'Stopped' }, { limit: 5 })).items)).toEqual([made[0]?.deploymentId]);
      expect((await ports.deployments.list({ application: 'other' }, { limit: 5 })).items).toEqual([]);
    });

    it('lets one worker freeze at a time until its lease runs out, and never after a stop', async () => {
      const ports = await open();
      await withGroup(ports);
      const d = deploymentOf();
      await ports.deployments.create(d, { lockGroup: true });
      expect(await ports.deployments.claimFreeze(d.deploymentId, { token: 'a', until: LATER }, NOW)).toBe(true);
      expect(await ports.deployments.claimFreeze(d.deploymentId, { token: 'b', until: LATER }, NOW)).toBe(false);
      expect(await ports.deployments.claimFreeze(d.deploymentId, { token: 'b', until: '2026-01-01T01:00:00.000Z' }, LATER)).toBe(true);
      expect(await ports.deployments.startRollout(d.deploymentId, { fleetSize: 2, minimumHealthyHosts: 1, now: LATER, lease: 'a' })).toBe(false);
      expect(await ports.deployments.startRollout(d.deploymentId, { fleetSize: 2, minimumHealthyHosts: 1, now: LATER, lease: 'b' })).toBe(true);
      expect(await ports.deployments.get(d.deploymentId)).toMatchObject({ status: 'InProgress', fleetSize: 2, minimumHealthyHosts: 1, startedAt: LATER, counts: { pending: 2 } });
      expect((await ports.deployments.get(d.deploymentId))?.freezeLease).toBeUndefined();
      const stopped = deploymentOf({ group: 'qa' });
      await ports.deployments.create(stopped, { lockGroup: false });
      expect(await ports.deployments.requestStop(stopped.deploymentId, { at: NOW, by: 'alice', rollback: false })).toBe(true);
      expect(await ports.deployments.requestStop(stopped.deploymentId, { at: NOW, by: 'bob', rollback: false })).toBe(false);
      expect(await ports.deployments.claimFreeze(stopped.deploymentId, { token: 'c', until: LATER }, NOW)).toBe(false);
      expect(await ports.deployments.claimFreeze('d-MISSING01', { token: 'c', until: LATER }, NOW)).toBe(false);
    });

    it('reserves batches in order within the offline cap, closes them, and ends once, freeing the group', async () => {
      const ports = await open();
      await withGroup(ports);
      const d = await rolledOut(ports, ['i-1', 'i-2', 'i-3']);
      const id = d.deploymentId;
      expect(await ports.deployments.reserveBatch(id, { batch: 2, token: 't2', size: 1, maxOffline: 3 })).toBe(false);
      expect(await ports.deployments.reserveBatch(id, { batch: 1, token: 't1', size: 2, maxOffline: 1 })).toBe(false);
      expect(await ports.deployments.reserveBatch(id, { batch: 1, token: 't1', size: 2, maxOffline: 2 })).toBe(true);
      expect(await ports.deployments.reserveBatch(id, { batch: 1, token: 't1', size: 1, maxOffline: 3 })).toBe(false);
      // Two hosts are offline: a third would pass a cap of two.
      expect(await ports.deployments.reserveBatch(id, { batch: 2, token: 't2', size: 1, maxOffline: 2 })).toBe(false);
      expect(await ports.deployments.reserveBatch(id, { batch: 2, token: 't2', size: 2, maxOffline: 5 })).toBe(false); // one pending only
      expect(await ports.deployments.get(id)).toMatchObject({ batchNumber: 1, openBatches: ['t1'], counts: { pending: 1, inProgress: 2 } });
      await ports.deployments.closeBatch(id, 't1');
      await ports.deployments.closeBatch(id, 't1');
      expect((await ports.deployments.get(id))?.openBatches).toBeUndefined();
      expect(await ports.deployments.requestStop(id, { at: LATER, by: 'alice', rollback: false })).toBe(true);
      expect(await ports.deployments.reserveBatch(id, { batch: 2, token: 't2', size: 1, maxOffline: 5 })).toBe(false);
      expect(await ports.deployments.finalize(d, { status: 'Stopped', error: { code: 'StoppedByRequest', message: 'Stopped by alice' }, now: LATER })).toBe(true);
      expect(await ports.deployments.finalize(d, { status: 'Failed', now: LATER })).toBe(false);
      expect(await ports.deployments.get(id)).toMatchObject({ status: 'Stopped', completedAt: LATER, error: { code: 'StoppedByRequest' } });
      // The group is free again.
      const next = deploymentOf();
      expect((await ports.deployments.create(next, { lockGroup: true })).kind).toBe('created');
      expect(await ports.deployments.lastSuccessfulRevision('web', 'prod')).toBeUndefined();
      await ports.deployments.finalize(next, { status: 'Succeeded', now: LATER });
      expect(await ports.deployments.lastSuccessfulRevision('web', 'prod')).toEqual({ deploymentId: next.deploymentId, revision: next.revision });
    });

    it('counts what was pending as skipped once ended, handles the end once, and retires only when nothing is left', async () => {
      const ports = await open();
      await withGroup(ports);
      const d = await rolledOut(ports, ['i-1', 'i-2']);
      const id = d.deploymentId;
      expect((await ports.deployments.listActive()).map((x) => x.deploymentId)).toEqual([id]);
      expect(await ports.deployments.countPendingAsSkipped(id)).toBe(false); // still running
      expect(await ports.deployments.reserveBatch(id, { batch: 1, token: 't1', size: 1, maxOffline: 2 })).toBe(true);
      await ports.deployments.finalize(d, { status: 'Stopped', now: LATER });
      expect(await ports.deployments.retire(id)).toBe(false); // not handled, a batch open
      expect(await ports.deployments.markEndHandled(id)).toBe(true);
      expect(await ports.deployments.markEndHandled(id)).toBe(false);
      expect(await ports.deployments.countPendingAsSkipped(id)).toBe(true);
      expect(await ports.deployments.countPendingAsSkipped(id)).toBe(false);
      expect((await ports.deployments.get(id))?.counts).toMatchObject({ pending: 0, skipped: 1, inProgress: 1 });
      await ports.deployments.closeBatch(id, 't1');
      expect(await ports.deployments.retire(id)).toBe(false); // one still in progress
      const [chunk] = await ports.instanceDeployments.proposeBatch(id, 1, 't1', ['i-1']);
      await ports.instanceDeployments.releaseChunk(id, chunk as never);
      expect((await ports.deployments.get(id))?.counts).toMatchObject({ pending: 1, inProgress: 0 });
      expect(await ports.deployments.countPendingAsSkipped(id)).toBe(true);
      expect(await ports.deployments.retire(id)).toBe(true);
      expect(await ports.deployments.retire(id)).toBe(false);
      expect(await ports.deployments.listActive()).toEqual([]);
      await ports.deployments.linkRollback(id, 'd-ROLLBACK01');
      expect((await ports.deployments.get(id))?.rolledBackBy).toBe('d-ROLLBACK01');
    });
  });

  describe('instance deployments', () => {
    it('freezes targets across pages, lists them, and finds the pending ones', async () => {
      const ports = await open();
      await withGroup(ports);
      const ids = Array.from({ length: 60 }, (_, i) => `i-${String(i).padStart(3, '0')}`);
      const d = await rolledOut(ports, ids);
      expect(await ports.instanceDeployments.existingIds(d.deploymentId)).toEqual(ids);
      expect((await all((nextToken) => ports.instanceDeployments.list(d.deploymentId, { limit: 25, nextToken }))).map((i) => i.instanceId)).toEqual(ids);
      expect(await ports.instanceDeployments.pendingCandidates(d.deploymentId, 3)).toEqual(ids.slice(0, 3));
      expect(await ports.instanceDeployments.get(d.deploymentId, 'i-000')).toEqual(instanceOf(d.deploymentId, 'i-000'));
      expect(await ports.instanceDeployments.get(d.deploymentId, 'i-999')).toBeUndefined();
    });

    it('dispatches a reserved chunk once, giving back the slots of instances no longer pending', async () => {
      const ports = await open();
      await withGroup(ports);
      const d = await rolledOut(ports, ['i-1', 'i-2', 'i-3']);
      const id = d.deploymentId;
      expect(await ports.deployments.reserveBatch(id, { batch: 1, token: 't1', size: 3, maxOffline: 3 })).toBe(true);
      const chunks = await ports.instanceDeployments.proposeBatch(id, 1, 't1', ['i-1', 'i-2', 'i-3']);
      expect(chunks).toHaveLength(1);
      expect(await ports.instanceDeployments.reservedChunks(id)).toEqual(chunks);
      // i-3 was skipped meanwhile (a stop): its slot goes back.
      await ports.instanceDeployments.putAll([{ ...instanceOf(id, 'i-3'), status: 'Skipped', version: 1 }]);
      expect(await ports.instanceDeployments.dispatchChunk(id, chunks[0] as never, { now: NOW, watchAt: LATER })).toEqual(['i-1', 'i-2']);
      expect(await ports.instanceDeployments.dispatchChunk(id, chunks[0] as never, { now: NOW, watchAt: LATER })).toEqual([]);
      expect(await ports.instanceDeployments.reservedChunks(id)).toEqual([]);
      expect((await ports.deployments.get(id))?.counts).toMatchObject({ pending: 1, inProgress: 2 });
      expect(await ports.instanceDeployments.get(id, 'i-1')).toMatchObject({ status: 'InProgress', dispatchedAt: NOW, watchAt: LATER, version: 1 });
      expect(await ports.instanceDeployments.findAssignment('i-1')).toEqual({ deploymentId: id });
      expect(await ports.instanceDeployments.findAssignment('i-3')).toBeUndefined();
      expect((await ports.instanceDeployments.runningIds(id)).sort()).toEqual(['i-1', 'i-2']);
      expect(await ports.instanceDeployments.due(id, NOW)).toEqual([]);
      expect((await ports.instanceDeployments.due(id, LATER)).sort()).toEqual(['i-1', 'i-2']);
      expect(await ports.instanceDeployments.pendingCandidates(id, 5)).toEqual([]);
    });

    it('records reports on the version read (a stale one is a conflict) and ends an instance with its counters', async () => {
      const ports = await open();
      await withGroup(ports);
      const d = await rolledOut(ports, ['i-1']);
      const id = d.deploymentId;
      await ports.deployments.reserveBatch(id, { batch: 1, token: 't1', size: 1, maxOffline: 1 });
      const [chunk] = await ports.instanceDeployments.proposeBatch(id, 1, 't1', ['i-1']);
      await ports.instanceDeployments.dispatchChunk(id, chunk as never, { now: NOW, watchAt: LATER });
      const read = (await ports.instanceDeployments.get(id, 'i-1')) as InstanceDeployment;
      const events = read.events.map((e) => (e.name === 'ApplicationStop' ? { ...e, status: 'Succeeded' as const, startedAt: NOW, endedAt: NOW, exitCode: 0 } : e));
      const acked = await ports.instanceDeployments.update(read, { events, now: NOW, acknowledgedAt: NOW, leaseExpiresAt: LATER, watchAt: '2026-01-01T00:05:00.000Z' });
      await expect(ports.instanceDeployments.update(read, { events, now: NOW })).rejects.toThrow(ConflictError);
      const stored = await ports.instanceDeployments.get(id, 'i-1');
      expect(stored).toMatchObject({ version: acked.version, acknowledgedAt: NOW, leaseExpiresAt: LATER, watchAt: '2026-01-01T00:05:00.000Z' });
      expect(stored?.events.find((e) => e.name === 'ApplicationStop')).toMatchObject({ status: 'Succeeded', exitCode: 0, endedAt: NOW });
      expect(await ports.instanceDeployments.skipUnacknowledged(id, ['i-1'], LATER)).toEqual([]); // it acknowledged
      const failedEvents = (stored as InstanceDeployment).events.map((e) => (e.name === 'BeforeInstall' ? { ...e, status: 'Failed' as const, exitCode: 1, errorCode: 'ScriptFailed' as const } : e));
      await ports.instanceDeployments.update(stored as InstanceDeployment, { events: failedEvents, transition: 'Failed', now: LATER });
      const ended = await ports.instanceDeployments.get(id, 'i-1');
      expect(ended).toMatchObject({ status: 'Failed', endedAt: LATER });
      expect(ended?.watchAt).toBeUndefined();
      // Events never reported read Skipped once the instance has ended.
      expect(ended?.events.find((e) => e.name === 'Install')?.status).toBe('Skipped');
      expect(await ports.instanceDeployments.findAssignment('i-1')).toBeUndefined();
      expect(await ports.instanceDeployments.runningIds(id)).toEqual([]);
      expect((await ports.deployments.get(id))?.counts).toMatchObject({ inProgress: 0, failed: 1 });
      expect((await ports.instanceDeployments.failedInstances(id, 5)).map((i) => i.instanceId)).toEqual(['i-1']);
      expect(await ports.instanceDeployments.failedInstances(id, 5, ['Skipped', 'Unknown'])).toEqual([]);
      // The failed host is offline: with a cap of zero nothing more is reserved.
      await ports.instanceDeployments.putAll([instanceOf(id, 'i-2')]);
      await ports.instanceDeployments.saveOutput(id, 'i-1', 'BeforeInstall', 'boom\n');
      expect(await ports.instanceDeployments.outputs(id, 'i-1')).toEqual({ BeforeInstall: 'boom\n' });
      await expect(ports.instanceDeployments.update(instanceOf(id, 'i-404'), { events: [], now: NOW })).rejects.toThrow(ConflictError);
    });

    it('skips what a stop left: unacknowledged dispatched instances and counted pending ones', async () => {
      const ports = await open();
      await withGroup(ports);
      const d = await rolledOut(ports, ['i-1', 'i-2', 'i-3']);
      const id = d.deploymentId;
      await ports.deployments.reserveBatch(id, { batch: 1, token: 't1', size: 2, maxOffline: 2 });
      const [chunk] = await ports.instanceDeployments.proposeBatch(id, 1, 't1', ['i-1', 'i-2']);
      await ports.instanceDeployments.dispatchChunk(id, chunk as never, { now: NOW, watchAt: LATER });
      expect(await ports.instanceDeployments.skipUnacknowledged(id, ['i-1', 'i-2', 'i-3'], LATER)).toEqual(['i-1', 'i-2']);
      expect(await ports.instanceDeployments.skipUnacknowledged(id, ['i-1'], LATER)).toEqual([]);
      expect(await ports.instanceDeployments.findAssignment('i-1')).toBeUndefined();
      await ports.deployments.finalize(d, { status: 'Stopped', now: LATER });
      expect(await ports.deployments.countPendingAsSkipped(id)).toBe(true);
      expect(await ports.instanceDeployments.skipCountedPending(id, LATER)).toBe(1);
      expect(await ports.instanceDeployments.skipCountedPending(id, LATER)).toBe(0);
      const all3 = await ports.instanceDeployments.list(id, { limit: 10 });
      expect(all3.items.map((i) => `${i.instanceId}:${i.status}`)).toEqual(['i-1:Skipped', 'i-2:Skipped', 'i-3:Skipped']);
      expect((await ports.deployments.get(id))?.counts).toMatchObject({ pending: 0, inProgress: 0, skipped: 3 });
      expect(await ports.instanceDeployments.pendingCandidates(id, 5)).toEqual([]);
    });
  });

  describe('write steps', () => {
    it('takes effect in the same number of writes, so a crash after write n interrupts the same step on either', async () => {
      const ports = await open();
      const writes = async (call: () => Promise<unknown>) => {
        const before = ports.writes();
        await call();
        return ports.writes() - before;
      };
      expect(await writes(() => withGroup(ports))).toBe(2);
      const ids = Array.from({ length: 60 }, (_, i) => `i-${String(i).padStart(3, '0')}`);
      const d = deploymentOf();
      const id = d.deploymentId;
      expect(await writes(() => ports.deployments.create(d, { lockGroup: true }))).toBe(1);
      expect(await writes(() => ports.deployments.create(deploymentOf(), { lockGroup: true }).catch(() => undefined))).toBe(0);
      expect(await writes(() => ports.deployments.claimFreeze(id, { token: 'lease', until: LATER }, NOW))).toBe(1);
      expect(await writes(() => ports.deployments.claimFreeze(id, { token: 'other', until: LATER }, NOW))).toBe(0);
      expect(await writes(() => ports.instanceDeployments.putAll(ids.map((i) => instanceOf(id, i))))).toBe(3);
      expect(await writes(() => ports.deployments.startRollout(id, { fleetSize: 60, minimumHealthyHosts: 0, now: NOW, lease: 'lease' }))).toBe(1);
      expect(await writes(() => ports.deployments.reserveBatch(id, { batch: 1, token: 't1', size: 55, maxOffline: 60 }))).toBe(1);
      let chunks: Awaited<ReturnType<InstanceDeploymentsRepository['proposeBatch']>> = [];
      expect(await writes(async () => (chunks = await ports.instanceDeployments.proposeBatch(id, 1, 't1', ids.slice(0, 55))))).toBe(1);
      expect(chunks.map((c) => c.instanceIds.length)).toEqual([49, 6]);
      for (const chunk of chunks) expect(await writes(() => ports.instanceDeployments.dispatchChunk(id, chunk, { now: NOW, watchAt: LATER }))).toBe(1);
      expect(await writes(() => ports.instanceDeployments.dispatchChunk(id, chunks[0] as never, { now: NOW, watchAt: LATER }))).toBe(0);
      expect(await writes(() => ports.deployments.closeBatch(id, 't1'))).toBe(1);
      expect(await writes(() => ports.deployments.requestStop(id, { at: NOW, by: 'alice', rollback: false }))).toBe(1);
      expect(await writes(() => ports.instanceDeployments.skipUnacknowledged(id, ids.slice(0, 55), LATER))).toBe(2);
      expect(await writes(() => ports.deployments.finalize(d, { status: 'Stopped', now: LATER }))).toBe(1);
      expect(await writes(() => ports.deployments.countPendingAsSkipped(id))).toBe(1);
      expect(await writes(() => ports.instanceDeployments.skipCountedPending(id, LATER))).toBe(1);
      expect(await writes(() => ports.instanceDeployments.skipCountedPending(id, LATER))).toBe(0);
      expect(await writes(() => ports.deployments.markEndHandled(id))).toBe(1);
      expect(await writes(() => ports.deployments.retire(id))).toBe(1);
      expect(await writes(() => ports.agentPresence.record('i-000', { lastSeenAt: NOW }))).toBe(1);
      expect(await writes(() => ports.agentPresence.record('i-000', { lastSeenAt: NOW }))).toBe(0);
      const ex = executionOf('x-1');
      expect(await writes(() => ports.executions.create(ex))).toBe(1);
      expect(await writes(() => ports.executions.acquireStage('web', 0, 'x-1'))).toBe(1);
      expect(await writes(() => ports.executions.acquireStage('web', 0, 'x-2'))).toBe(0);
      expect(await writes(() => ports.executions.save({ ...ex, status: 'Succeeded' }, { leaveStage: 0 }))).toBe(1);
      expect(await writes(() => ports.executions.releaseStage('web', 0, 'x-1'))).toBe(0);
      for (const x of ['x-1', 'x-2']) await ports.executions.addGroupWaiter('web', 'prod', x);
      expect(await writes(() => ports.executions.takeGroupWaiters('web', 'prod'))).toBe(2);
    });
  });

  describe('agents', () => {
    it('checks in with its first assignment, its contact (only moving forward) and its channel', async () => {
      const ports = await open();
      expect(await ports.agentPresence.checkIn('i-1')).toEqual({ assignment: undefined, presence: undefined, connection: undefined });
      await ports.agentPresence.record('i-1', { lastSeenAt: LATER, version: '0.2.0' });
      await ports.agentPresence.record('i-1', { lastSeenAt: NOW, version: '0.1.0' });
      expect((await ports.agentPresence.checkIn('i-1')).presence).toEqual({ version: '0.2.0', lastSeenAt: LATER });
      await ports.agentPresence.record('i-1', { lastSeenAt: '2026-01-01T00:20:00.000Z' });
      expect((await ports.agentPresence.checkIn('i-1')).presence).toEqual({ version: '0.2.0', lastSeenAt: '2026-01-01T00:20:00.000Z' });
      const connectedAt = new Date().toISOString();
      await ports.connections.put({ instanceId: 'i-1', connectionId: 'c1', endpoint: 'https://x/test', principal: 'p', connectedAt });
      const status = (await ports.agentPresence.statuses(['i-1', 'i-2', 'i-1'])).get('i-1');
      expect(status?.connection?.connectedAt).toBe(connectedAt);
      expect((await ports.agentPresence.statuses(['i-2'])).get('i-2')).toEqual({ presence: undefined, connection: undefined, leaseExpiries: [] });
    });

    it('keeps the newest connection, hands over to an earlier one still open when it closes, and forgets the last', async () => {
      const ports = await open();
      const at = new Date().toISOString();
      const c = (id: string) => ({ instanceId: 'i-1', connectionId: id, endpoint: 'https://x/test', principal: 'p', connectedAt: at });
      await ports.connections.put(c('c1'));
      await ports.connections.put(c('c2'));
      expect((await ports.connections.find(['i-1'])).map((x) => x.connectionId)).toEqual(['c2']);
      await ports.connections.remove('c1');
      expect((await ports.connections.find(['i-1'])).map((x) => x.connectionId)).toEqual(['c2']);
      await ports.connections.put(c('c3'));
      await ports.connections.remove('c3', 'i-1');
      expect((await ports.connections.find(['i-1'])).map((x) => x.connectionId)).toEqual(['c2']);
      await ports.connections.remove('c2');
      expect(await ports.connections.find(['i-1'])).toEqual([]);
      await ports.connections.remove('c2');
    });
  });

  describe('live logs', () => {
    it('keeps a follower lease, and each chunk once, read back in order after a cursor', async () => {
      const ports = await open();
      expect(await ports.liveLogs.followUntil('d-LIVE00001', 'i-1')).toBeUndefined();
      await ports.liveLogs.follow('d-LIVE00001', 'i-1', NOW);
      await ports.liveLogs.follow('d-LIVE00001', 'i-1', LATER);
      expect(await ports.liveLogs.followUntil('d-LIVE00001', 'i-1')).toBe(LATER);
      expect(await ports.liveLogs.followUntil('d-LIVE00001', 'i-2')).toBeUndefined();
      const chunk = (seq: number, text: string) => ({ seq, text, at: NOW });
      for (const seq of [2, 0, 1, 10]) await ports.liveLogs.append('d-LIVE00001', 'i-1', chunk(seq, `line ${seq}\n`));
      await ports.liveLogs.append('d-LIVE00001', 'i-2', chunk(0, 'another instance\n'));
      // A repeat changes nothing, and costs no write.
      const before = ports.writes();
      await ports.liveLogs.append('d-LIVE00001', 'i-1', chunk(1, 'replayed\n'));
      expect(ports.writes()).toBe(before);
      expect(await ports.liveLogs.after('d-LIVE00001', 'i-1', -1, 2)).toEqual({ chunks: [chunk(0, 'line 0\n'), chunk(1, 'line 1\n')], more: true });
      expect(await ports.liveLogs.after('d-LIVE00001', 'i-1', 1, 5)).toEqual({ chunks: [chunk(2, 'line 2\n'), chunk(10, 'line 10\n')], more: false });
      expect(await ports.liveLogs.after('d-LIVE00001', 'i-1', 10, 5)).toEqual({ chunks: [], more: false });
    });
  });

  describe('pipelines and executions', () => {
    const pipeline = (bucket: string) => ({ name: 'web', source: { bucket, prefix: 'web/', suffix: '.zip' }, executionMode: 'SUPERSEDED' as const, stages: [], author: 'alice' });

    it('saves pipelines, finds them by source bucket, and deletes them once', async () => {
      const ports = await open();
      expect((await ports.pipelines.put(pipeline('b1'), NOW)).created).toBe(true);
      expect((await ports.pipelines.put(pipeline('b2'), LATER)).value).toMatchObject({ createdAt: NOW, updatedAt: LATER });
      expect((await ports.pipelines.bySourceBucket('b2')).map((p) => p.name)).toEqual(['web']);
      expect(await ports.pipelines.bySourceBucket('b1')).toEqual([]);
      expect((await ports.pipelines.list({ limit: 5 })).items.map((p) => p.name)).toEqual(['web']);
      await ports.pipelines.delete('web');
      await expect(ports.pipelines.delete('web')).rejects.toThrow(NotFoundError);
    });

    it('creates an execution once, saves it on the version read, and keeps the active list', async () => {
      const ports = await open();
      const ex = executionOf('x-1');
      expect(await ports.executions.create(ex)).toBe(true);
      expect(await ports.executions.create(ex)).toBe(false);
      expect(await ports.executions.recordFailedStart(ex)).toBe(false);
      expect(await ports.executions.listActive()).toEqual([{ executionId: 'x-1', pipeline: 'web' }]);
      const saved = await ports.executions.save({ ...ex, waiting: true });
      expect(saved.version).toBe(1);
      await expect(ports.executions.save(ex)).rejects.toThrow(ConflictError);
      expect(await ports.executions.waiting('web', 0)).toEqual(['x-1']);
      await ports.executions.save({ ...saved, status: 'Succeeded', waiting: false });
      expect(await ports.executions.listActive()).toEqual([]);
      expect(await ports.executions.waiting('web', 0)).toEqual([]);
      await ports.executions.markActive('x-1', 'web');
      expect(await ports.executions.listActive()).toEqual([{ executionId: 'x-1', pipeline: 'web' }]);
      expect(await ports.executions.recordFailedStart(executionOf('x-2', { status: 'Failed', createdAt: LATER }))).toBe(true);
      expect(await ports.executions.listActive()).toEqual([{ executionId: 'x-1', pipeline: 'web' }]);
      const listed = await all((nextToken) => ports.executions.listByPipeline('web', { limit: 1, nextToken }));
      expect(listed.map((e) => e.executionId)).toEqual(['x-2', 'x-1']);
    });

    it('gives a stage to one execution at a time, which leaves it in the same write as it moves on', async () => {
      const ports = await open();
      const a = executionOf('x-a');
      await ports.executions.create(a);
      expect(await ports.executions.acquireStage('web', 0, 'x-a')).toBe(true);
      expect(await ports.executions.acquireStage('web', 0, 'x-a')).toBe(true);
      expect(await ports.executions.acquireStage('web', 0, 'x-b')).toBe(false);
      await ports.executions.releaseStage('web', 0, 'x-b');
      expect(await ports.executions.acquireStage('web', 0, 'x-b')).toBe(false);
      await expect(ports.executions.save(a, { notHolding: 0 })).rejects.toThrow(ConflictError);
      const moved = await ports.executions.save({ ...a, stageIndex: 1 }, { leaveStage: 0 });
      expect(await ports.executions.acquireStage('web', 0, 'x-b')).toBe(true);
      await expect(ports.executions.save(moved, { leaveStage: 0 })).rejects.toThrow(ConflictError);
      await ports.executions.releaseStage('web', 0, 'x-b');
      expect(await ports.executions.acquireStage('web', 0, 'x-a')).toBe(true);
    });

    it('takes group waiters once and keeps only the newest S3 sequencer', async () => {
      const ports = await open();
      await ports.executions.addGroupWaiter('web', 'prod', 'x-1');
      await ports.executions.addGroupWaiter('web', 'prod', 'x-2');
      await ports.executions.addGroupWaiter('web', 'qa', 'x-3');
      expect(await ports.executions.takeGroupWaiters('web', 'prod')).toEqual(['x-1', 'x-2']);
      expect(await ports.executions.takeGroupWaiters('web', 'prod')).toEqual([]);
      expect(await ports.executions.recordSequencer('b', 'k', '00AB')).toBe(true);
      expect(await ports.executions.recordSequencer('b', 'k', '00ab')).toBe(true);
      expect(await ports.executions.recordSequencer('b', 'k', '009F')).toBe(false);
      expect(await ports.executions.recordSequencer('b', 'k', '0100')).toBe(true);
      expect(await ports.executions.recordSequencer('b', 'other', '0001')).toBe(true);
    });
  });

  describe('access rules and the credential audit', () => {
    it('puts rules (new or not), lists and deletes them', async () => {
      const ports = await open();
      const rule = { id: 'r1', effect: 'Allow' as const, principals: ['alice'], actions: ['*'], resources: ['*'] };
      expect(await ports.accessRules.put(rule)).toBe(true);
      expect(await ports.accessRules.put({ ...rule, description: 'all' })).toBe(false);
      expect(await ports.accessRules.list()).toEqual([{ ...rule, description: 'all' }]);
      await ports.accessRules.delete('r1');
      await expect(ports.accessRules.delete('r1')).rejects.toThrow(NotFoundError);
      expect(await ports.accessRules.get('r1')).toBeUndefined();
    });

    it('lists issued credentials newest first, across pages', async () => {
      const ports = await open();
      const entry = (id: string, issuedAt: string) => ({ id, caller: 'alice', roleArn: 'arn:aws:iam::1:role/r', sessionName: 's', issuedAt, expiration: LATER, durationSeconds: 900 });
      await ports.audit.record(entry('a', NOW));
      await ports.audit.record(entry('b', LATER));
      const listed = await all((nextToken) => ports.audit.list({ limit: 1, nextToken }));
      expect(listed).toEqual([entry('b', LATER), entry('a', NOW)]);
    });
  });
}
