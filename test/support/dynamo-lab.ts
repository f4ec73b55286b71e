import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import { createDocumentClient } from '../../lib/adapters/dynamodb/client.js';
import { keys } from '../../lib/adapters/dynamodb/keys.js';
import { type TestClock, testApiDeps } from './api-harness.js';
import { type TestTable, createTestTable } from './dynamo.js';
import { type Engine, type Lab, type LabBackend, type LabState, engineOf } from './engine-lab.js';
import { crashingClient, flakyClient } from './faulty-dynamodb.js';
import { StreamTap } from './stream-tap.js';

type Item = Record<string, any>;

/** The engine over a DynamoDB client (which a test may make crash or fail) on `tableName`. */
export function engineOver(client: DynamoDBClient, tableName: string, s3: S3Client, clock: TestClock, options: { dead?: () => boolean; flaky?: boolean } = {}): Engine {
  return engineOf(testApiDeps(createDocumentClient(client), tableName, s3, clock), options);
}

/** What an earlier successful deployment leaves on its group, written straight to the table. */
export async function rememberSuccessIn(table: TestTable, application: string, group: string, last: unknown): Promise<void> {
  await table.doc.send(
    new UpdateCommand({ TableName: table.tableName, Key: keys.group(application, group), UpdateExpression: 'SET lastSuccessful = :last', ExpressionAttributeValues: { ':last': last } }),
  );
}

async function scanAll(table: TestTable): Promise<Item[]> {
  const items: Item[] = [];
  let start: Item | undefined;
  do {
    const out = await table.doc.send(new ScanCommand({ TableName: table.tableName, ConsistentRead: true, ExclusiveStartKey: start }));
    items.push(...(out.Items ?? []));
    start = out.LastEvaluatedKey;
  } while (start);
  return items;
}

/** The lab on a fresh DynamoDB Local table per run, read by its stream; `eTags`: the bundles' as uploaded to `s3`. */
export function dynamoLab(s3: S3Client, eTags: ReadonlyMap<string, string>): Lab {
  return async (): Promise<LabBackend> => {
    const table = await createTestTable();
    const tap = await StreamTap.open(table.client, table.tableName);
    return {
      name: 'DynamoDB Local',
      changes: tap.changes,
      healthy: (clock) => engineOver(table.client, table.tableName, s3, clock),
      engine(clock, { crashAfter, faultSeed }) {
        if (faultSeed !== undefined) {
          const { client, faults } = flakyClient(faultSeed);
          return {
            engine: engineOver(client, table.tableName, s3, clock, { flaky: true }),
            writes: () => 0,
            crashed: () => false,
            kinds: [],
            faults: () => ({ ...faults }),
            close: () => client.destroy(),
          };
        }
        const crash = crashingClient(crashAfter ?? Infinity);
        return {
          engine: engineOver(crash.client, table.tableName, s3, clock, { dead: crash.crashed }),
          writes: crash.writes,
          crashed: crash.crashed,
          kinds: crash.kinds,
          faults: () => ({}),
          close: () => crash.client.destroy(),
        };
      },
      deliver: (handler) => tap.deliver(handler),
      rememberSuccess: (application, group, last) => rememberSuccessIn(table, application, group, last),
      eTagOf(key) {
        const eTag = eTags.get(key);
        if (eTag === undefined) throw new Error(`No bundle uploaded at ${key}`);
        return eTag;
      },
      async checkStorage(state: LabState) {
        // The adapters keep the hosts not serving as a counter of their own, which the batch guard reads.
        const items = await scanAll(table);
        for (const d of state.deployments) {
          const item = items.find((i) => i.type === 'Deployment' && i.deploymentId === d.deploymentId);
          expect(item?.countOffline ?? 0, `deployment ${d.deploymentId} countOffline`).toBe(d.counts.inProgress + d.counts.failed + d.counts.unknown);
        }
      },
      async close() {
        tap.close();
        await table.drop();
      },
    };
  };
}
