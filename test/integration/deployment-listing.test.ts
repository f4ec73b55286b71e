import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDeploymentsRepository } from '../../lib/adapters/dynamodb/deployments-repository.js';
import { resolveDeploymentConfig } from '../../lib/domain/deployment-config.js';
import type { Deployment } from '../../lib/domain/deployment.js';
import { emptyCounts } from '../../lib/domain/minimum-healthy.js';
import { type TestTable, createTestTable } from '../support/dynamo.js';

/** Deployments are listed from their own keys: an application's or a group's listing never filters a shared partition. */
let table: TestTable;
let repo: DynamoDeploymentsRepository;
const queries: Record<string, unknown>[] = [];

function deployment(n: number, application: string, group: string, status: Deployment['status'] = 'Created'): Deployment {
  return {
    deploymentId: `d-LIST${String(n).padStart(5, '0')}`,
    application,
    group,
    groupId: `${application}-${group}`,
    revision: { bucket: 'b', key: `${application}/r${n}.zip`, bundleType: 'zip' },
    deploymentConfig: resolveDeploymentConfig('OneAtATime'),
    minimumHealthyHosts: 0,
    fleetSize: 0,
    status,
    counts: emptyCounts(),
    fileExistsBehavior: 'DISALLOW',
    ignoreApplicationStopFailures: false,
    description: '',
    creator: 'arn:aws:iam::111122223333:user/ci',
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, n)).toISOString(),
    hookRoleArn: null,
  };
}

// 3 applications × 2 groups, created in turn, some already finished.
const fleet = Array.from({ length: 24 }, (_, n) => deployment(n, `app${n % 3}`, `g${Math.floor(n / 3) % 2}`, n % 4 === 0 ? 'Succeeded' : 'Created'));
const newestFirst = (ds: Deployment[]) => ds.map((d) => d.deploymentId).reverse();

async function listAll(filter: Parameters<DynamoDeploymentsRepository['list']>[0], limit: number): Promise<string[]> {
  const ids: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await repo.list(filter, { limit, nextToken });
    ids.push(...page.items.map((d) => d.deploymentId));
    nextToken = page.nextToken;
  } while (nextToken);
  return ids;
}

beforeAll(async () => {
  table = await createTestTable();
  table.doc.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'QueryCommand') queries.push({ ...(args.input as Record<string, unknown>) });
      return next(args);
    },
    { step: 'initialize', name: 'recordQueries' },
  );
  repo = new DynamoDeploymentsRepository(table.table);
  for (const d of fleet) await repo.create(d, { lockGroup: false });
}, 60_000);
afterAll(() => table?.drop());

describe('listing deployments', () => {
  it('lists a group, an application and everything, newest first, across pages', async () => {
    for (const limit of [1, 4, 100]) {
      expect(await listAll({ application: 'app1', group: 'g0' }, limit)).toEqual(newestFirst(fleet.filter((d) => d.application === 'app1' && d.group === 'g0')));
      expect(await listAll({ application: 'app2' }, limit)).toEqual(newestFirst(fleet.filter((d) => d.application === 'app2')));
      expect(await listAll({}, limit)).toEqual(newestFirst(fleet));
    }
  });

  it('shows the deployment as it is now, and filters a status within the listing', async () => {
    expect(await listAll({ application: 'app0', status: 'Succeeded' }, 2)).toEqual(
      newestFirst(fleet.filter((d) => d.application === 'app0' && d.status === 'Succeeded')),
    );
    const [first] = (await repo.list({ application: 'app1', group: 'g1' }, { limit: 1 })).items;
    expect(first).toEqual(fleet.filter((d) => d.application === 'app1' && d.group === 'g1').at(-1));
  });

  it("reads a group's and an application's listing by its own key, with no filter and no index", async () => {
    queries.length = 0;
    await repo.list({ application: 'app1', group: 'g0' }, { limit: 50 });
    await repo.list({ application: 'app2' }, { limit: 50 });
    expect(queries.map((q) => [q.IndexName, q.FilterExpression, (q.ExpressionAttributeValues as Record<string, string>)[':p']])).toEqual([
      [undefined, undefined, 'DEPLOYMENTS#app1#g0'],
      [undefined, undefined, 'DEPLOYMENTS#app2'],
    ]);
  });

  it('never mixes a group of one application into another whose name it prefixes', async () => {
    const a = deployment(100, 'web', 'prod');
    const b = deployment(101, 'web-2', 'prod');
    const c = deployment(102, 'web', 'prod-eu');
    for (const d of [a, b, c]) await repo.create(d, { lockGroup: false });
    expect(await listAll({ application: 'web', group: 'prod' }, 10)).toEqual([a.deploymentId]);
    expect(await listAll({ application: 'web' }, 10)).toEqual([c.deploymentId, a.deploymentId]);
  });
});
