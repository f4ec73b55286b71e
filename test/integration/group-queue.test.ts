import { describe, expect, it } from 'vitest';
import { reconcileAll } from '../../lib/worker/reconcile-all.js';
import { useApi } from '../support/api-harness.js';
import { useFleets } from '../support/fleet.js';

/**
 * busyBehavior QUEUE: a deployment to a busy group is queued (201 Queued) and
 * starts, in creation order, when the group frees; a queued one can be stopped
 * and then never starts; the queue shows in the deployment listing. REJECT (the
 * default) keeps CodeDeploy's 409.
 */
const api = useApi();
const { fleet, getDeployment, runFleet } = useFleets(api);
const statuses = async (ids: string[]) => Promise.all(ids.map(async (id) => (await getDeployment(id)).status));

describe('a QUEUE group', () => {
  it('queues deployments to a busy group and starts them in creation order as it frees; a stopped one never starts', async () => {
    const { app, agents, deploy } = await fleet(2, { busyBehavior: 'QUEUE', deploymentConfig: 'AllAtOnce' });
    expect((await api.call('GET', `/applications/${app}/groups/prod`)).body.busyBehavior).toBe('QUEUE');
    const a = await deploy('web/app-1.zip');
    expect([a.status, a.body.status]).toEqual([201, 'Created']);
    const queued = [];
    for (const key of ['web/app-2.zip', 'web/app-1.zip', 'web/app-2.zip']) {
      const res = await deploy(key);
      expect([res.status, res.body.status], JSON.stringify(res.body)).toEqual([201, 'Queued']);
      queued.push(res.body.deploymentId as string);
    }
    const [b, c, d] = queued as [string, string, string];
    const listed = (await api.call('GET', '/deployments', { query: { application: app, status: 'Queued' } })).body.items.map((x: { deploymentId: string }) => x.deploymentId);
    expect(listed).toEqual([d, c, b]); // newest first, as every listing

    const stop = await api.call('POST', `/deployments/${c}/stop`, { body: { rollback: true } });
    expect([stop.status, stop.body.status, stop.body.stopRequested.rollback]).toEqual([202, 'Queued', false]);
    await api.settle();
    expect(await getDeployment(c)).toMatchObject({ status: 'Stopped', error: { code: 'StoppedByRequest' }, fleetSize: 0 });
    expect((await api.call('POST', `/deployments/${c}/stop`, { body: {} })).status).toBe(409);

    // Nobody has started B yet: the group is A's.
    expect(await statuses([a.body.deploymentId, b, d])).toEqual(['InProgress', 'Queued', 'Queued']);
    await runFleet(agents); // A, then B, then D: each ends, the next starts
    expect(await statuses([a.body.deploymentId, b, c, d])).toEqual(['Succeeded', 'Succeeded', 'Stopped', 'Succeeded']);
    const [db, dd] = [await getDeployment(b), await getDeployment(d)];
    expect(db.dequeuedAt < dd.dequeuedAt).toBe(true);
    expect(dd.startedAt >= db.completedAt).toBe(true);
    expect((await api.call('GET', `/deployments/${c}/instances`)).body.items).toEqual([]);
    // The group is free again: the next deployment starts at once.
    const e = await deploy('web/app-1.zip');
    expect(e.body.status).toBe('Created');
    await runFleet(agents);
  });

  it('a deployment queued just as the group freed (the end found the queue empty) starts on its own record', async () => {
    const { agents, deploy } = await fleet(1, { busyBehavior: 'QUEUE' });
    const a = (await deploy('web/app-1.zip')).body.deploymentId;
    await runFleet(agents);
    // Written as a request does that saw the group busy a moment before A ended.
    const now = new Date(api.clock.now()).toISOString();
    const { application, group, groupId, revision, deploymentConfig, fileExistsBehavior, ignoreApplicationStopFailures, creator, hookRoleArn } = await getDeployment(a);
    await api.deps.deployments.enqueue(
      {
        ...{ application, group, groupId, revision, deploymentConfig, fileExistsBehavior, ignoreApplicationStopFailures, creator, hookRoleArn },
        deploymentId: 'd-QUEUED001', status: 'Queued', queuedAt: now, createdAt: now, description: '', minimumHealthyHosts: 0, fleetSize: 0,
        counts: { pending: 0, inProgress: 0, succeeded: 0, failed: 0, skipped: 0, unknown: 0 },
      },
      {},
    );
    await api.settle();
    expect((await getDeployment('d-QUEUED001')).status).toBe('InProgress');
    await runFleet(agents);
    await reconcileAll(api.deps);
    expect(await statuses([a, 'd-QUEUED001'])).toEqual(['Succeeded', 'Succeeded']);
  });

  it('a group with queued deployments cannot be deleted (409 naming them); REJECT, the default, answers 409 while busy', async () => {
    const { app, agents, deploy } = await fleet(1, { busyBehavior: 'QUEUE' });
    await deploy('web/app-1.zip');
    await deploy('web/app-2.zip');
    const refused = await api.call('DELETE', `/applications/${app}/groups/prod`);
    expect(refused.status).toBe(409);
    await runFleet(agents);
    const rejecting = await fleet(1);
    expect((await api.call('GET', `/applications/${rejecting.app}/groups/prod`)).body.busyBehavior).toBe('REJECT');
    await rejecting.deploy('web/app-1.zip');
    const busy = await rejecting.deploy('web/app-2.zip');
    expect([busy.status, busy.body.error.message]).toEqual([409, expect.stringContaining('already has an active deployment')]);
    await runFleet(rejecting.agents);
    const bad = await api.call('PUT', `/applications/${app}/groups/prod`, { body: { targets: {}, busyBehavior: 'WAIT' } });
    expect([bad.status, JSON.stringify(bad.body.error.details)]).toEqual([400, expect.stringContaining('must be one of REJECT, QUEUE')]);
  });
});
