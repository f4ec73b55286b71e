import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoInstanceDeploymentsRepository } from '../../lib/adapters/dynamodb/instance-deployments-repository.js';
import { keys } from '../../lib/adapters/dynamodb/keys.js';
import { type InstanceDeployment, initialEvents } from '../../lib/domain/deployment.js';
import { LIFECYCLE_EVENTS } from '../../lib/domain/lifecycle.js';
import { type TestTable, createTestTable } from '../support/dynamo.js';

let t: TestTable;
let repo: DynamoInstanceDeploymentsRepository;
beforeAll(async () => {
  t = await createTestTable();
  repo = new DynamoInstanceDeploymentsRepository(t.table);
});
afterAll(() => t.drop());


/** A long host name (EC2 instance IDs are 19 characters). */
const instanceId = `web-${'a'.repeat(36)}`;
const SCRIPTED = new Set(['ApplicationStop', 'BeforeInstall', 'AfterInstall', 'ApplicationStart', 'ValidateService']);
const at = (s: number) => new Date(Date.UTC(2026, 10, 23, 12, 0, s)).toISOString();

/** The write units DynamoDB charges for a write to the item as it is now (1 per started KB). */
async function writeUnits(deploymentId: string): Promise<number> {
  const out = await t.doc.send(
    new UpdateCommand({
      TableName: t.tableName,
      Key: keys.instanceDeployment(deploymentId, instanceId),
      UpdateExpression: 'SET probe = :p',
      ExpressionAttributeValues: { ':p': 1 },
      ReturnConsumedCapacity: 'TOTAL',
    }),
  );
  return out.ConsumedCapacity?.CapacityUnits ?? Number.NaN;
}

describe('an instance deployment item', () => {
  it.each([
    ['scripts on every script event', false],
    ['no scripts at all', true],
  ])('stays under 1 KB through a whole deployment (%s), so each write to it costs one write unit', async (_what, noHooks) => {
    const deploymentId = noHooks ? 'd-SIZE00001' : 'd-SIZE00002';
    let instance: InstanceDeployment = { deploymentId, instanceId, source: 'registered', status: 'Pending', events: initialEvents(), version: 1 };
    await repo.putAll([instance]);
    instance = (await repo.get(deploymentId, instanceId)) as InstanceDeployment;
    instance = await repo.update(instance, { events: instance.events, now: at(1), leaseExpiresAt: at(91), watchAt: at(91), acknowledgedAt: at(1) });
    // Every event reported as the agent does: scripts with their exit code; DownloadBundle and Install Succeeded,
    // or Skipped with the agent's reason in a bundle without hooks.
    let s = 2;
    for (const name of LIFECYCLE_EVENTS) {
      const events = instance.events.map((e) =>
        e.name === name
          ? SCRIPTED.has(name) && noHooks
            ? { ...e, status: 'Skipped' as const, startedAt: at(s), endedAt: at(s), message: 'no scripts for this event' }
            : { ...e, status: 'Succeeded' as const, startedAt: at(s), endedAt: at(s + 1), ...(SCRIPTED.has(name) ? { exitCode: 0 } : {}) }
          : e,
      );
      const last = name === LIFECYCLE_EVENTS.at(-1);
      instance = await repo.update(instance, { events, now: at(s + 1), ...(last ? {} : { leaseExpiresAt: at(s + 91), watchAt: at(s + 91) }) });
      expect(await writeUnits(deploymentId)).toBe(1);
      s += 2;
    }
    const stored = await repo.get(deploymentId, instanceId);
    expect(stored?.events.filter((e) => e.status !== 'Pending' && !e.name.includes('Traffic')).map((e) => e.name)).toEqual([...LIFECYCLE_EVENTS]);
    expect(stored?.events.find((e) => e.name === 'Install')).toEqual({ name: 'Install', status: 'Succeeded', startedAt: at(8), endedAt: at(9) });
  });
});
