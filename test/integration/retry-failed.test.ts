import { describe, expect, it } from 'vitest';
import { reconcileAll } from '../../lib/worker/reconcile-all.js';
import { useApi } from '../support/api-harness.js';
import { useFleets } from '../support/fleet.js';
import type { ScriptedAgent } from '../support/scripted-agent.js';

/**
 * POST /deployments takes an explicit target list (targetInstances.instanceIds,
 * each an instance of the group), and POST /deployments/{id}/retry deploys an
 * ended deployment's exact revision to the instances that failed, were skipped or
 * lost their agent in it, and to no other, recording retryOf.
 */
const api = useApi();
const { fleet, getDeployment, runFleet } = useFleets(api);
const BUCKET = 'fleetline-test-artifacts';

const retry = (id: string, body: unknown = { failedOnly: true }) => api.call('POST', `/deployments/${id}/retry`, { body });
const instancesOf = async (id: string) =>
  Object.fromEntries(((await api.call('GET', `/deployments/${id}/instances`)).body.items as { instanceId: string; status: string }[]).map((i) => [i.instanceId, i.status]));
/** Which agents got work from this deployment: an agent runs once and says which deployment it ran. */
async function whoRuns(agents: ScriptedAgent[]): Promise<Record<string, string | undefined>> {
  const ran = await Promise.all(agents.map((a) => a.runOnce()));
  return Object.fromEntries(agents.map((a, i) => [a.instanceId, ran[i]]));
}

describe('targetInstances on POST /deployments', () => {
  it('deploys to exactly the instances named, and to no other instance of the group', async () => {
    const { agents, deploy } = await fleet(3, { deploymentConfig: 'AllAtOnce' });
    const [a, , c] = agents as [ScriptedAgent, ScriptedAgent, ScriptedAgent];
    const res = await deploy('web/app-1.zip', { targetInstances: { instanceIds: [c.instanceId, a.instanceId] } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const ran = await whoRuns(agents);
    expect(Object.values(ran).filter(Boolean)).toHaveLength(2);
    expect(ran[agents[1]!.instanceId]).toBeUndefined();
    const deployment = await getDeployment(res.body.deploymentId);
    expect(deployment).toMatchObject({ status: 'Succeeded', fleetSize: 2, targetInstances: { instanceIds: [c.instanceId, a.instanceId] } });
    expect(await instancesOf(res.body.deploymentId)).toEqual({ [a.instanceId]: 'Succeeded', [c.instanceId]: 'Succeeded' });
  });

  it('refuses (422, nothing written) naming each instance that is not the group’s: unknown, or registered with other tags', async () => {
    const { app, agents, deploy } = await fleet(1);
    await api.call('PUT', '/instances/stranger-1', { body: { tags: [{ key: 'fleet', value: 'elsewhere' }] } });
    const before = (await api.call('GET', '/deployments', { query: { application: app } })).body.items.length;
    const res = await deploy('web/app-1.zip', { targetInstances: { instanceIds: [agents[0]!.instanceId, 'stranger-1', 'nowhere-9'] } });
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.error.message).toContain(`Not in deployment group ${app}/prod: stranger-1, nowhere-9`);
    expect(res.body.error.details).toEqual([
      { path: '$.targetInstances.instanceIds[1]', message: 'stranger-1 is not an instance of deployment group prod' },
      { path: '$.targetInstances.instanceIds[2]', message: 'nowhere-9 is not an instance of deployment group prod' },
    ]);
    expect((await api.call('GET', '/deployments', { query: { application: app } })).body.items.length).toBe(before);
  });

  it('refuses a list that is empty, repeats an instance, is too long or holds a malformed ID (400, by the schema)', async () => {
    const { deploy } = await fleet(1);
    const cases: [unknown, string][] = [
      [{ instanceIds: [] }, 'must name at least one instance'],
      [{ instanceIds: ['h-1', 'h-2', 'h-1'] }, 'repeats h-1'],
      [{ instanceIds: Array.from({ length: 201 }, (_, i) => `h-${i}`) }, 'must name at most 200 instances'],
      [{ instanceIds: ['no/slash'] }, 'must be 1-100 characters'],
      [{ instanceIds: ['h-1'], tags: [] }, 'tags'],
    ];
    for (const [targetInstances, message] of cases) {
      const res = await deploy('web/app-1.zip', { targetInstances });
      expect(res.status, JSON.stringify(targetInstances).slice(0, 60)).toBe(400);
      expect(JSON.stringify(res.body.error)).toContain(message);
    }
  });
});

describe('retry --failed-only', () => {
  it('deploys the same revision to the failed and skipped instances only, and records retryOf', async () => {
    const { agents, deploy } = await fleet(4); // OneAtATime: a failure skips the instances after it
    const failing = agents[1]!.instanceId;
    const original = (await deploy('web/app-2.zip')).body.deploymentId;
    await runFleet(agents, { [failing]: { failAt: { event: 'Install' } } });
    const ended = await instancesOf(original);
    expect(Object.values(ended).sort()).toEqual(['Failed', 'Skipped', 'Skipped', 'Succeeded']);
    const again = Object.keys(ended).filter((id) => ended[id] !== 'Succeeded').sort();

    const res = await retry(original);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ status: 'Created', retryOf: original, targetInstances: { instanceIds: again } });
    const before = await getDeployment(original);
    const retried = await getDeployment(res.body.deploymentId);
    expect(retried).toMatchObject({ retryOf: original, revision: before.revision, targetInstances: { instanceIds: again } });
    expect(retried.revision.eTag).toMatch(/^"[0-9a-f]{32}"$/);
    // One at a time: the first round hands the retry to one of the instances retried, never to the one that succeeded.
    const ran = await whoRuns(agents);
    expect(Object.entries(ran).filter(([, d]) => d).map(([id, d]) => [again.includes(id), d])).toEqual([[true, res.body.deploymentId]]);
    await runFleet(agents);
    expect(await getDeployment(res.body.deploymentId)).toMatchObject({ status: 'Succeeded', fleetSize: 3, counts: { succeeded: 3 } });
    expect(Object.keys(await instancesOf(res.body.deploymentId)).sort()).toEqual(again);
  });

  it('retries an instance whose agent was lost (Unknown) with the failed one, not the one that succeeded', async () => {
    const { agents, deploy } = await fleet(3, { deploymentConfig: 'AllAtOnce' });
    const [good, lost, failing] = agents as [ScriptedAgent, ScriptedAgent, ScriptedAgent];
    const original = (await deploy('web/app-1.zip')).body.deploymentId;
    await good.runOnce();
    await failing.runOnce({ failAt: { event: 'AfterInstall' } });
    await lost.poll(); // acknowledged, then never heard from again
    api.clock.advance(120);
    await reconcileAll(api.deps);
    await api.settle();
    expect(await instancesOf(original)).toEqual({ [good.instanceId]: 'Succeeded', [lost.instanceId]: 'Unknown', [failing.instanceId]: 'Failed' });
    const res = await retry(original);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.targetInstances.instanceIds).toEqual([lost.instanceId, failing.instanceId].sort());
    await runFleet(agents);
    expect(await instancesOf(res.body.deploymentId)).toEqual({ [lost.instanceId]: 'Succeeded', [failing.instanceId]: 'Succeeded' });
  });

  it('nothing to retry, a deployment still running, a body without failedOnly: each refused, naming why', async () => {
    const { agents, deploy } = await fleet(1);
    const done = (await deploy('web/app-1.zip')).body.deploymentId;
    await runFleet(agents);
    const nothing = await retry(done);
    expect([nothing.status, nothing.body.error.message]).toEqual([
      422,
      `Deployment ${done} has no instance that failed, was skipped or lost its agent: there is nothing to retry (Succeeded, 1 succeeded)`,
    ]);
    const running = (await deploy('web/app-1.zip')).body.deploymentId;
    const early = await retry(running);
    expect([early.status, early.body.error.message]).toEqual([409, `Deployment ${running} is InProgress: retry it once it has ended (or stop it: fleetline deployments stop ${running})`]);
    await runFleet(agents);
    const unsaid = await retry(done, {});
    expect(unsaid.status).toBe(400);
    expect(JSON.stringify(unsaid.body.error.details)).toContain('failedOnly');
    expect((await retry('d-ZZZZZZZZZ')).status).toBe(404);
  });

  it('a retried token answers the same retry; the revision is checked again (an object overwritten since is refused)', async () => {
    const { app, agents } = await fleet(2, { deploymentConfig: 'AllAtOnce' });
    const { putBundle } = await import('../support/bundles.js');
    await putBundle(api.s3, BUCKET, 'web/retry-pinned.zip');
    const original = (await api.call('POST', '/deployments', { body: { application: app, group: 'prod', revision: { bucket: BUCKET, key: 'web/retry-pinned.zip' } } })).body.deploymentId;
    await runFleet(agents, { [agents[0]!.instanceId]: { failAt: { event: 'Install' } } });
    const first = await retry(original, { failedOnly: true, idempotencyToken: 'retry-1' });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    const repeat = await retry(original, { failedOnly: true, idempotencyToken: 'retry-1' });
    expect([repeat.status, repeat.body.deploymentId]).toEqual([200, first.body.deploymentId]);
    await runFleet(agents);
    await putBundle(api.s3, BUCKET, 'web/retry-pinned.zip', [{ path: 'appspec.yml', content: 'version: 0.0\nos: linux\n' }, { path: 'x.txt', content: 'other bytes' }]);
    const changed = await retry(original);
    expect(changed.status, JSON.stringify(changed.body)).toBe(422);
    expect(changed.body.error.message).toContain(`s3://${BUCKET}/web/retry-pinned.zip`);
  });
});
