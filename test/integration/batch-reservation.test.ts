import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDeploymentsRepository } from '../../lib/adapters/dynamodb/deployments-repository.js';
import { DynamoInstanceDeploymentsRepository } from '../../lib/adapters/dynamodb/instance-deployments-repository.js';
import { resolveDeploymentConfig } from '../../lib/domain/deployment-config.js';
import { type Deployment, initialEvents } from '../../lib/domain/deployment.js';
import { emptyCounts } from '../../lib/domain/minimum-healthy.js';
import { type TestTable, createTestTable } from '../support/dynamo.js';

/**
 * A batch is reserved in one write on the deployment item, then dispatched in
 * chunks that touch only their own instances: wide batches never pile
 * transactions onto the deployment item.
 */
let table: TestTable;
let deployments: DynamoDeploymentsRepository;
let instances: DynamoInstanceDeploymentsRepository;
let counter = 0;
const NOW = { now: '2026-01-01T00:00:00.000Z', watchAt: '2026-01-01T00:05:00.000Z' };

beforeAll(async () => {
  table = await createTestTable();
  deployments = new DynamoDeploymentsRepository(table.table);
  instances = new DynamoInstanceDeploymentsRepository(table.table);
});
afterAll(async () => table?.drop());

/** An InProgress deployment over `size` pending instances h-0 … h-(size-1). */
async function rollingOut(size: number, minimum = 0): Promise<{ id: string; hosts: string[] }> {
  const id = `d-RESERV${String(++counter).padStart(3, '0')}`;
  const deployment: Deployment = {
    deploymentId: id, application: 'app', group: `g${counter}`, groupId: 'g', revision: { bucket: 'b', key: 'k.zip', bundleType: 'zip' },
    deploymentConfig: resolveDeploymentConfig('AllAtOnce'), minimumHealthyHosts: 0, fleetSize: 0, status: 'Created', counts: emptyCounts(),
    fileExistsBehavior: 'DISALLOW', ignoreApplicationStopFailures: false, description: '', creator: 'test', createdAt: NOW.now, hookRoleArn: null,
  };
  await deployments.create(deployment, { lockGroup: false });
  expect(await deployments.claimFreeze(id, { token: 'lease', until: '9999-01-01T00:00:00.000Z' }, NOW.now)).toBe(true);
  const hosts = Array.from({ length: size }, (_, i) => `h-${String(i).padStart(3, '0')}`);
  await instances.putAll(hosts.map((instanceId) => ({ deploymentId: id, instanceId, source: 'registered' as const, status: 'Pending' as const, events: initialEvents(), version: 0 })));
  expect(await deployments.startRollout(id, { fleetSize: size, minimumHealthyHosts: minimum, now: NOW.now, lease: 'lease' })).toBe(true);
  return { id, hosts };
}

/** The deployment's counters must equal what its instance items say. */
async function expectCountsMatchItems(id: string) {
  const d = (await deployments.get(id)) as Deployment;
  const items = (await instances.list(id, { limit: 1000 })).items;
  const tally = (s: string) => items.filter((i) => i.status === s).length;
  expect(d.counts).toMatchObject({ pending: tally('Pending'), inProgress: tally('InProgress') });
  return d;
}

async function reserve(id: string, batch: number, ids: string[], maxOffline: number) {
  const token = `t${batch}${ids.length}`;
  await instances.proposeBatch(id, batch, token, ids);
  return { token, reserved: await deployments.reserveBatch(id, { batch, token, size: ids.length, maxOffline }) };
}

describe('reserving and dispatching a batch', () => {
  it('reserves 100 instances in one write and dispatches them in chunks, each instance once', async () => {
    const { id, hosts } = await rollingOut(100);
    const { token, reserved } = await reserve(id, 1, hosts, 100);
    expect(reserved).toBe(true);
    const reservedNow = (await deployments.get(id)) as Deployment;
    expect(reservedNow).toMatchObject({ batchNumber: 1, openBatches: [token], counts: { pending: 0, inProgress: 100 } });
    const chunks = await instances.reservedChunks(id);
    expect(chunks).toHaveLength(Math.ceil(100 / 49));
    // Two workers race over the same chunks: each chunk goes out once.
    const [a, b] = await Promise.all([
      Promise.all(chunks.map((c) => instances.dispatchChunk(id, c, NOW))),
      Promise.all(chunks.map((c) => instances.dispatchChunk(id, c, NOW))),
    ]);
    expect([...a.flat(), ...b.flat()].sort()).toEqual(hosts);
    await deployments.closeBatch(id, token);
    const d = await expectCountsMatchItems(id);
    expect(d.openBatches).toBeUndefined();
    expect(await instances.reservedChunks(id)).toEqual([]);
  }, 60_000);

  it('refuses a batch number already taken, and a batch that would take too many hosts offline', async () => {
    const { id, hosts } = await rollingOut(4, 2);
    expect((await reserve(id, 1, hosts.slice(0, 3), 2)).reserved).toBe(false); // 3 offline > fleet − minimum
    expect((await reserve(id, 1, hosts.slice(0, 2), 2)).reserved).toBe(true);
    expect((await reserve(id, 1, hosts.slice(2, 4), 4)).reserved).toBe(false); // batch 1 is taken
    expect((await reserve(id, 2, hosts.slice(2, 3), 2)).reserved).toBe(false); // no room left
    expect(await deployments.get(id)).toMatchObject({ batchNumber: 1, counts: { pending: 2, inProgress: 2 } });
  });

  it('an instance a stale index put in a batch, though no longer pending, gives its slot back', async () => {
    const { id, hosts } = await rollingOut(3);
    await reserve(id, 1, [hosts[0] as string], 3);
    const [first] = await instances.reservedChunks(id);
    expect(await instances.dispatchChunk(id, first!, NOW)).toEqual([hosts[0]]);
    // The pending index still listed h-000 when batch 2 was proposed.
    const { reserved } = await reserve(id, 2, [hosts[0] as string, hosts[1] as string], 3);
    expect(reserved).toBe(true);
    const [second] = await instances.reservedChunks(id);
    expect(await instances.dispatchChunk(id, second!, NOW)).toEqual([hosts[1]]);
    expect(await instances.dispatchChunk(id, second!, NOW)).toEqual([]); // replayed: nothing twice
    const d = await expectCountsMatchItems(id);
    expect(d.counts).toMatchObject({ pending: 1, inProgress: 2 });
  });

  it('a batch given back (its deployment ended first) is counted pending again, once', async () => {
    const { id, hosts } = await rollingOut(2);
    await reserve(id, 1, hosts, 2);
    const [chunk] = await instances.reservedChunks(id);
    await instances.releaseChunk(id, chunk!);
    await instances.releaseChunk(id, chunk!);
    expect(await instances.dispatchChunk(id, chunk!, NOW)).toEqual([]); // given back: never dispatched after all
    const d = await expectCountsMatchItems(id);
    expect(d.counts).toMatchObject({ pending: 2, inProgress: 0 });
  });
});
