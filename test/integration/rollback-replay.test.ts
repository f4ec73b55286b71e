import type { S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { progressDeployment } from '../../lib/worker/progress-deployment.js';
import { TestClock, testS3Client } from '../support/api-harness.js';
import { type TestTable, createTestTable } from '../support/dynamo.js';
import { type Engine, type LabRun, engineOver } from '../support/engine-lab.js';
import { BUCKET, ok, registerFleet, rememberSuccess, uploadScenarioBundles } from '../support/engine-scenarios.js';

let s3: S3Client;
let table: TestTable;
let engine: Engine;
beforeAll(async () => {
  s3 = testS3Client();
  await uploadScenarioBundles(s3);
});
afterAll(() => s3?.destroy());
beforeEach(async () => {
  table = await createTestTable();
  engine = engineOver(table.client, table.tableName, s3, new TestClock());
});
afterEach(async () => table?.drop());

const deploymentOf = async (id: string) => (await engine.deps.deployments.get(id))!;

describe('an automatic rollback, replayed', () => {
  it('when the worker died after creating the rollback and the rollback succeeded before the failed deployment came round again, the end is handled with that one rollback', async () => {
    const run = { healthy: engine, agents: [], table } as unknown as LabRun;
    const [host] = await registerFleet(run, 'shop', 'prod', 1, { autoRollback: { enabled: true, events: ['DEPLOYMENT_FAILURE'] } }, { failAt: 'Install' });
    await rememberSuccess(run, 'shop', 'prod');
    const created = await ok(engine, engine.send('POST', '/deployments', { body: { application: 'shop', group: 'prod', revision: { bucket: BUCKET, key: 'web/app-2.zip' } } }), [201]);
    const id: string = created.body.deploymentId;
    await progressDeployment(id, engine.deps);
    await host!.work(engine);

    // The worker that handles the failure dies right after creating the rollback.
    const repository = engine.deps.deployments;
    const markEndHandled = repository.markEndHandled.bind(repository);
    repository.markEndHandled = async () => {
      throw new Error('the worker died');
    };
    await expect(progressDeployment(id, engine.deps)).rejects.toThrow('the worker died');
    repository.markEndHandled = markEndHandled;
    const rollbackId = (await deploymentOf(id)).rolledBackBy as string;
    expect(rollbackId).toMatch(/^d-/);

    // The rollback's own records come first: it runs to success, and the group's last success is now the rollback.
    await progressDeployment(rollbackId, engine.deps);
    await host!.work(engine);
    await progressDeployment(rollbackId, engine.deps);
    expect(await deploymentOf(rollbackId)).toMatchObject({ status: 'Succeeded', rollbackOf: id });

    // Then the failed deployment's record comes round again.
    await progressDeployment(id, engine.deps);
    expect(await deploymentOf(id)).toMatchObject({ status: 'Failed', rolledBackBy: rollbackId, endHandled: true });
    const listed = await ok(engine, engine.send('GET', '/deployments', { query: { application: 'shop', group: 'prod' } }), [200]);
    expect(listed.body.items.map((d: { deploymentId: string }) => d.deploymentId).sort()).toEqual([id, rollbackId].sort());
  });
});
