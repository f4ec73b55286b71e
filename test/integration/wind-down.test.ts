import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDeploymentsRepository } from '../../lib/adapters/dynamodb/deployments-repository.js';
import { DynamoInstanceDeploymentsRepository } from '../../lib/adapters/dynamodb/instance-deployments-repository.js';
import { keys } from '../../lib/adapters/dynamodb/keys.js';
import type { EngineDeps } from '../../lib/deployments/engine.js';
import { windDown } from '../../lib/deployments/wind-down.js';
import { resolveDeploymentConfig } from '../../lib/domain/deployment-config.js';
import { type Deployment, initialEvents } from '../../lib/domain/deployment.js';
import { emptyCounts } from '../../lib/domain/minimum-healthy.js';
import { type TestTable, createTestTable } from '../support/dynamo.js';

/** A stopped deployment's instances that never started end Skipped: the counters in one write, the items side by side. */
let table: TestTable;
let deployments: DynamoDeploymentsRepository;
let instances: DynamoInstanceDeploymentsRepository;
let deps: EngineDeps;
const NOW = '2026-01-01T00:00:00.000Z';

beforeAll(async () => {
  table = await createTestTable();
  deployments = new DynamoDeploymentsRepository(table.table);
  instances = new DynamoInstanceDeploymentsRepository(table.table);
  deps = { deployments, instanceDeployments: instances, clock: { now: () => new Date(NOW) } } as unknown as EngineDeps;
});
afterAll(async () => table?.drop());

/** A deployment stopped while `size` instances were still pending. */
async function stoppedWithPending(id: string, size: number): Promise<string[]> {
  const deployment: Deployment = {
    deploymentId: id, application: 'app', group: id, groupId: 'g', revision: { bucket: 'b', key: 'k.zip', bundleType: 'zip' },
    deploymentConfig: resolveDeploymentConfig('AllAtOnce'), minimumHealthyHosts: 0, fleetSize: 0, status: 'Created', counts: emptyCounts(),
    fileExistsBehavior: 'DISALLOW', ignoreApplicationStopFailures: false, description: '', creator: 'test', createdAt: NOW, hookRoleArn: null,
  };
  await deployments.create(deployment, { lockGroup: false });
  const hosts = Array.from({ length: size }, (_, i) => `h-${String(i).padStart(4, '0')}`);
  await instances.putAll(hosts.map((instanceId) => ({ deploymentId: id, instanceId, source: 'registered' as const, status: 'Pending' as const, events: initialEvents(), version: 0 })));
  await deployments.startRollout(id, { fleetSize: size, minimumHealthyHosts: 0, now: NOW });
  await table.doc.send(
    new UpdateCommand({ TableName: table.tableName, Key: keys.deployment(id), UpdateExpression: 'SET #s = :stopped', ExpressionAttributeNames: { '#s': 'status' }, ExpressionAttributeValues: { ':stopped': 'Stopped' } }),
  );
  return hosts;
}

async function statuses(id: string): Promise<Record<string, number>> {
  const tally: Record<string, number> = {};
  for (const i of (await instances.list(id, { limit: 1000 })).items) tally[i.status] = (tally[i.status] ?? 0) + 1;
  return tally;
}

describe('skipping what never started', () => {
  it('counts every pending instance skipped in one write, then skips each item', async () => {
    await stoppedWithPending('d-WINDDOWN1', 120);
    const before = (await deployments.get('d-WINDDOWN1')) as Deployment;
    expect(await windDown(before, deps)).toBe(120);
    expect(await statuses('d-WINDDOWN1')).toEqual({ Skipped: 120 });
    expect((await deployments.get('d-WINDDOWN1'))?.counts).toMatchObject({ pending: 0, skipped: 120 });
  }, 60_000);

  it('interrupted after the counters moved and a few items, finishes without counting anything twice', async () => {
    const hosts = await stoppedWithPending('d-WINDDOWN2', 30);
    expect(await deployments.countPendingAsSkipped('d-WINDDOWN2')).toBe(true);
    expect(await deployments.countPendingAsSkipped('d-WINDDOWN2')).toBe(false); // nothing pending any more: no second move
    await instances.skipCounted('d-WINDDOWN2', hosts.slice(0, 7), NOW); // then the worker died
    const replayed = (await deployments.get('d-WINDDOWN2')) as Deployment;
    expect(await windDown(replayed, deps)).toBe(23);
    expect(await windDown(replayed, deps)).toBe(0);
    expect(await statuses('d-WINDDOWN2')).toEqual({ Skipped: 30 });
    expect((await deployments.get('d-WINDDOWN2'))?.counts).toMatchObject({ pending: 0, skipped: 30 });
  }, 60_000);
});
