import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDocumentClient } from '../../lib/adapters/dynamodb/client.js';
import { DynamoDeploymentsRepository } from '../../lib/adapters/dynamodb/deployments-repository.js';
import { DynamoInstanceDeploymentsRepository, skipUpdate } from '../../lib/adapters/dynamodb/instance-deployments-repository.js';
import { keys } from '../../lib/adapters/dynamodb/keys.js';
import { TableClient } from '../../lib/adapters/dynamodb/table-client.js';
import { DEFAULT_TIMINGS, type EngineDeps } from '../../lib/deployments/engine-deps.js';
import { dispatchReserved, releaseReserved } from '../../lib/deployments/rollout.js';
import { windDown } from '../../lib/deployments/wind-down.js';
import { resolveDeploymentConfig } from '../../lib/domain/deployment-config.js';
import { type Deployment, initialEvents } from '../../lib/domain/deployment.js';
import { emptyCounts } from '../../lib/domain/minimum-healthy.js';
import { ConflictError } from '../../lib/errors.js';
import { type TestTable, createTestTable } from '../support/dynamo.js';
import { crashingClient, flakyClient } from '../support/faulty-dynamodb.js';
import { EngineCrashed } from '../fakes/store.js';

/** A stopped deployment's instances that never started end Skipped: the counters in one write, the items many per request. */
let table: TestTable;
let deployments: DynamoDeploymentsRepository;
let instances: DynamoInstanceDeploymentsRepository;
let deps: EngineDeps;
let counter = 0;
const NOW = '2026-01-01T00:00:00.000Z';

beforeAll(async () => {
  table = await createTestTable();
  deployments = new DynamoDeploymentsRepository(table.table);
  instances = new DynamoInstanceDeploymentsRepository(table.table);
  deps = engineDeps(table.table);
});
afterAll(async () => table?.drop());

function engineDeps(over: TableClient): EngineDeps {
  return {
    deployments: new DynamoDeploymentsRepository(over),
    instanceDeployments: new DynamoInstanceDeploymentsRepository(over),
    clock: { now: () => new Date(NOW) },
    timings: DEFAULT_TIMINGS,
  } as unknown as EngineDeps;
}

const nextId = () => `d-WIND${String(++counter).padStart(5, '0')}`;
const hostsOf = (size: number) => Array.from({ length: size }, (_, i) => `h-${String(i).padStart(4, '0')}`);

/** An InProgress deployment over `size` pending instances. */
async function rollingOut(id: string, size: number): Promise<string[]> {
  const deployment: Deployment = {
    deploymentId: id, application: 'app', group: id, groupId: 'g', revision: { bucket: 'b', key: 'k.zip', bundleType: 'zip' },
    deploymentConfig: resolveDeploymentConfig('AllAtOnce'), minimumHealthyHosts: 0, fleetSize: 0, status: 'Created', counts: emptyCounts(),
    fileExistsBehavior: 'DISALLOW', ignoreApplicationStopFailures: false, description: '', creator: 'test', createdAt: NOW, hookRoleArn: null,
  };
  await deployments.create(deployment, { lockGroup: false });
  expect(await deployments.claimFreeze(id, { token: 'lease', until: '9999-01-01T00:00:00.000Z' }, NOW)).toBe(true);
  const hosts = hostsOf(size);
  await instances.putAll(hosts.map((instanceId) => ({ deploymentId: id, instanceId, source: 'registered' as const, status: 'Pending' as const, events: initialEvents(), version: 0 })));
  await deployments.startRollout(id, { fleetSize: size, minimumHealthyHosts: 0, now: NOW, lease: 'lease' });
  return hosts;
}

async function stop(id: string): Promise<void> {
  await table.doc.send(
    new UpdateCommand({ TableName: table.tableName, Key: keys.deployment(id), UpdateExpression: 'SET #s = :stopped', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':stopped': 'Stopped' } }),
  );
}

/** A deployment stopped while `size` instances were still pending. */
async function stoppedWithPending(id: string, size: number): Promise<string[]> {
  const hosts = await rollingOut(id, size);
  await stop(id);
  return hosts;
}

async function statuses(id: string): Promise<Record<string, number>> {
  const tally: Record<string, number> = {};
  for (const i of (await instances.list(id, { limit: 1000 })).items) tally[i.status] = (tally[i.status] ?? 0) + 1;
  return tally;
}

/** The deployment's counters against its instance items. */
async function countsAndItems(id: string) {
  const d = (await deployments.get(id)) as Deployment;
  const tally = await statuses(id);
  return {
    counters: { pending: d.counts.pending, inProgress: d.counts.inProgress, skipped: d.counts.skipped },
    items: { pending: tally.Pending ?? 0, inProgress: tally.InProgress ?? 0, skipped: tally.Skipped ?? 0 },
  };
}

/** Runs wind-down passes as the worker does, until one finds nothing left to skip. */
async function windDownToRest(id: string, over: EngineDeps = deps): Promise<void> {
  for (let pass = 0; pass < 10; pass++) {
    const current = (await deployments.get(id)) as Deployment;
    if (current.openBatches?.length) await releaseReserved(current, over);
    else if ((await windDown(current, over)) === 0) return;
  }
  throw new Error('wind-down did not come to rest');
}

describe('skipping what never started', () => {
  it('counts every pending instance skipped in one write, then skips each item', async () => {
    const id = nextId();
    await stoppedWithPending(id, 120);
    const before = (await deployments.get(id)) as Deployment;
    expect(await windDown(before, deps)).toBe(120);
    expect(await statuses(id)).toEqual({ Skipped: 120 });
    expect((await deployments.get(id))?.counts).toMatchObject({ pending: 0, skipped: 120 });
    expect(await instances.pendingCandidates(id, 10)).toEqual([]);
    expect(await windDown((await deployments.get(id)) as Deployment, deps)).toBe(0);
  }, 60_000);

  it('refuses to rewrite pending items while the deployment still rolls out or holds a reserved batch', async () => {
    const id = nextId();
    const hosts = await rollingOut(id, 3);
    await expect(windDown((await deployments.get(id)) as Deployment, deps)).rejects.toBeInstanceOf(ConflictError);
    await instances.proposeBatch(id, 1, 'tk', hosts.slice(0, 1));
    expect(await deployments.reserveBatch(id, { batch: 1, token: 'tk', size: 1, maxOffline: 3 })).toBe(true);
    await stop(id);
    await expect(windDown((await deployments.get(id)) as Deployment, deps)).rejects.toBeInstanceOf(ConflictError);
    expect(await statuses(id)).toEqual({ Pending: 3 });
  });

  it('crashed after the counters moved and after any of its item writes, a rerun finishes without counting anything twice', async () => {
    // 60 pending: the counters, then three BatchWriteItem calls of 25, 25 and 10 items.
    for (const crashAfter of [1, 2, 3]) {
      const id = nextId();
      await stoppedWithPending(id, 60);
      const crash = crashingClient(crashAfter);
      try {
        const dying = engineDeps(new TableClient(createDocumentClient(crash.client), table.tableName));
        await expect(windDown((await deployments.get(id)) as Deployment, dying)).rejects.toBeInstanceOf(EngineCrashed);
      } finally {
        crash.client.destroy();
      }
      expect(crash.kinds.at(-1)).toMatch(crashAfter === 1 ? /^UpdateItemCommand/ : /^BatchWriteItemCommand/);
      // The item writes go out side by side: others may have landed beside the one the crash followed.
      const before = await statuses(id);
      expect((before.Pending ?? 0) + (before.Skipped ?? 0)).toBe(60);
      expect(before.Skipped ?? 0).toBeGreaterThanOrEqual(25 * (crashAfter - 1));
      await windDownToRest(id);
      expect(await statuses(id)).toEqual({ Skipped: 60 });
      const { counters, items } = await countsAndItems(id);
      expect(counters).toEqual(items);
    }
  }, 60_000);

  it('items a batch write leaves unprocessed are written again until every one is skipped', async () => {
    const id = nextId();
    await stoppedWithPending(id, 80);
    // Half the batch writes take only half of their items; nothing else fails.
    const { client, faults } = flakyClient(7, { rate: 0, unprocessedRate: 0.5 });
    try {
      const flaky = engineDeps(new TableClient(createDocumentClient(client), table.tableName));
      expect(await windDown((await deployments.get(id)) as Deployment, flaky)).toBe(80);
    } finally {
      client.destroy();
    }
    expect(faults.unprocessed).toBeGreaterThan(1);
    expect(await statuses(id)).toEqual({ Skipped: 80 });
    const { counters, items } = await countsAndItems(id);
    expect(counters).toEqual(items);
  }, 60_000);

  it('a rewritten item is exactly what a conditional skip of the same item writes', async () => {
    // Whatever a pending item holds (older encodings, EC2 or registered, any version), the rewrite keeps it all.
    const pendingItem = fc.record(
      {
        source: fc.constantFrom('ec2', 'registered'),
        version: fc.nat(20),
        events: fc.array(fc.record({ name: fc.constantFrom('Install', 'ApplicationStart'), status: fc.constantFrom('Pending', 'Skipped') }), { maxLength: 3 }),
        note: fc.string({ maxLength: 12 }),
        tags: fc.dictionary(fc.stringMatching(/^[a-z]{1,6}$/), fc.string({ maxLength: 6 }), { maxKeys: 3 }),
        weight: fc.integer({ min: -1e6, max: 1e6 }),
      },
      { requiredKeys: ['source', 'version'] },
    );
    await fc.assert(
      fc.asyncProperty(pendingItem, async (extra) => {
        const [conditional, rewritten] = [nextId(), nextId()];
        for (const id of [conditional, rewritten]) {
          await stoppedWithPending(id, 0);
          await table.doc.send(
            new PutCommand({
              TableName: table.tableName,
              Item: { ...keys.instanceDeployment(id, 'h-1'), ...keys.pendingInstance(id, 'h-1'), type: 'InstanceDeployment', deploymentId: id, instanceId: 'h-1', status: 'Pending', ...extra },
            }),
          );
        }
        // The conditional skip: the update skipping writes, on the condition that the item is still pending.
        await table.doc.send(
          new UpdateCommand({
            TableName: table.tableName,
            Key: keys.instanceDeployment(conditional, 'h-1'),
            ...skipUpdate(NOW),
            ConditionExpression: '#status = :pending',
            ExpressionAttributeValues: { ...skipUpdate(NOW).ExpressionAttributeValues, ':pending': 'Pending' },
          }),
        );
        expect(await instances.skipCountedPending(rewritten, NOW)).toBe(1);
        const read = async (id: string) => {
          const out = await table.doc.send(new GetCommand({ TableName: table.tableName, Key: keys.instanceDeployment(id, 'h-1'), ConsistentRead: true }));
          return { ...out.Item, PK: 'same', deploymentId: 'same' };
        };
        const [a, b] = [await read(conditional), await read(rewritten)];
        expect(b).toEqual(a);
        expect(a).toMatchObject({ status: 'Skipped', endedAt: NOW, version: extra.version + 1 });
        expect(a).not.toHaveProperty('GSI2PK');
      }),
      { numRuns: 12 },
    );
  }, 60_000);
});

describe('a stop racing a dispatch of the batch reserved just before it', () => {
  /**
   * Every call either worker makes to DynamoDB waits for the scheduler's turn,
   * so each run tries another interleaving of: a worker dispatching the batch
   * (from a read taken before the end), and the worker that saw the end giving
   * the batch back and winding the deployment down. Nothing is dispatched after
   * its chunk was given back, nothing pending is left, and the counters equal the items.
   */
  it('never dispatches, resurrects or counts an instance twice, whatever the order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const id = nextId();
        const hosts = await rollingOut(id, 55);
        await instances.proposeBatch(id, 1, 'race', hosts.slice(0, 52));
        expect(await deployments.reserveBatch(id, { batch: 1, token: 'race', size: 52, maxOffline: 55 })).toBe(true);
        const beforeEnd = (await deployments.get(id)) as Deployment;
        await stop(id);
        const scheduled = scheduledDeps(s);
        const dispatching = dispatchReserved(beforeEnd, scheduled);
        const endHandling = (async () => {
          const ended = (await scheduled.deployments.get(id)) as Deployment;
          await releaseReserved(ended, scheduled);
          await windDown((await scheduled.deployments.get(id)) as Deployment, scheduled);
        })();
        await s.waitFor(Promise.all([dispatching, endHandling]));
        await windDownToRest(id);
        const { counters, items } = await countsAndItems(id);
        expect(counters).toEqual(items);
        expect(await statuses(id)).toEqual({ Skipped: 55 });
        expect(await instances.reservedChunks(id)).toEqual([]);
      }),
      { numRuns: 4 },
    );
  }, 120_000);
});

/** The engine's repositories with every call held until the scheduler lets it go. */
function scheduledDeps(s: fc.Scheduler): EngineDeps {
  const held = <T extends object>(repo: T): T =>
    new Proxy(repo, {
      get(target, name, receiver) {
        const value = Reflect.get(target, name, receiver);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          await s.schedule(Promise.resolve(), String(name));
          return value.apply(target, args);
        };
      },
    });
  return { ...deps, deployments: held(deployments), instanceDeployments: held(instances) };
}
