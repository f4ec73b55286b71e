import { DescribeInstancesCommand, EC2Client, type Filter } from '@aws-sdk/client-ec2';
import { STSClient } from '@aws-sdk/client-sts';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { Ec2TargetLookupAdapter } from '../../lib/adapters/aws/ec2-targets.js';
import { createInstanceRunningHandler } from '../../lib/worker/instance-running.js';
import type { DynamoDBRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import { CATCH_UP_CREATOR } from '../../lib/domain/catch-up.js';
import type { Deployment } from '../../lib/domain/deployment.js';
import { BUCKET, EARLIER_SUCCESS, SCENARIO_BUNDLES, ok, registerFleet } from '../support/engine-scenarios.js';
import { LabAgent, LabClock, type LabRun, settleStream } from '../support/engine-lab.js';
import { fakeLab } from '../support/fake-lab.js';
import { reconcileAll } from '../../lib/worker/reconcile-all.js';
import { agentPrincipal } from '../support/scripted-agent.js';

/**
 * Instances catching up (docs/engine.md): an instance that starts matching a
 * group after the group's last successful deployment gets that revision in a
 * deployment of its own. Here the worker is fed by the fakes' stream; the crash
 * matrix (engine-crashes) runs a catch-up with a crash after every write.
 */

const lab = fakeLab(SCENARIO_BUNDLES);
const GROUP_TAG = { key: 'fleet', value: 'shop-prod' };

async function openRun(): Promise<LabRun> {
  const backend = await lab();
  const clock = new LabClock();
  return { backend, clock, healthy: backend.healthy(clock), agents: [] };
}

const deployments = async (run: LabRun): Promise<Deployment[]> =>
  (await run.healthy.deps.deployments.list({}, { limit: 100 })).items.sort((a, b) => a.createdAt.localeCompare(b.createdAt));

/** Deploys `key` to the group and lets its hosts run it to the end. */
async function deploy(run: LabRun, key: string, hosts: LabAgent[]): Promise<string> {
  const res = await ok(run.healthy, run.healthy.send('POST', '/deployments', { body: { application: 'shop', group: 'prod', revision: { bucket: BUCKET, key } } }), [201]);
  await settleStream(run);
  await workUntilIdle(run, hosts);
  return res.body.deploymentId;
}

/** The hosts work, one report at a time, the worker after each, until none has anything to do. */
async function workUntilIdle(run: LabRun, hosts: LabAgent[]): Promise<void> {
  for (let acted = true; acted; ) {
    acted = false;
    for (const host of hosts) {
      if (await host.work(run.healthy)) acted = true;
      await settleStream(run);
    }
  }
}

/** A group whose one host succeeded with web/app-1.zip: its last success. */
async function groupThatSucceeded(settings: Record<string, unknown> = {}) {
  const run = await openRun();
  const [host] = await registerFleet(run, 'shop', 'prod', 1, settings);
  await settleStream(run);
  const first = await deploy(run, 'web/app-1.zip', [host!]);
  expect((await run.healthy.deps.deployments.get(first))?.status).toBe('Succeeded');
  return { run, host: host!, first };
}

/** PUT /instances/{id} as an administrator (the lab's default caller). */
async function putInstance(run: LabRun, instanceId: string, tags: { key: string; value: string }[], expected = [200, 201]) {
  await ok(run.healthy, run.healthy.send('PUT', `/instances/${instanceId}`, { body: { tags } }), expected);
  await settleStream(run);
}

/** An instance item's stream record, as DynamoDB's stream gives it (only what the worker reads). */
function instanceRecord(instanceId: string, before: { key: string; value: string }[] | undefined, after: { key: string; value: string }[], sequence: string): DynamoDBRecord {
  const image = (tags: { key: string; value: string }[]) => marshall({ type: 'Instance', instanceId, tags }) as never;
  return {
    eventName: before ? 'MODIFY' : 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: { SequenceNumber: sequence, NewImage: image(after), ...(before ? { OldImage: image(before) } : {}) },
  };
}

describe('an instance that starts matching a group after its last success', () => {
  it('registered into the tag set, gets the last successful revision in a deployment to it alone, created by Fleetline', async () => {
    const { run, host, first } = await groupThatSucceeded();
    const late = new LabAgent('late-host');
    await putInstance(run, late.instanceId, [GROUP_TAG], [201]);

    const [, catchUp] = await deployments(run);
    expect(await deployments(run)).toHaveLength(2);
    expect(catchUp).toMatchObject({
      creator: CATCH_UP_CREATOR,
      revision: { key: 'web/app-1.zip' },
      targetInstances: { instanceIds: ['late-host'] },
      catchUp: { instanceId: 'late-host', revisionOf: first },
    });
    expect(catchUp?.description).toContain('late-host');
    await workUntilIdle(run, [late]);
    const done = await run.healthy.deps.deployments.get(catchUp!.deploymentId);
    expect(done).toMatchObject({ status: 'Succeeded', fleetSize: 1, counts: { succeeded: 1 } });
    // The host that already had the revision was not deployed to again.
    expect(await run.healthy.deps.instanceDeployments.get(catchUp!.deploymentId, host.instanceId)).toBeUndefined();
    expect(await host.work(run.healthy)).toBe(false);
  });

  it('retagged into the tag set, gets it too', async () => {
    const { run } = await groupThatSucceeded();
    await putInstance(run, 'moved-host', [{ key: 'fleet', value: 'elsewhere' }], [201]);
    expect(await deployments(run)).toHaveLength(1);
    await putInstance(run, 'moved-host', [{ key: 'team', value: 'a' }, GROUP_TAG]);
    const all = await deployments(run);
    expect(all).toHaveLength(2);
    expect(all[1]).toMatchObject({ targetInstances: { instanceIds: ['moved-host'] }, revision: { key: 'web/app-1.zip' } });
  });

  it('retagged out and back in after it succeeded with that revision, gets nothing; nor does a retag that keeps it in the group', async () => {
    const { run, host } = await groupThatSucceeded();
    await putInstance(run, host.instanceId, [GROUP_TAG, { key: 'team', value: 'a' }]);
    await putInstance(run, host.instanceId, [{ key: 'fleet', value: 'elsewhere' }]);
    await putInstance(run, host.instanceId, [GROUP_TAG]);
    expect(await deployments(run)).toHaveLength(1);
  });

  it('in a group with outdatedInstancesStrategy IGNORE, gets nothing', async () => {
    const { run } = await groupThatSucceeded({ outdatedInstancesStrategy: 'IGNORE' });
    await putInstance(run, 'late-host', [GROUP_TAG], [201]);
    expect(await deployments(run)).toHaveLength(1);
  });

  it('in a group that never succeeded, gets nothing', async () => {
    const run = await openRun();
    const [host] = await registerFleet(run, 'shop', 'prod', 1, {}, { failAt: 'Install' });
    await settleStream(run);
    await deploy(run, 'web/app-1.zip', [host!]);
    expect((await deployments(run))[0]?.status).toBe('Failed');
    await putInstance(run, 'late-host', [GROUP_TAG], [201]);
    expect(await deployments(run)).toHaveLength(1);
  });

  it('while the group is busy, is queued (whatever the group\'s busyBehavior) and, once the running deployment succeeds, gets what it deployed', async () => {
    const { run, host } = await groupThatSucceeded();
    const running = await ok(run.healthy, run.healthy.send('POST', '/deployments', { body: { application: 'shop', group: 'prod', revision: { bucket: BUCKET, key: 'web/app-2.zip' } } }), [201]);
    await settleStream(run);
    expect((await run.healthy.deps.deployments.get(running.body.deploymentId))?.status).toBe('InProgress');

    const late = new LabAgent('late-host');
    await putInstance(run, late.instanceId, [GROUP_TAG], [201]);
    const queued = (await deployments(run))[2];
    expect(queued).toMatchObject({ status: 'Queued', targetInstances: { instanceIds: ['late-host'] }, revision: { key: 'web/app-1.zip' } });
    expect(await late.work(run.healthy)).toBe(false);

    await workUntilIdle(run, [host]);
    expect((await run.healthy.deps.deployments.get(running.body.deploymentId))?.status).toBe('Succeeded');
    // It left the queue as the group freed, with the revision the group now has: never the older one over a newer.
    const started = await run.healthy.deps.deployments.get(queued!.deploymentId);
    expect(started).toMatchObject({ status: 'InProgress', revision: { key: 'web/app-2.zip' }, catchUp: { instanceId: 'late-host', revisionOf: running.body.deploymentId } });
    await workUntilIdle(run, [late]);
    expect(await run.healthy.deps.deployments.get(queued!.deploymentId)).toMatchObject({ status: 'Succeeded', counts: { succeeded: 1 } });
  });

  it('while the group\'s running deployment is about to deploy to the whole group, gets nothing of its own: it is one of that deployment\'s targets', async () => {
    const { run } = await groupThatSucceeded();
    const running = await ok(run.healthy, run.healthy.send('POST', '/deployments', { body: { application: 'shop', group: 'prod', revision: { bucket: BUCKET, key: 'web/app-2.zip' } } }), [201]);
    // Registered before the worker has begun on the deployment.
    await ok(run.healthy, run.healthy.send('PUT', '/instances/late-host', { body: { tags: [GROUP_TAG] } }), [201]);
    await settleStream(run);
    expect(await deployments(run)).toHaveLength(2);
    expect(await run.healthy.deps.instanceDeployments.get(running.body.deploymentId, 'late-host')).toBeDefined();
  });

  it('queued while the running deployment was still resolving its targets, ends Stopped unneeded when that deployment gave the instance its revision', async () => {
    const { run, host } = await groupThatSucceeded();
    const deps = run.healthy.deps;
    const running = await ok(run.healthy, run.healthy.send('POST', '/deployments', { body: { application: 'shop', group: 'prod', revision: { bucket: BUCKET, key: 'web/app-2.zip' } } }), [201]);
    // A worker has begun resolving its targets (it holds the freeze lease) and dies before writing any.
    expect(await deps.deployments.claimFreeze(running.body.deploymentId, { token: 'dead-worker', until: new Date(run.clock.now().getTime() + 150_000).toISOString() }, run.clock.now().toISOString())).toBe(true);
    const late = new LabAgent('late-host');
    await ok(run.healthy, run.healthy.send('PUT', `/instances/${late.instanceId}`, { body: { tags: [GROUP_TAG] } }), [201]);
    await settleStream(run);
    const queued = (await deployments(run))[2];
    expect(queued).toMatchObject({ status: 'Queued', catchUp: { instanceId: 'late-host' } });
    // The lease runs out; the next worker's targets include the new instance, and it succeeds there.
    run.clock.advance(151);
    await reconcileAll(deps);
    await settleStream(run);
    await workUntilIdle(run, [host, late]);
    expect(await deps.deployments.get(running.body.deploymentId)).toMatchObject({ status: 'Succeeded', fleetSize: 2 });
    expect(await deps.deployments.get(queued!.deploymentId)).toMatchObject({ status: 'Stopped', fleetSize: 0, error: { code: 'CatchUpNotNeeded' } });
  });

  it('once, however often the stream hands its record over', async () => {
    const { run, first } = await groupThatSucceeded();
    await ok(run.healthy, run.healthy.send('PUT', '/instances/late-host', { body: { tags: [GROUP_TAG] } }), [201]);
    await settleStream(run);
    const replayed = instanceRecord('late-host', undefined, [GROUP_TAG], '9'.repeat(21));
    for (let i = 0; i < 3; i++) expect(await run.healthy.worker({ Records: [replayed, replayed] })).toEqual({ batchItemFailures: [] });
    await settleStream(run);
    const all = await deployments(run);
    expect(all).toHaveLength(2);
    expect(all[1]?.catchUp).toEqual({ instanceId: 'late-host', revisionOf: first });
  });
});

describe('what never triggers a catch-up', () => {
  it('an instance whose tags do not match the group, and tags that change without bringing it in', async () => {
    const { run } = await groupThatSucceeded();
    await putInstance(run, 'other-host', [{ key: 'fleet', value: 'shop-staging' }], [201]);
    await putInstance(run, 'other-host', [{ key: 'fleet', value: 'shop-staging' }, { key: 'role', value: 'prod' }]);
    expect(await deployments(run)).toHaveLength(1);
  });

  it('a record naming an instance that was never registered (it left the group, or never was in it, by the time the worker came)', async () => {
    const { run } = await groupThatSucceeded();
    expect(await run.healthy.worker({ Records: [instanceRecord('ghost-host', undefined, [GROUP_TAG], '9'.repeat(21))] })).toEqual({ batchItemFailures: [] });
    expect(await deployments(run)).toHaveLength(1);
  });

  it('an agent: it cannot retag another instance, nor choose its own tags when it registers itself', async () => {
    const { run, host } = await groupThatSucceeded();
    await putInstance(run, 'idle-host', [{ key: 'fleet', value: 'elsewhere' }], [201]);
    const asAgent = { principal: agentPrincipal(host.instanceId) };
    expect((await run.healthy.send('PUT', '/instances/idle-host', { ...asAgent, body: { tags: [GROUP_TAG] } })).status).toBe(403);
    const self = agentPrincipal('self-host');
    const registered = await run.healthy.send('POST', '/agent/v1/register', { principal: self, body: { instanceId: 'self-host', tags: [GROUP_TAG] } });
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({ tags: [], requestedTags: [GROUP_TAG] });
    await settleStream(run);
    expect(await deployments(run)).toHaveLength(1);
  });
});

describe('an EC2 instance entering running (EventBridge)', () => {
  const ec2 = mockClient(EC2Client);
  afterEach(() => ec2.reset());
  const LAUNCHED = 'i-0abcd1234ef567890';

  /** EC2 as DescribeInstances answers: these instances, all running, narrowed by the instance-id filter. */
  function ec2Holds(instances: Record<string, Record<string, string>>) {
    ec2.on(DescribeInstancesCommand).callsFake((input: { Filters?: Filter[] }) => {
      const only = input.Filters?.find((f) => f.Name === 'instance-id')?.Values;
      const ids = Object.keys(instances).filter((id) => !only || only.includes(id));
      return { Reservations: [{ Instances: ids.map((id) => ({ InstanceId: id, Tags: Object.entries(instances[id]!).map(([Key, Value]) => ({ Key, Value })) })) }] };
    });
  }

  /** A group targeting EC2 instances tagged fleet=shop-web, with a last success; the worker looks EC2 up through the real adapter. */
  async function ec2Group(settings: Record<string, unknown> = {}) {
    const run = await openRun();
    await ok(run.healthy, run.healthy.send('PUT', '/applications/shop', { body: { revisionSources: [{ bucket: BUCKET, prefix: 'web/' }] } }), [201]);
    const targets = { ec2TagSet: [[{ key: 'fleet', value: 'shop-web', type: 'KEY_AND_VALUE' }]] };
    await ok(run.healthy, run.healthy.send('PUT', '/applications/shop/groups/web', { body: { targets, ...settings } }), [201]);
    await run.backend.rememberSuccess('shop', 'web', EARLIER_SUCCESS);
    run.healthy.deps.ec2 = new Ec2TargetLookupAdapter(new STSClient({}), 'us-east-1');
    return { run, running: createInstanceRunningHandler(run.healthy.deps) };
  }

  const runningEvent = (instanceId: string, state = 'running') => ({
    version: '0', id: 'e1', 'detail-type': 'EC2 Instance State-change Notification', source: 'aws.ec2', account: '123456789012',
    time: '2026-11-11T21:29:54Z', region: 'us-east-1', resources: [], detail: { 'instance-id': instanceId, state },
  });

  it('launched into the tag set, gets the last successful revision alone, however often the event comes; EC2 is asked about that instance only', async () => {
    const { run, running } = await ec2Group();
    ec2Holds({ [LAUNCHED]: { fleet: 'shop-web' }, 'i-0fff0000aaaa11112': { fleet: 'shop-web' } });
    expect(await running(runningEvent(LAUNCHED))).toEqual({ instanceId: LAUNCHED, outcomes: ['created'] });
    expect(await running(runningEvent(LAUNCHED))).toEqual({ instanceId: LAUNCHED, outcomes: ['existing'] });
    const all = await deployments(run);
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({
      application: 'shop', group: 'web', creator: CATCH_UP_CREATOR, revision: { key: EARLIER_SUCCESS.revision.key },
      targetInstances: { instanceIds: [LAUNCHED] }, catchUp: { instanceId: LAUNCHED, revisionOf: EARLIER_SUCCESS.deploymentId },
    });
    for (const call of ec2.commandCalls(DescribeInstancesCommand)) {
      expect(call.args[0].input.Filters).toContainEqual({ Name: 'instance-id', Values: [LAUNCHED] });
    }
  });

  it('an instance EC2 does not know, one whose tags do not match, and a group with IGNORE get nothing', async () => {
    const { run, running } = await ec2Group();
    ec2Holds({ 'i-0fff0000aaaa11112': { fleet: 'other' } });
    expect(await running(runningEvent(LAUNCHED))).toEqual({ instanceId: LAUNCHED, outcomes: [] });
    expect(await running(runningEvent('i-0fff0000aaaa11112'))).toEqual({ instanceId: 'i-0fff0000aaaa11112', outcomes: [] });
    expect(await deployments(run)).toHaveLength(0);

    const ignoring = await ec2Group({ outdatedInstancesStrategy: 'IGNORE' });
    ec2.reset();
    ec2Holds({ [LAUNCHED]: { fleet: 'shop-web' } });
    expect(await ignoring.running(runningEvent(LAUNCHED))).toEqual({ instanceId: LAUNCHED, outcomes: [] });
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
    expect(await deployments(ignoring.run)).toHaveLength(0);
  });

  it('ignores what is not an instance entering running: another state, another source, a malformed ID', async () => {
    const { run, running } = await ec2Group();
    ec2Holds({ [LAUNCHED]: { fleet: 'shop-web' } });
    for (const event of [runningEvent(LAUNCHED, 'stopped'), { ...runningEvent(LAUNCHED), source: 'my.app' }, runningEvent('i-../../x'), runningEvent('local-1'), null, 'running']) {
      expect(await running(event)).toEqual({ outcomes: [] });
    }
    expect(ec2.commandCalls(DescribeInstancesCommand)).toHaveLength(0);
    expect(await deployments(run)).toHaveLength(0);
  });
});
