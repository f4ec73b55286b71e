import { describe, expect, it } from 'vitest';
import type { Deployment, InstanceDeployment } from '../../lib/domain/deployment.js';
import { type Execution, type Pipeline, initialStages } from '../../lib/domain/pipeline.js';
import { type EventOrigin, deploymentEvents, eventId, eventTime, executionEvents, instanceEvents } from '../../lib/domain/state-events.js';

const origin: EventOrigin = { partition: 'aws', account: '123456789012', region: 'us-east-1', time: '2026-06-30T22:06:31Z' };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function deployment(status: Deployment['status']): Deployment {
  return {
    deploymentId: 'd-ABCDEFGH1', application: 'myApplication', group: 'myDeploymentGroup', groupId: '9fd2fbef-2157-40d8-91e7-6845af69e2d2',
    status, revision: { bucket: 'b', key: 'k.zip', bundleType: 'zip' }, deploymentConfig: 'CodeDeployDefault.OneAtATime' as never,
    minimumHealthyHosts: 0, fleetSize: 1, counts: { pending: 0, inProgress: 0, succeeded: 0, failed: 0, skipped: 0, unknown: 0 },
    fileExistsBehavior: 'DISALLOW', ignoreApplicationStopFailures: false, description: '', creator: 'arn', createdAt: '2026-01-01T00:00:00.000Z', hookRoleArn: null,
  };
}

function instance(status: InstanceDeployment['status'], source: InstanceDeployment['source'] = 'ec2'): InstanceDeployment {
  return { deploymentId: 'd-ABCDEFGH1', instanceId: 'i-0000000aaaaaaaaaa', source, status, events: [], version: 1 };
}

describe("CodeDeploy's events", () => {
  it('a deployment that succeeds: the envelope and detail of "CodeDeploy Deployment State-change Notification"', () => {
    const [event, ...more] = deploymentEvents(origin, deployment('InProgress'), deployment('Succeeded'));
    expect(more).toEqual([]);
    expect(event).toEqual({
      version: '0',
      id: expect.stringMatching(UUID),
      'detail-type': 'CodeDeploy Deployment State-change Notification',
      source: 'aws.codedeploy',
      account: '123456789012',
      time: '2026-06-30T22:06:31Z',
      region: 'us-east-1',
      resources: [
        'arn:aws:codedeploy:us-east-1:123456789012:application:myApplication',
        'arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:myApplication/myDeploymentGroup',
      ],
      detail: {
        instanceGroupId: '9fd2fbef-2157-40d8-91e7-6845af69e2d2',
        region: 'us-east-1',
        application: 'myApplication',
        deploymentId: 'd-ABCDEFGH1',
        state: 'SUCCESS',
        deploymentGroup: 'myDeploymentGroup',
      },
    });
  });

  it('names each deployment state as CodeDeploy does, and says nothing while nothing changed or it is only Created', () => {
    const state = (before: Deployment['status'] | undefined, after: Deployment['status']) =>
      deploymentEvents(origin, before ? deployment(before) : undefined, deployment(after)).map((e) => e.detail.state);
    expect(state(undefined, 'Created')).toEqual([]);
    expect(state('Created', 'InProgress')).toEqual(['START']);
    expect(state('InProgress', 'Failed')).toEqual(['FAILURE']);
    expect(state('InProgress', 'Stopped')).toEqual(['STOP']);
    expect(state('Created', 'Failed')).toEqual(['FAILURE']);
    expect(state('InProgress', 'InProgress')).toEqual([]);
  });

  it('an EC2 instance that succeeds: "CodeDeploy Instance State-change Notification" with the instance, group and application ARNs', () => {
    const [event] = instanceEvents(origin, deployment('InProgress'), instance('InProgress'), instance('Succeeded'));
    expect(event).toEqual({
      version: '0',
      id: expect.stringMatching(UUID),
      'detail-type': 'CodeDeploy Instance State-change Notification',
      source: 'aws.codedeploy',
      account: '123456789012',
      time: '2026-06-30T22:06:31Z',
      region: 'us-east-1',
      resources: [
        'arn:aws:ec2:us-east-1:123456789012:instance/i-0000000aaaaaaaaaa',
        'arn:aws:codedeploy:us-east-1:123456789012:deploymentgroup:myApplication/myDeploymentGroup',
        'arn:aws:codedeploy:us-east-1:123456789012:application:myApplication',
      ],
      detail: {
        instanceId: 'i-0000000aaaaaaaaaa',
        region: 'us-east-1',
        state: 'SUCCESS',
        application: 'myApplication',
        deploymentId: 'd-ABCDEFGH1',
        instanceGroupId: '9fd2fbef-2157-40d8-91e7-6845af69e2d2',
        deploymentGroup: 'myDeploymentGroup',
      },
    });
  });

  it('an on-premises instance is named by its CodeDeploy instance ARN; a skipped instance sends nothing, one whose agent was lost a FAILURE', () => {
    const d = deployment('InProgress');
    expect(instanceEvents(origin, d, instance('Pending', 'registered'), instance('InProgress', 'registered'))[0]?.resources[0]).toBe(
      'arn:aws:codedeploy:us-east-1:123456789012:instance/i-0000000aaaaaaaaaa',
    );
    expect(instanceEvents(origin, d, instance('Pending'), instance('Skipped'))).toEqual([]);
    expect(instanceEvents(origin, d, undefined, instance('Pending'))).toEqual([]);
    expect(instanceEvents(origin, d, instance('InProgress'), instance('Unknown')).map((e) => e.detail.state)).toEqual(['FAILURE']);
    expect(instanceEvents(origin, d, instance('Failed'), instance('Failed'))).toEqual([]);
  });

  it('gives the same change the same ID wherever it is seen again, and different changes different IDs', () => {
    const a = deploymentEvents(origin, deployment('InProgress'), deployment('Succeeded'))[0]!;
    const replayed = deploymentEvents({ ...origin, time: '2026-06-30T22:07:00Z' }, deployment('InProgress'), deployment('Succeeded'))[0]!;
    const start = deploymentEvents(origin, deployment('Created'), deployment('InProgress'))[0]!;
    expect(replayed.id).toBe(a.id);
    expect(start.id).not.toBe(a.id);
    expect(eventId('x')).toMatch(UUID);
    expect(eventTime(Date.parse('2026-06-30T22:06:31.999Z'))).toBe('2026-06-30T22:06:31Z');
  });
});

const stagesDef: Pipeline['stages'] = [
  { name: 'Prod', actions: [{ type: 'deploy', name: 'myAction', application: 'web', group: 'prod' }] },
  { name: 'Approve', actions: [{ type: 'approval', name: 'approval-1', timeoutMinutes: 60 }] },
];

function execution(version: number, change: (ex: Execution) => void = () => {}): Execution {
  const ex: Execution = {
    executionId: 'e-0123456789abcdef', pipeline: 'myPipeline', definition: stagesDef, revision: { bucket: 'b', key: 'k.zip' }, trigger: { type: 'S3', by: 'ci' },
    status: 'InProgress', stageIndex: 0, waiting: false, stages: initialStages({ stages: stagesDef }), createdAt: 'x', updatedAt: 'x', version,
  };
  change(ex);
  return ex;
}

describe("CodePipeline's events", () => {
  const resources = ['arn:aws:codepipeline:us-east-1:123456789012:myPipeline'];
  const common = { version: '0', 'detail-type': expect.any(String), source: 'aws.codepipeline', account: '123456789012', time: '2026-06-30T22:06:31Z', region: 'us-east-1', resources };

  it('an execution that starts and enters its first stage and action: pipeline, stage, action, each in the documented shape', () => {
    const entered = execution(2, (ex) => {
      ex.stages[0]!.status = 'InProgress';
      ex.stages[0]!.actions[0]!.status = 'InProgress';
    });
    const events = executionEvents(origin, undefined, entered);
    expect(events.map((e) => e['detail-type'])).toEqual([
      'CodePipeline Pipeline Execution State Change',
      'CodePipeline Stage Execution State Change',
      'CodePipeline Action Execution State Change',
    ]);
    expect(events[0]).toEqual({ ...common, id: expect.stringMatching(UUID), detail: { pipeline: 'myPipeline', version: 1, state: 'STARTED', 'execution-id': 'e-0123456789abcdef' } });
    expect(events[1]).toEqual({ ...common, id: expect.stringMatching(UUID), detail: { pipeline: 'myPipeline', version: 1, 'execution-id': 'e-0123456789abcdef', stage: 'Prod', state: 'STARTED' } });
    expect(events[2]).toEqual({
      ...common,
      id: expect.stringMatching(UUID),
      detail: {
        pipeline: 'myPipeline', version: 1, 'execution-id': 'e-0123456789abcdef', stage: 'Prod', action: 'myAction', state: 'STARTED', region: 'us-east-1',
        type: { owner: 'AWS', category: 'Deploy', provider: 'CodeDeploy', version: '1' },
      },
    });
  });

  it('what ends is sent from the inside out: action, stage, then the execution', () => {
    const running = execution(5, (ex) => {
      ex.stages[0]!.status = 'Succeeded';
      ex.stages[0]!.actions[0]!.status = 'Succeeded';
      ex.stages[1]!.status = 'InProgress';
      ex.stages[1]!.actions[0]!.status = 'InProgress';
    });
    const rejected = execution(6, (ex) => {
      ex.stages = structuredClone(running.stages);
      ex.stages[1]!.status = 'Failed';
      ex.stages[1]!.actions[0]!.status = 'Failed';
      ex.status = 'Failed';
    });
    const events = executionEvents(origin, running, rejected);
    expect(events.map((e) => [e['detail-type'].split(' ')[1], e.detail.state])).toEqual([
      ['Action', 'FAILED'],
      ['Stage', 'FAILED'],
      ['Pipeline', 'FAILED'],
    ]);
    expect(events[0]?.detail).toHaveProperty('type', { owner: 'AWS', category: 'Approval', provider: 'Manual', version: '1' });
  });

  it('a retried execution and stage are RESUMED, a stopped one STOPPED with its running action ABANDONED, a superseded one SUPERSEDED', () => {
    const failed = execution(6, (ex) => {
      ex.status = 'Failed';
      ex.stages[0]!.status = 'Failed';
      ex.stages[0]!.actions[0]!.status = 'Failed';
    });
    const retried = execution(7, (ex) => {
      ex.stages[0]!.status = 'InProgress';
    });
    expect(executionEvents(origin, failed, retried).map((e) => e.detail.state)).toEqual(['RESUMED', 'RESUMED']);
    const running = execution(3, (ex) => {
      ex.stages[0]!.status = 'InProgress';
      ex.stages[0]!.actions[0]!.status = 'InProgress';
    });
    const stopped = execution(4, (ex) => {
      ex.status = 'Stopped';
      ex.stages[0]!.status = 'Stopped';
      ex.stages[0]!.actions[0]!.status = 'Stopped';
    });
    expect(executionEvents(origin, running, stopped).map((e) => e.detail.state)).toEqual(['ABANDONED', 'STOPPED', 'STOPPED']);
    expect(executionEvents(origin, execution(1), execution(2, (ex) => (ex.status = 'Superseded'))).map((e) => e.detail.state)).toEqual(['SUPERSEDED']);
    expect(executionEvents(origin, execution(1), execution(2))).toEqual([]);
  });

  it('the same state reached again by a later write (a retry) is a new event; the same write seen twice is not', () => {
    const entered = (version: number) => execution(version, (ex) => (ex.stages[0]!.actions[0]!.status = 'InProgress'));
    const first = executionEvents(origin, execution(1), entered(2));
    expect(executionEvents(origin, execution(1), entered(2)).map((e) => e.id)).toEqual(first.map((e) => e.id));
    expect(executionEvents(origin, execution(8), entered(9))[0]?.id).not.toBe(first[0]?.id);
  });
});
