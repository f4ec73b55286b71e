import { describe, expect, it } from 'vitest';
import { reconcileAll } from '../../lib/worker/reconcile-all.js';
import { useApi } from '../support/api-harness.js';
import { useFleets } from '../support/fleet.js';
import type { ScriptedAgent } from '../support/scripted-agent.js';

const api = useApi();
const { fleet, getDeployment, runFleet } = useFleets(api);
/** One scheduled run, then whatever the worker does in response. */
const reconcile = async () => {
  const summary = await reconcileAll(api.deps);
  await api.settle();
  return summary;
};

describe('the reconciler', () => {
  it('fails a hook past its deadline, marks a silent agent Unknown and fails work nobody picked up', async () => {
    const { agents, deploy } = await fleet(3, { deploymentConfig: 'AllAtOnce' });
    const { body } = await deploy();
    const [hung, silent, absent] = agents as [ScriptedAgent, ScriptedAgent, ScriptedAgent];
    await hung.runOnce({ hangAt: 'BeforeInstall' }); // InProgress with a 60 s timeout: deadline in 120 s
    await silent.poll(); // acknowledged, then never heard from again: lease ends in 90 s
    void absent; // never polls: its start window is 300 s

    api.clock.advance(80);
    expect((await hung.poll()).body.action).toBe('continue'); // the hung agent still heartbeats
    api.clock.advance(50);
    expect(await reconcile()).toMatchObject({ timedOut: 1, lost: 1, neverStarted: 0 });
    api.clock.advance(200);
    expect(await reconcile()).toMatchObject({ timedOut: 0, lost: 0, neverStarted: 1 });

    const deployment = await getDeployment(body.deploymentId);
    expect(deployment.status).toBe('Failed');
    expect(deployment.counts).toMatchObject({ failed: 2, unknown: 1, inProgress: 0 });
    const hungDetail = await api.call('GET', `/deployments/${body.deploymentId}/instances/${hung.instanceId}`);
    expect(hungDetail.body.events.find((e: { name: string }) => e.name === 'BeforeInstall')).toMatchObject({ status: 'Failed', errorCode: 'ScriptTimedOut' });
    const late = await hung.report(body.deploymentId, 'BeforeInstall', 'Succeeded');
    expect(late.status).toBe(409);
    expect(await reconcile()).toMatchObject({ timedOut: 0, lost: 0, neverStarted: 0 });
  });

  it('racing a report, loses nothing and counts nothing twice', async () => {
    const { agents, deploy } = await fleet(5, { deploymentConfig: 'AllAtOnce' });
    const { body } = await deploy();
    await Promise.all(agents.map((a) => a.poll()));
    api.clock.advance(95); // leases lapse while the agents report
    await Promise.all([...agents.map((a) => a.runOnce()), reconcile(), reconcile()]);
    await runFleet(agents);
    await reconcile();
    const d = await getDeployment(body.deploymentId);
    const c = d.counts;
    expect(c.pending + c.inProgress + c.succeeded + c.failed + c.skipped + c.unknown).toBe(5);
    expect(c.inProgress).toBe(0);
    expect(['Succeeded', 'Failed']).toContain(d.status);
    const instances = (await api.call('GET', `/deployments/${body.deploymentId}/instances`)).body.items;
    const tally = (s: string) => instances.filter((i: { status: string }) => i.status === s).length;
    expect({ succeeded: tally('Succeeded'), unknown: tally('Unknown') }).toEqual({ succeeded: c.succeeded, unknown: c.unknown });
  });

  it('out of time, begins no expiry: what is left is still due, and the next pass with time ends it', async () => {
    const { agents, deploy } = await fleet(3, { deploymentConfig: 'AllAtOnce' });
    const { body } = await deploy();
    await Promise.all(agents.map((a) => a.poll())); // acknowledged, then silent: their leases end in 90 s
    api.clock.advance(100);
    expect(await reconcileAll(api.deps, { timeLeftMs: () => 0 })).toMatchObject({ lost: 0, deferred: 1 });
    expect((await getDeployment(body.deploymentId)).counts).toMatchObject({ inProgress: 3, unknown: 0 });
    expect(await reconcile()).toMatchObject({ lost: 3, deferred: 0 });
  });

  it('a pass that runs out of time leaves the remaining deployments to the next', async () => {
    const deployments: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { agents, deploy } = await fleet(1);
      deployments.push((await deploy()).body.deploymentId);
      await agents[0]!.poll();
    }
    api.clock.advance(100);
    /** Time for one deployment with one instance to expire (a check before it, one before its instance), then none. */
    const timeForOne = () => {
      let checks = 0;
      return () => (++checks <= 2 ? 60_000 : 0);
    };
    const unknownOf = async () => Promise.all(deployments.map(async (id) => (await getDeployment(id)).counts.unknown));
    expect(await reconcileAll(api.deps, { timeLeftMs: timeForOne() })).toMatchObject({ lost: 1, deferred: 1 });
    expect((await unknownOf()).sort()).toEqual([0, 1]);
    api.clock.advance(60); // the next scheduled pass: the deployment that was handled has ended
    expect(await reconcileAll(api.deps, { timeLeftMs: timeForOne() })).toMatchObject({ lost: 1, deferred: 0 });
    expect(await unknownOf()).toEqual([1, 1]);
  });

  it('finishes a deployment whose worker gave up while freezing its targets', async () => {
    const { app, deploy } = await fleet(2);
    const original = api.deps.instanceDeployments.putAll;
    api.deps.instanceDeployments.putAll = async () => {
      throw new Error('Lambda timed out');
    };
    try {
      expect((await deploy()).status).toBe(201); // the request only records the intent
      await api.settle();
    } finally {
      api.deps.instanceDeployments.putAll = original;
    }
    const [stuck] = (await api.call('GET', '/deployments', { query: { application: app } })).body.items;
    expect(stuck.status).toBe('Created');
    expect(stuck.freezeLease).toMatchObject({ until: expect.any(String) }); // the failed worker's lease runs out in its own time
    expect((await deploy('web/other.zip')).status).toBe(409); // still holds the group
    expect((await reconcile()).deployments).toBeGreaterThanOrEqual(1);
    expect((await getDeployment(stuck.deploymentId)).status).toBe('Created'); // too young: still its worker's
    api.clock.advance(180);
    await reconcile();
    const after = await getDeployment(stuck.deploymentId);
    expect(after).toMatchObject({ status: 'InProgress', fleetSize: 2 });
    expect(after.counts).toMatchObject({ pending: 1, inProgress: 1 });
  });

  it('looks at a running instance no later than it is due, moving its watch time only when it looks too early', async () => {
    const { agents, deploy } = await fleet(2, { deploymentConfig: 'AllAtOnce' });
    const { body } = await deploy();
    const [working, absent] = agents as [ScriptedAgent, ScriptedAgent];
    const watchOf = async (agent: ScriptedAgent) => (await api.deps.instanceDeployments.get(body.deploymentId, agent.instanceId))?.watchAt;
    await api.settle(); // dispatched
    const dispatchedWatch = await watchOf(working);
    expect(dispatchedWatch).toBeDefined();

    api.clock.advance(20);
    await working.poll(); // acknowledged: the lease now ends later than the watch time dispatch set
    const acknowledged = await api.deps.instanceDeployments.get(body.deploymentId, working.instanceId);
    expect(acknowledged?.watchAt).toBe(dispatchedWatch); // the acknowledgement moved nothing
    expect(acknowledged?.watchAt && acknowledged.leaseExpiresAt && acknowledged.watchAt < acknowledged.leaseExpiresAt).toBe(true);

    // Due by its watch time, not by its lease: the reconciler leaves it running and looks again when the lease ends.
    api.clock.advance(75);
    expect(await reconcile()).toMatchObject({ lost: 0, neverStarted: 0 });
    expect(await watchOf(working)).toBe(acknowledged?.leaseExpiresAt);
    expect(await watchOf(absent)).not.toBe(dispatchedWatch); // not picked up, not yet pushed again: looked at later
    const detail = await api.call('GET', `/deployments/${body.deploymentId}/instances/${working.instanceId}`);
    expect(detail.body.status).toBe('InProgress');
    expect(detail.body).not.toHaveProperty('watchAt');

    api.clock.advance(20); // the lease has ended with no word from the agent
    expect(await reconcile()).toMatchObject({ lost: 1 });
    expect(await watchOf(working)).toBeUndefined();
  });
});
