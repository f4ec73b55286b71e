import { beforeAll, describe, expect, it } from 'vitest';
import type { TriggerNotification } from '../../lib/domain/triggers.js';
import { useApi } from '../support/api-harness.js';
import { useFleets } from '../support/fleet.js';

/**
 * A deployment group's SNS triggers end to end: the group takes CodeDeploy's
 * triggerConfigurations, refuses a topic the stack may not publish to, and the worker
 * sends each of the group's deployment and instance events to the triggers that chose it,
 * after the event is in the feed, and nothing for the events no trigger chose.
 */
const FAILURES = 'arn:aws:sns:us-east-1:000000000000:deploy-failures';
const STARTS = 'arn:aws:sns:us-east-1:000000000000:deploy-starts';
const sent: TriggerNotification[] = [];
const api = useApi(() => ({
  triggerTopicArns: ['arn:aws:sns:us-east-1:000000000000:deploy-*'],
  triggers: { publish: async (notification) => void sent.push(notification) },
}));
const { fleet, runFleet, getDeployment } = useFleets(api);

/** What has been sent by the time the stream is quiet, waited for until a deadline. */
async function sentOnceSettled(expected: number): Promise<TriggerNotification[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await api.settle();
    if (sent.length >= expected || Date.now() > deadline) return [...sent];
  }
}

describe('a group’s triggers, as PUT takes them', () => {
  it('are refused naming the parameter when a topic is outside triggerTopicArns (422)', async () => {
    await api.call('PUT', '/applications/web', { body: {} });
    const res = await api.call('PUT', '/applications/web/groups/prod', {
      body: {
        targets: {},
        triggerConfigurations: [
          { triggerName: 'ok', triggerTargetArn: FAILURES, triggerEvents: ['DeploymentFailure'] },
          { triggerName: 'elsewhere', triggerTargetArn: 'arn:aws:sns:us-east-1:444455556666:deploy-failures', triggerEvents: ['DeploymentFailure'] },
        ],
      },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toContain('the deploy parameter triggerTopicArns allows only arn:aws:sns:us-east-1:000000000000:deploy-*');
    expect(res.body.error.details).toEqual([
      { path: '$.triggerConfigurations[1].triggerTargetArn', message: 'arn:aws:sns:us-east-1:444455556666:deploy-failures is not allowed by the deploy parameter triggerTopicArns' },
    ]);
    expect((await api.call('GET', '/applications/web/groups/prod')).status).toBe(404);
  });

  it('are refused with every problem named (400): an unknown event name, a topic that is not SNS', async () => {
    const res = await api.call('PUT', '/applications/web/groups/prod', {
      body: { targets: {}, triggerConfigurations: [{ triggerName: 'bad', triggerTargetArn: 'arn:aws:sqs:us-east-1:000000000000:q', triggerEvents: ['DeploymentFailed'] }] },
    });
    expect(res.status).toBe(400);
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual(['$.triggerConfigurations[0].triggerTargetArn', '$.triggerConfigurations[0].triggerEvents[0]']);
  });
});

describe('a failed deployment', () => {
  let deploymentId = '';
  let shop: Awaited<ReturnType<typeof fleet>>;
  beforeAll(async () => {
    shop = await fleet(1, {
      deploymentConfig: 'AllAtOnce',
      triggerConfigurations: [
        { triggerName: 'failures', triggerTargetArn: FAILURES, triggerEvents: ['DeploymentFailure', 'InstanceFailure'] },
        { triggerName: 'starts', triggerTargetArn: STARTS, triggerEvents: ['DeploymentStart'] },
      ],
    });
    sent.length = 0;
    deploymentId = (await shop.deploy('web/app-1.zip')).body.deploymentId;
    const [broken] = shop.agents;
    await runFleet(shop.agents, { [broken!.instanceId]: { failAt: { event: 'AfterInstall' } } });
    expect((await getDeployment(deploymentId)).status).toBe('Failed');
  }, 60_000);

  it('publishes DeploymentFailure to the group’s topic, the instance’s failure, its start, and nothing for events no trigger chose', async () => {
    const notifications = await sentOnceSettled(3);
    const broken = shop.agents[0]!.instanceId;
    // The region the table's stream names (DynamoDB Local's own here; the stack's region in AWS).
    const region = JSON.parse(notifications[0]!.message).region;
    expect(notifications.map((n) => [n.topicArn, n.subject]).sort()).toEqual(
      [
        [FAILURES, `FAILED: AWS CodeDeploy ${deploymentId} in ${region} to ${shop.app}`],
        [FAILURES, `FAILED: AWS CodeDeploy ${deploymentId} in ${region} to ${shop.app}, instance ${broken}`],
        [STARTS, `CREATED: AWS CodeDeploy ${deploymentId} in ${region} to ${shop.app}`],
      ].sort(),
    );
    const failure = notifications.find((n) => n.topicArn === FAILURES && !n.subject.includes('instance'));
    expect(JSON.parse(failure!.message)).toMatchObject({
      accountId: '000000000000',
      eventTriggerName: 'failures',
      applicationName: shop.app,
      deploymentId,
      deploymentGroupName: 'prod',
      status: 'Failed',
      deploymentOverview: { Failed: '1', Succeeded: '0', Pending: '0', InProgress: '0', Skipped: '0' },
      errorInformation: { ErrorCode: expect.any(String) },
    });
    const instance = notifications.find((n) => n.subject.includes('instance'));
    expect(JSON.parse(instance!.message)).toMatchObject({
      eventTriggerName: 'failures',
      instanceId: expect.stringMatching(new RegExp(`:instance/${broken}$`)),
      instanceStatus: 'Failed',
      lifecycleEvents: expect.arrayContaining([{ LifecycleEvent: 'AfterInstall', LifecycleEventStatus: 'Failed', StartTime: expect.any(String), EndTime: expect.any(String) }]),
    });
  });
});
