import { describe, expect, it } from 'vitest';
import { advanceDeployment } from '../../lib/worker/advance-deployment.js';
import type { LabRun } from '../support/engine-lab.js';
import { rememberSuccessIn } from '../support/dynamo-lab.js';
import { BUCKET, EARLIER_SUCCESS, ok, registerFleet, useEngine } from '../support/engine-scenarios.js';

const lab = useEngine();

const deploymentOf = async (id: string) => (await lab.engine.deps.deployments.get(id))!;

describe('an automatic rollback, replayed', () => {
  it('when the worker died after creating the rollback and the rollback succeeded before the failed deployment came round again, the end is handled with that one rollback', async () => {
    const run = { healthy: lab.engine, agents: [] } as unknown as LabRun;
    const [host] = await registerFleet(run, 'shop', 'prod', 1, { autoRollback: { enabled: true, events: ['DEPLOYMENT_FAILURE'] } }, { failAt: 'Install' });
    await rememberSuccessIn(lab.table, 'shop', 'prod', EARLIER_SUCCESS);
    const created = await ok(lab.engine, lab.engine.send('POST', '/deployments', { body: { application: 'shop', group: 'prod', revision: { bucket: BUCKET, key: 'web/app-2.zip' } } }), [201]);
    const id: string = created.body.deploymentId;
    await advanceDeployment(id, lab.engine.deps);
    await host!.work(lab.engine);

    // The worker that handles the failure dies right after creating the rollback.
    const repository = lab.engine.deps.deployments;
    const markEndHandled = repository.markEndHandled.bind(repository);
    repository.markEndHandled = async () => {
      throw new Error('the worker died');
    };
    await expect(advanceDeployment(id, lab.engine.deps)).rejects.toThrow('the worker died');
    repository.markEndHandled = markEndHandled;
    const rollbackId = (await deploymentOf(id)).rolledBackBy as string;
    expect(rollbackId).toMatch(/^d-/);

    // The rollback's own records come first: it runs to success, and the group's last success is now the rollback.
    await advanceDeployment(rollbackId, lab.engine.deps);
    await host!.work(lab.engine);
    await advanceDeployment(rollbackId, lab.engine.deps);
    expect(await deploymentOf(rollbackId)).toMatchObject({ status: 'Succeeded', rollbackOf: id });

    // Then the failed deployment's record comes round again.
    await advanceDeployment(id, lab.engine.deps);
    expect(await deploymentOf(id)).toMatchObject({ status: 'Failed', rolledBackBy: rollbackId, endHandled: true });
    const listed = await ok(lab.engine, lab.engine.send('GET', '/deployments', { query: { application: 'shop', group: 'prod' } }), [200]);
    expect(listed.body.items.map((d: { deploymentId: string }) => d.deploymentId).sort()).toEqual([id, rollbackId].sort());
  });
});
