import { describe, expect, it } from 'vitest';
import { useApi } from '../support/api-harness.js';
import { useFleets } from '../support/fleet.js';
import { ScriptedAgent, agentPrincipal } from '../support/scripted-agent.js';

const api = useApi();
const { fleet, getDeployment, runFleet } = useFleets(api);
describe('creating a deployment', () => {
  it('freezes the targets, gives a CodeDeploy-style ID and dispatches the first batch at once', async () => {
    const { agents, deploy } = await fleet(9, { deploymentConfig: { minimumHealthyHosts: { type: 'HOST_COUNT', value: 6 } } });
    const created = await deploy();
    expect(created.status).toBe(201);
    expect(created.body.deploymentId).toMatch(/^d-[A-Z0-9]{9}$/);
    const deployment = await getDeployment(created.body.deploymentId);
    expect(deployment).toMatchObject({ status: 'InProgress', fleetSize: 9, minimumHealthyHosts: 6, creator: expect.any(String) });
    expect(deployment.counts).toEqual({ pending: 6, inProgress: 3, succeeded: 0, failed: 0, skipped: 0, unknown: 0 });
    expect(Object.keys(deployment).filter((k) => /^(count[A-Z]|GSI|PK$|SK$|type$)/.test(k))).toEqual([]); // table internals stay inside
    const polls = await Promise.all(agents.map((a) => a.poll()));
    expect(polls.filter((p) => p.body.assignment !== null)).toHaveLength(3);
  });

  it('gives one assignment with every lifecycle event, presigned URLs and the hook environment', async () => {
    const { app, agents, deploy } = await fleet(1);
    const { body } = await deploy('web/app-2.tgz');
    const { body: polled } = await agents[0]!.poll();
    const a = polled.assignment;
    expect(polled.action).toBe('continue');
    expect(a.deploymentId).toBe(body.deploymentId);
    expect(a.events.map((e: { name: string; status: string }) => `${e.name}:${e.status}`)).toEqual([
      'BeforeBlockTraffic:Skipped', 'BlockTraffic:Skipped', 'AfterBlockTraffic:Skipped',
      'ApplicationStop:Pending', 'DownloadBundle:Pending', 'BeforeInstall:Pending', 'Install:Pending',
      'AfterInstall:Pending', 'ApplicationStart:Pending', 'ValidateService:Pending',
      'BeforeAllowTraffic:Skipped', 'AllowTraffic:Skipped', 'AfterAllowTraffic:Skipped',
    ]);
    expect(a.bundle).toMatchObject({ bundleType: 'tgz', url: expect.stringContaining('X-Amz-Signature=') });
    expect(a.logUpload.url).toContain(`fleetline-logs/${body.deploymentId}/`);
    expect(a.environment).toMatchObject({ DEPLOYMENT_ID: body.deploymentId, APPLICATION_NAME: app, DEPLOYMENT_GROUP_NAME: 'prod', BUNDLE_KEY: 'web/app-2.tgz' });
    // As CodeDeploy sets them: the ETag without its quotes, and no BUNDLE_VERSION for an object without a version.
    expect(a.environment.BUNDLE_ETAG).toMatch(/^[0-9a-f]{32}$/);
    expect(a.environment).not.toHaveProperty('BUNDLE_VERSION');
  });

  it('refuses a second deployment to a busy group with 409, and returns the same one for a repeated idempotency token', async () => {
    const { deploy } = await fleet(2);
    const first = await deploy('web/a.zip', { idempotencyToken: 'build-42' });
    const again = await deploy('web/a.zip', { idempotencyToken: 'build-42' });
    expect(again.status).toBe(200);
    expect(again.body.deploymentId).toBe(first.body.deploymentId);
    const second = await deploy('web/b.zip');
    expect(second.status).toBe(409);
    expect(second.body.error.message).toContain(first.body.deploymentId);
  });

  it('fails, with a clear error, when no instance matches', async () => {
    const { deploy } = await fleet(0);
    const created = await deploy();
    expect(created.body.status).toBe('Created');
    expect((await getDeployment(created.body.deploymentId)).status).toBe('Failed');
    expect((await getDeployment(created.body.deploymentId)).error).toEqual({ code: 'NoInstances', message: expect.stringMatching(/No running EC2 instance or registered instance/) });
    expect((await deploy()).status).toBe(201); // the group was freed
  });

  it('fails a config that can never be satisfied by the fleet it finds, naming why, touching no instance', async () => {
    const { agents, deploy } = await fleet(2);
    const res = await deploy('web/a.zip', { deploymentConfig: { minimumHealthyHosts: { type: 'HOST_COUNT', value: 2 } } });
    expect(res.status).toBe(201); // the fleet is only known once the worker has resolved it
    const failed = await getDeployment(res.body.deploymentId);
    expect(failed).toMatchObject({ status: 'Failed', error: { code: 'HealthConstraints', message: expect.stringMatching(/needs 2 healthy instance\(s\).*targets only 2/) } });
    expect(failed.counts).toMatchObject({ skipped: 2, pending: 0, inProgress: 0 });
    expect((await agents[0]!.poll()).body.assignment).toBeNull();
    expect((await deploy('web/b.zip')).status).toBe(201);
  });

  it('answers 404 for an unknown group and 400 for a revision without bucket and key', async () => {
    expect((await api.call('POST', '/deployments', { body: { application: 'nope', group: 'prod', revision: { bucket: 'b-1', key: 'k' } } })).status).toBe(404);
    const bad = await api.call('POST', '/deployments', { body: { application: 'nope', group: 'prod', revision: {} } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.details.map((d: { path: string }) => d.path)).toEqual(['$.revision.bucket', '$.revision.key']);
  });
});

describe('rolling out', () => {
  it('when 50 agents report at once, every count is exact and the deployment succeeds', async () => {
    const { agents, deploy } = await fleet(50, { deploymentConfig: 'AllAtOnce' });
    const { body } = await deploy();
    await runFleet(agents);
    const deployment = await getDeployment(body.deploymentId);
    expect(deployment.status).toBe('Succeeded');
    expect(deployment.counts).toEqual({ pending: 0, inProgress: 0, succeeded: 50, failed: 0, skipped: 0, unknown: 0 });
    const reports = agents.flatMap((a) => a.reports);
    expect(reports.every((r) => r.status === 200)).toBe(true);
    expect(reports).toHaveLength(50 * 7 * 2);
  }, 120_000); // 700 reports against one DynamoDB Local: slow on a loaded machine

  it('OneAtATime: when an agent reports a failed hook, the next batch is not dispatched', async () => {
    const { agents, deploy } = await fleet(3, { deploymentConfig: 'OneAtATime' });
    const { body } = await deploy();
    const firstToRun = (await Promise.all(agents.map(async (a) => ((await a.poll()).body.assignment ? a : undefined)))).filter(Boolean);
    expect(firstToRun).toHaveLength(1);
    const runner = firstToRun[0] as ScriptedAgent;
    await runner.runOnce({ failAt: { event: 'BeforeInstall', exitCode: 2 } });
    const deployment = await getDeployment(body.deploymentId);
    expect(deployment.status).toBe('Failed');
    expect(deployment.counts).toMatchObject({ failed: 1, skipped: 2, inProgress: 0, pending: 0 });
    for (const agent of agents.filter((a) => a !== runner)) expect((await agent.poll()).body.assignment).toBeNull();
    const detail = await api.call('GET', `/deployments/${body.deploymentId}/instances/${runner.instanceId}`);
    expect(detail.body.events.find((e: { name: string }) => e.name === 'BeforeInstall')).toMatchObject({
      status: 'Failed', exitCode: 2, errorCode: 'ScriptFailed', outputTail: 'boom\n',
    });
    expect(detail.body.events.find((e: { name: string }) => e.name === 'AfterInstall').status).toBe('Skipped');
    expect(detail.body.logUrl).toContain(`fleetline-logs/${body.deploymentId}/${runner.instanceId}.log`);
  });

  it('OneAtATime succeeds when only the last instance fails', async () => {
    const { agents, deploy } = await fleet(3, { deploymentConfig: 'OneAtATime' });
    const { body } = await deploy();
    let assignments = 0;
    for (let round = 0; round < 4; round++) {
      for (const agent of agents) {
        const polled = await agent.poll();
        if (!polled.body.assignment) continue;
        assignments++;
        await agent.runOnce(assignments === 3 ? { failAt: { event: 'ValidateService' } } : {});
      }
    }
    expect(assignments).toBe(3);
    const deployment = await getDeployment(body.deploymentId);
    expect(deployment.status).toBe('Succeeded');
    expect(deployment.counts).toMatchObject({ succeeded: 2, failed: 1 });
  });

  it('heartbeats renew the lease only once half of it has gone, so a running hook costs no write per second', async () => {
    const { agents, deploy } = await fleet(1);
    const { body } = await deploy();
    const agent = agents[0] as ScriptedAgent;
    await agent.poll();
    const detail = () => api.call('GET', `/deployments/${body.deploymentId}/instances/${agent.instanceId}`);
    const first = (await detail()).body;
    const beat = () => api.call('POST', '/agent/v1/poll', { body: { instanceId: agent.instanceId, heartbeat: true }, principal: agentPrincipal(agent.instanceId) });
    await beat();
    await beat();
    expect((await detail()).body.version).toBe(first.version);
    api.clock.advance(50); // more than half of the 90 s lease
    await beat();
    const renewed = (await detail()).body;
    expect(renewed.version).toBe(first.version + 1);
    expect(renewed.leaseExpiresAt > first.leaseExpiresAt).toBe(true);
  });

  it('a heartbeat checks in for the deployment the agent runs, not for work another group dispatched to the same host meanwhile', async () => {
    const { app, agents, deploy } = await fleet(1);
    const agent = agents[0] as ScriptedAgent;
    // A second group over the same host, with its own deployment dispatched while the first one runs.
    const other = await api.call('PUT', `/applications/${app}/groups/canary`, {
      body: { targets: { onPremisesTagSet: [[{ key: 'fleet', value: app, type: 'KEY_AND_VALUE' }]] } },
    });
    expect(other.status).toBe(201);
    const first = (await deploy()).body.deploymentId as string;
    await api.settle();
    const polled = await agent.poll();
    expect(polled.body.assignment.deploymentId).toBe(first);
    const second = await api.call('POST', '/deployments', {
      body: { application: app, group: 'canary', revision: { bucket: 'fleetline-test-artifacts', key: 'web/app-1.zip' } },
    });
    expect(second.status).toBe(201);
    await api.settle();
    const secondId = second.body.deploymentId as string;
    expect((await api.deps.instanceDeployments.get(secondId, agent.instanceId))?.status).toBe('InProgress');

    const beat = await api.call('POST', '/agent/v1/poll', {
      body: { instanceId: agent.instanceId, heartbeat: true, deploymentId: first },
      principal: agentPrincipal(agent.instanceId),
    });
    expect(beat.body).toMatchObject({ action: 'continue', assignment: { deploymentId: first } });
    // The other deployment's work is not taken up: no acknowledgement, no lease, until the agent polls for it.
    const waiting = await api.deps.instanceDeployments.get(secondId, agent.instanceId);
    expect(waiting?.acknowledgedAt).toBeUndefined();
    expect(waiting?.leaseExpiresAt).toBeUndefined();
    // Naming a deployment the host is not a target of gets nothing.
    const stranger = await api.call('POST', '/agent/v1/poll', {
      body: { instanceId: agent.instanceId, heartbeat: true, deploymentId: 'd-AAAAAAAAA' },
      principal: agentPrincipal(agent.instanceId),
    });
    expect(stranger.body.assignment).toBeNull();
  });

  it('a duplicate report changes nothing; an out-of-order one gets 409', async () => {
    const { agents, deploy } = await fleet(1);
    const { body } = await deploy();
    const agent = agents[0] as ScriptedAgent;
    await agent.poll();
    expect((await agent.report(body.deploymentId, 'ApplicationStop', 'InProgress')).body.duplicate).toBe(false);
    const before = await api.call('GET', `/deployments/${body.deploymentId}/instances/${agent.instanceId}`);
    const dup = await agent.report(body.deploymentId, 'ApplicationStop', 'InProgress');
    expect(dup.body).toEqual({ action: 'continue', instanceStatus: 'InProgress', duplicate: true });
    const after = await api.call('GET', `/deployments/${body.deploymentId}/instances/${agent.instanceId}`);
    expect(after.body.version).toBe(before.body.version);
    const outOfOrder = await agent.report(body.deploymentId, 'Install', 'Succeeded');
    expect(outOfOrder.status).toBe(409);
    expect(outOfOrder.body.error.message).toBe('ApplicationStop has not finished yet (it is InProgress)');
  });

  it('an agent asking for, or reporting on, another instance is refused with 403', async () => {
    const { agents, deploy } = await fleet(2);
    const { body } = await deploy('web/x.zip', { deploymentConfig: 'AllAtOnce' });
    const [a, b] = agents as [ScriptedAgent, ScriptedAgent];
    const stolen = await api.call('POST', '/agent/v1/poll', { body: { instanceId: b.instanceId }, principal: agentPrincipal(a.instanceId) });
    expect(stolen.status).toBe(403);
    const forged = await api.call('POST', '/agent/v1/report', {
      body: { instanceId: b.instanceId, deploymentId: body.deploymentId, event: 'ApplicationStop', status: 'InProgress' },
      principal: agentPrincipal(a.instanceId),
    });
    expect(forged.status).toBe(403);
    const human = await api.call('POST', '/agent/v1/poll', { body: { instanceId: a.instanceId } });
    expect(human.status).toBe(403);
  });
});

describe('stopping and rolling back', () => {
  it('a stop reaches running agents on their next report; a stop on an ended deployment is a 409', async () => {
    const { agents, deploy } = await fleet(2, { deploymentConfig: 'OneAtATime' });
    const { body } = await deploy();
    const runner = (await Promise.all(agents.map(async (a) => ((await a.poll()).body.assignment ? a : undefined)))).find(Boolean) as ScriptedAgent;
    await runner.report(body.deploymentId, 'ApplicationStop', 'InProgress');
    const stopped = await api.call('POST', `/deployments/${body.deploymentId}/stop`, { body: { rollback: false } });
    expect(stopped.status).toBe(202); // the request records the stop; the worker carries it out
    expect(stopped.body.stopRequested).toMatchObject({ by: expect.any(String), rollback: false });
    const ended = await getDeployment(body.deploymentId);
    expect(ended).toMatchObject({ status: 'Stopped', error: { code: 'StoppedByRequest' } });
    expect(ended.counts).toMatchObject({ inProgress: 1, skipped: 1, pending: 0 });
    const answer = await runner.report(body.deploymentId, 'ApplicationStop', 'Failed', { errorCode: 'ScriptFailed', message: 'stopped' });
    expect(answer.body.action).toBe('stop');
    expect((await getDeployment(body.deploymentId)).counts).toMatchObject({ inProgress: 0, failed: 1, skipped: 1 });
    expect((await api.call('POST', `/deployments/${body.deploymentId}/stop`)).status).toBe(409);
    expect((await deploy('web/next.zip')).status).toBe(201); // the group is free again
  });

  it('an automatic rollback redeploys the last successful revision, linked both ways', async () => {
    const { agents, deploy } = await fleet(2, {
      deploymentConfig: 'AllAtOnce',
      autoRollback: { enabled: true, events: ['DEPLOYMENT_FAILURE'] },
    });
    const good = await deploy('web/good.zip');
    await runFleet(agents);
    expect((await getDeployment(good.body.deploymentId)).status).toBe('Succeeded');

    const bad = await deploy('web/bad.zip');
    await Promise.all(agents.map((a) => a.runOnce({ failAt: { event: 'ApplicationStart' } })));
    const failed = await getDeployment(bad.body.deploymentId);
    expect(failed.status).toBe('Failed');
    expect(failed.rolledBackBy).toMatch(/^d-/);
    const rollback = await getDeployment(failed.rolledBackBy);
    expect(rollback).toMatchObject({ rollbackOf: bad.body.deploymentId, revision: { key: 'web/good.zip' }, creator: 'fleetline:automatic-rollback' });
    await runFleet(agents);
    expect((await getDeployment(rollback.deploymentId)).status).toBe('Succeeded');
  });
});

describe('agent registration', () => {
  it('lets an agent session register its own instance, bound to its principal, and never take over another', async () => {
    const me = agentPrincipal('onprem-7');
    const registered = await api.call('POST', '/agent/v1/register', { body: { instanceId: 'onprem-7', tags: [{ key: 'env', value: 'lab' }] }, principal: me });
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({ instanceId: 'onprem-7', iamArn: me, tags: [], requestedTags: [{ key: 'env', value: 'lab' }] });

    const other = await api.call('POST', '/agent/v1/register', { body: { instanceId: 'onprem-7' }, principal: agentPrincipal('onprem-8') });
    expect(other.status).toBe(403);
    const human = await api.call('POST', '/agent/v1/register', { body: { instanceId: 'onprem-9' } });
    expect(human.status).toBe(403);
    expect((await api.call('GET', '/instances/onprem-9')).status).toBe(404);

    const bound = 'arn:aws:iam::111122223333:user/rack-12';
    await api.call('PUT', '/instances/rack-12', { body: { tags: [], iamArn: bound } });
    expect((await api.call('POST', '/agent/v1/poll', { body: { instanceId: 'rack-12' }, principal: bound })).status).toBe(200);
    expect((await api.call('POST', '/agent/v1/poll', { body: { instanceId: 'rack-12' }, principal: agentPrincipal('rack-12') })).status).toBe(403);
  });
});

describe('stop with rollback', () => {
  it('stops, skips what never started and redeploys the last good revision', async () => {
    const { agents, deploy } = await fleet(2, { deploymentConfig: 'OneAtATime' });
    const good = await deploy('web/good.zip');
    await runFleet(agents);
    expect((await getDeployment(good.body.deploymentId)).status).toBe('Succeeded');
    const next = await deploy('web/next.zip');
    expect((await api.call('POST', `/deployments/${next.body.deploymentId}/stop`, { body: { rollback: true } })).status).toBe(202);
    const stopped = await getDeployment(next.body.deploymentId);
    expect(stopped).toMatchObject({ status: 'Stopped', rolledBackBy: expect.stringMatching(/^d-/) });
    const rollback = await getDeployment(stopped.rolledBackBy);
    expect(rollback).toMatchObject({ rollbackOf: next.body.deploymentId, revision: { key: 'web/good.zip' } });
  });
});
