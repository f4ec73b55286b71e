import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { SnsTriggerPublisher } from '../../lib/adapters/aws/sns-trigger-publisher.js';
import { deploymentGroupBodySchema } from '../../lib/domain/deployment-group.js';
import type { Deployment, InstanceDeployment } from '../../lib/domain/deployment.js';
import type { DeploymentGroup } from '../../lib/domain/deployment-group.js';
import { emptyCounts } from '../../lib/domain/minimum-healthy.js';
import type { FleetEvent } from '../../lib/domain/state-events.js';
import { MAX_TRIGGERS, type TriggerConfiguration, type TriggerNotification, topicsOutside, triggerEventsOf, triggerNotifications } from '../../lib/domain/triggers.js';
import { parseOrThrow } from '../../lib/domain/validation.js';
import { FleetlineError } from '../../lib/errors.js';
import type { PipelineDeps } from '../../lib/pipelines/pipeline-deps.js';
import type { EventFeed, EventPublisher, TriggerPublisher } from '../../lib/ports.js';
import { createStreamHandler } from '../../lib/worker/handle-stream.js';
import { notifyTriggers } from '../../lib/worker/notify-triggers.js';
import triggerTopics from '../../iam/trigger-topics.cjs';

const TOPIC = 'arn:aws:sns:eu-west-1:111122223333:deploy-alerts';
const trigger = (overrides: Partial<TriggerConfiguration> = {}): TriggerConfiguration => ({
  triggerName: 'deploy-failed',
  triggerTargetArn: TOPIC,
  triggerEvents: ['DeploymentFailure'],
  ...overrides,
});

/** The problems a group body with these triggers is refused for, each path and message. */
function problemsOf(triggerConfigurations: unknown): string[] {
  try {
    parseOrThrow(deploymentGroupBodySchema, { targets: {}, triggerConfigurations });
  } catch (error) {
    if (error instanceof FleetlineError) return error.details.map((d) => `${d.path}: ${d.message}`);
    throw error;
  }
  return [];
}

describe('a group’s triggers, as the API takes them', () => {
  it('names every problem of every entry at once', () => {
    const problems = problemsOf([
      { triggerName: '', triggerTargetArn: 'arn:aws:sqs:eu-west-1:111122223333:q', triggerEvents: ['DeploymentFailed'] },
      { triggerName: 'ok', triggerTargetArn: 'arn:aws:sns:eu-west-1:1111:short', triggerEvents: [] },
      { triggerName: 'ok', triggerTargetArn: TOPIC, triggerEvents: ['InstanceStart', 'InstanceStart'], extra: 1 },
    ]);
    expect(problems).toEqual([
      '$.triggerConfigurations[0].triggerName: must not be empty',
      '$.triggerConfigurations[0].triggerTargetArn: must be an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic name>)',
      '$.triggerConfigurations[0].triggerEvents[0]: must be one of DeploymentStart, DeploymentSuccess, DeploymentFailure, DeploymentStop, DeploymentRollback, DeploymentReady, InstanceStart, InstanceSuccess, InstanceFailure, InstanceReady',
      '$.triggerConfigurations[1].triggerTargetArn: must be an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<topic name>)',
      '$.triggerConfigurations[1].triggerEvents: must name at least one event',
      '$.triggerConfigurations[2].triggerEvents: must not repeat an event',
      '$.triggerConfigurations[2].extra: is not a known field',
    ]);
  });

  it('refuses an eleventh trigger, as CodeDeploy does, and a name used twice', () => {
    const eleven = Array.from({ length: MAX_TRIGGERS + 1 }, (_, i) => trigger({ triggerName: `t${i}` }));
    expect(problemsOf(eleven)).toEqual(['$.triggerConfigurations: must hold at most 10 triggers (CodeDeploy\'s limit)']);
    expect(problemsOf([trigger(), trigger()])).toEqual(['$.triggerConfigurations[1].triggerName: must be unique: deploy-failed is named twice']);
  });

  it('takes ten triggers, a FIFO topic, another partition and every CodeDeploy event name', () => {
    expect(problemsOf(Array.from({ length: MAX_TRIGGERS }, (_, i) => trigger({ triggerName: `t${i}` })))).toEqual([]);
    expect(problemsOf([trigger({ triggerTargetArn: 'arn:aws-us-gov:sns:us-gov-west-1:111122223333:deploys.fifo' })])).toEqual([]);
    const all = ['DeploymentStart', 'DeploymentSuccess', 'DeploymentFailure', 'DeploymentStop', 'DeploymentRollback', 'DeploymentReady', 'InstanceStart', 'InstanceSuccess', 'InstanceFailure', 'InstanceReady'];
    expect(problemsOf([trigger({ triggerEvents: all as TriggerConfiguration['triggerEvents'] })])).toEqual([]);
  });

  it('lets a trigger name only topics the triggerTopicArns patterns cover, none when the list is empty', () => {
    const triggers = [trigger(), trigger({ triggerName: 'b', triggerTargetArn: 'arn:aws:sns:eu-west-1:444455556666:deploy-alerts' }), trigger({ triggerName: 'c', triggerTargetArn: 'arn:aws:sns:us-east-1:111122223333:deploy-x' })];
    expect(topicsOutside(triggers, ['arn:aws:sns:*:111122223333:deploy-*'])).toEqual([{ index: 1, arn: 'arn:aws:sns:eu-west-1:444455556666:deploy-alerts' }]);
    expect(topicsOutside(triggers, [TOPIC]).map((o) => o.index)).toEqual([1, 2]);
    expect(topicsOutside(triggers, []).map((o) => o.index)).toEqual([0, 1, 2]);
  });
});

describe("the worker's IAM for triggers (iam/trigger-topics.cjs)", () => {
  it('allows sns:Publish on each topic the parameter names, once each', () => {
    expect(triggerTopics.triggerTopicsStatement(`${TOPIC}, arn:aws:sns:*:111122223333:deploy-*,${TOPIC}`)).toEqual({
      Effect: 'Allow',
      Action: ['sns:Publish'],
      Resource: [TOPIC, 'arn:aws:sns:*:111122223333:deploy-*'],
    });
  });

  it('denies every topic outright when the parameter is empty', () => {
    expect(triggerTopics.triggerTopicsStatement('')).toEqual({ Effect: 'Deny', Action: ['sns:Publish'], Resource: { 'Fn::Sub': 'arn:${AWS::Partition}:sns:*:*:*' } });
    expect(triggerTopics.triggerTopicsStatement(' , ')).toMatchObject({ Effect: 'Deny' });
  });
});

const origin = { account: '111122223333', region: 'eu-west-1' };
function deploymentEvent(state: string, n = 1): FleetEvent {
  return {
    version: '0',
    id: `00000000-0000-5000-8000-${String(n).padStart(12, '0')}`,
    'detail-type': 'CodeDeploy Deployment State-change Notification',
    source: 'aws.codedeploy',
    ...origin,
    time: '2026-06-30T22:06:31Z',
    resources: ['arn:aws:codedeploy:eu-west-1:111122223333:application:web'],
    detail: { application: 'web', deploymentId: 'd-ABCDEFGHI', state, deploymentGroup: 'prod', region: 'eu-west-1', instanceGroupId: 'g-1' },
  };
}
function instanceEvent(state: string): FleetEvent {
  return {
    ...deploymentEvent(state, 9),
    'detail-type': 'CodeDeploy Instance State-change Notification',
    resources: ['arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc', 'arn:aws:codedeploy:eu-west-1:111122223333:deploymentgroup:web/prod'],
    detail: { application: 'web', deploymentId: 'd-ABCDEFGHI', state, deploymentGroup: 'prod', region: 'eu-west-1', instanceGroupId: 'g-1', instanceId: 'i-0abc' },
  };
}
const failed = {
  deploymentId: 'd-ABCDEFGHI',
  application: 'web',
  group: 'prod',
  createdAt: '2026-06-30T22:05:00.000Z',
  completedAt: '2026-06-30T22:06:31.250Z',
  counts: { ...emptyCounts(), failed: 1, unknown: 1, skipped: 2 },
  status: 'Failed',
  error: { code: 'ScriptFailed', message: 'ApplicationStart failed on i-0abc' },
} as Deployment;

describe('what an event sends', () => {
  it('names the trigger events CodeDeploy uses; a rollback’s start is also DeploymentRollback, a pipeline event none', () => {
    expect(['START', 'SUCCESS', 'FAILURE', 'STOP'].map((s) => triggerEventsOf(deploymentEvent(s)))).toEqual([['DeploymentStart'], ['DeploymentSuccess'], ['DeploymentFailure'], ['DeploymentStop']]);
    expect(['START', 'SUCCESS', 'FAILURE'].map((s) => triggerEventsOf(instanceEvent(s)))).toEqual([['InstanceStart'], ['InstanceSuccess'], ['InstanceFailure']]);
    expect(triggerEventsOf(deploymentEvent('START'), { rollbackOf: 'd-OLD000000' })).toEqual(['DeploymentStart', 'DeploymentRollback']);
    expect(triggerEventsOf({ ...deploymentEvent('START'), detail: { pipeline: 'p', version: 1, 'execution-id': 'e', state: 'STARTED' } })).toEqual([]);
  });

  it("sends a failure to the triggers that chose it, as CodeDeploy's deployment message and subject", () => {
    const triggers = [trigger(), trigger({ triggerName: 'starts', triggerEvents: ['DeploymentStart', 'InstanceFailure'] })];
    const [sent, ...more] = triggerNotifications(deploymentEvent('FAILURE'), triggers, failed);
    expect(more).toEqual([]);
    expect(sent?.topicArn).toBe(TOPIC);
    expect(sent?.subject).toBe('FAILED: AWS CodeDeploy d-ABCDEFGHI in eu-west-1 to web');
    expect(JSON.parse(sent!.message)).toEqual({
      region: 'eu-west-1',
      accountId: '111122223333',
      eventTriggerName: 'deploy-failed',
      applicationName: 'web',
      deploymentId: 'd-ABCDEFGHI',
      deploymentGroupName: 'prod',
      createTime: '1782857100.000',
      completeTime: '1782857191.250',
      deploymentOverview: { Failed: '2', InProgress: '0', Pending: '0', Skipped: '2', Succeeded: '0' },
      status: 'Failed',
      errorInformation: { ErrorCode: 'ScriptFailed', ErrorMessage: 'ApplicationStart failed on i-0abc' },
    });
  });

  it("sends an instance's change as CodeDeploy's instance message, its lifecycle events in order", () => {
    const instance = {
      deploymentId: 'd-ABCDEFGHI',
      instanceId: 'i-0abc',
      source: 'ec2',
      status: 'Failed',
      events: [
        { name: 'ApplicationStop', status: 'Succeeded', startedAt: '2026-06-30T22:05:10.000Z', endedAt: '2026-06-30T22:05:10.500Z' },
        { name: 'DownloadBundle', status: 'Failed', startedAt: '2026-06-30T22:05:11.000Z', endedAt: '2026-06-30T22:05:12.000Z' },
        { name: 'BeforeInstall', status: 'Skipped' },
      ],
      version: 3,
    } as InstanceDeployment;
    const [sent] = triggerNotifications(instanceEvent('FAILURE'), [trigger({ triggerEvents: ['InstanceFailure'] })], failed, instance);
    expect(sent?.subject).toBe('FAILED: AWS CodeDeploy d-ABCDEFGHI in eu-west-1 to web, instance i-0abc');
    expect(JSON.parse(sent!.message)).toEqual({
      region: 'eu-west-1',
      accountId: '111122223333',
      eventTriggerName: 'deploy-failed',
      deploymentId: 'd-ABCDEFGHI',
      instanceId: 'arn:aws:ec2:eu-west-1:111122223333:instance/i-0abc',
      lastUpdatedAt: '1782857191.000',
      instanceStatus: 'Failed',
      lifecycleEvents: [
        { LifecycleEvent: 'ApplicationStop', LifecycleEventStatus: 'Succeeded', StartTime: '1782857110.000', EndTime: '1782857110.500' },
        { LifecycleEvent: 'DownloadBundle', LifecycleEventStatus: 'Failed', StartTime: '1782857111.000', EndTime: '1782857112.000' },
        { LifecycleEvent: 'BeforeInstall', LifecycleEventStatus: 'Skipped', StartTime: null, EndTime: null },
      ],
    });
  });

  it('keeps a subject within the 100 characters SNS takes, and fixes a deduplication ID per event and trigger', () => {
    const longApp = { ...deploymentEvent('SUCCESS'), detail: { ...deploymentEvent('SUCCESS').detail, application: 'a'.repeat(100) } };
    const [one, two] = triggerNotifications(longApp, [trigger({ triggerEvents: ['DeploymentSuccess'] }), trigger({ triggerName: 'other', triggerEvents: ['DeploymentSuccess'] })], failed);
    expect(one?.subject.length).toBe(100);
    expect(one?.deduplicationId).toMatch(/^[0-9a-f]{64}$/);
    expect(one?.deduplicationId).not.toBe(two?.deduplicationId);
    expect(triggerNotifications(longApp, [trigger({ triggerEvents: ['DeploymentSuccess'] })], failed)[0]?.deduplicationId).toBe(one?.deduplicationId);
  });
});

const sns = mockClient(SNSClient);
afterEach(() => sns.reset());
const notification = (topicArn: string): TriggerNotification => ({ topicArn, subject: 'FAILED: AWS CodeDeploy d-ABCDEFGHI in eu-west-1 to web', message: '{}', deduplicationId: 'f'.repeat(64), groupId: 'd-ABCDEFGHI' });

describe('publishing to SNS (Publish)', () => {
  const publisher = new SnsTriggerPublisher(new SNSClient({ region: 'eu-west-1' }));

  it('publishes the subject and message to a standard topic, with no FIFO fields', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    await publisher.publish(notification(TOPIC));
    expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input)).toEqual([{ TopicArn: TOPIC, Subject: notification(TOPIC).subject, Message: '{}' }]);
  });

  it('gives a FIFO topic the deployment as message group and a deduplication ID, so a replay is delivered once', async () => {
    sns.on(PublishCommand).resolves({ MessageId: 'm-1', SequenceNumber: '1' });
    const fifo = 'arn:aws:sns:eu-west-1:111122223333:deploys.fifo';
    await publisher.publish(notification(fifo));
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input).toMatchObject({ TopicArn: fifo, MessageGroupId: 'd-ABCDEFGHI', MessageDeduplicationId: 'f'.repeat(64) });
  });

  it('lets a refusal through, named by the SDK', async () => {
    sns.on(PublishCommand).rejects(new Error('AuthorizationError: not authorized to perform SNS:Publish'));
    await expect(publisher.publish(notification(TOPIC))).rejects.toThrow(/SNS:Publish/);
  });
});

/** The worker's reads for triggers: a group with these triggers, the failed deployment, no instance. */
function triggerDeps(triggers: TriggerConfiguration[], publisher: TriggerPublisher) {
  return {
    groups: { get: async () => ({ triggerConfigurations: triggers }) as unknown as DeploymentGroup },
    deployments: { get: async () => failed },
    instanceDeployments: { get: async () => undefined },
    triggers: publisher,
  } as unknown as Pick<PipelineDeps, 'groups' | 'deployments' | 'instanceDeployments' | 'triggers'>;
}

describe('the worker notifying triggers', () => {
  it('publishes through SNS only what a trigger chose, and a failure to publish is counted, not thrown', async () => {
    sns.on(PublishCommand, { TopicArn: TOPIC }).rejects(new Error('Throttled')).on(PublishCommand, { TopicArn: 'arn:aws:sns:eu-west-1:111122223333:ok' }).resolves({ MessageId: 'm' });
    const deps = triggerDeps([trigger(), trigger({ triggerName: 'ok', triggerTargetArn: 'arn:aws:sns:eu-west-1:111122223333:ok' })], new SnsTriggerPublisher(new SNSClient({ region: 'eu-west-1' })));
    expect(await notifyTriggers([deploymentEvent('START'), deploymentEvent('FAILURE')], deps)).toBe(1);
    expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input.TopicArn)).toEqual([TOPIC, 'arn:aws:sns:eu-west-1:111122223333:ok']);
  });

  /** A worker whose every record is a newly written deployment event, FAILURE. */
  function worker(publisher: EventPublisher | undefined, triggers: TriggerPublisher) {
    const feed: Pick<EventFeed, 'changeOf'> = {
      changeOf: (record) => ({ change: { kind: 'event', event: deploymentEvent('FAILURE', Number(record.dynamodb?.SequenceNumber)) }, origin: { partition: 'aws', ...origin, time: '2026-06-30T22:06:31Z' }, position: 'p' }),
    };
    return createStreamHandler({ ...triggerDeps([trigger()], triggers), events: feed, publisher } as unknown as PipelineDeps);
  }
  const records = (n: number): DynamoDBRecord[] => Array.from({ length: n }, (_, i) => ({ eventName: 'INSERT', dynamodb: { SequenceNumber: String(100 + i) } }));

  it('never fails a stream record for a notification SNS refused: the engine goes on', async () => {
    const handle = worker(undefined, { publish: async () => Promise.reject(new Error('SNS is down')) });
    expect(await handle({ Records: records(3) })).toEqual({ batchItemFailures: [] });
  });

  it('notifies only events on the bus: a batch handed back for the bus notifies nothing yet, so its next pass does not notify twice', async () => {
    const sent: string[] = [];
    const handle = worker({ publish: async () => Promise.reject(new Error('EventBridge refused')) }, { publish: async (n) => void sent.push(n.subject) });
    expect(await handle({ Records: records(2) })).toEqual({ batchItemFailures: [{ itemIdentifier: '100' }] });
    expect(sent).toEqual([]);
    const ok = worker({ publish: async () => {} }, { publish: async (n) => void sent.push(n.subject) });
    expect(await ok({ Records: records(2) })).toEqual({ batchItemFailures: [] });
    expect(sent).toHaveLength(2);
  });
});
