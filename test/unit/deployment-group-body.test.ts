import { describe, expect, it } from 'vitest';
import { deploymentGroupBodySchema, toDeploymentGroupSettings } from '../../lib/domain/deployment-group.js';
import { parseOrThrow } from '../../lib/domain/validation.js';
import { FleetlineError, UnprocessableError, ValidationError } from '../../lib/errors.js';

const valid = {
  targets: {
    ec2TagSet: [[{ key: 'Name', value: 'sample-python', type: 'KEY_AND_VALUE' }]],
    onPremisesTagSet: [],
    region: 'eu-west-1',
    targetRoleArn: 'arn:aws:iam::111122223333:role/fleetline/target-reader',
  },
  deploymentConfig: 'OneAtATime',
  autoRollback: { enabled: true, events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST'] },
  fileExistsBehavior: 'DISALLOW',
  ignoreApplicationStopFailures: false,
  hookRoleArn: null,
  busyBehavior: 'QUEUE',
  outdatedInstancesStrategy: 'IGNORE',
  triggerConfigurations: [
    { triggerName: 'deploy-failed', triggerTargetArn: 'arn:aws:sns:eu-west-1:111122223333:deploy-alerts', triggerEvents: ['DeploymentFailure', 'DeploymentStop'] },
  ],
};

function settingsOf(body: unknown) {
  return toDeploymentGroupSettings(parseOrThrow(deploymentGroupBodySchema, body));
}

function problems(body: unknown): { status: number; details: { path: string; message: string }[] } {
  try {
    settingsOf(body);
  } catch (error) {
    if (error instanceof FleetlineError) return { status: error.statusCode, details: error.details };
    throw error;
  }
  throw new Error('expected the body to be rejected');
}

describe('deployment group body', () => {
  it('accepts the design document example as is', () => {
    expect(settingsOf(valid)).toEqual(valid);
  });

  it('fills CodeDeploy defaults for everything but targets', () => {
    expect(settingsOf({ targets: {} })).toEqual({
      targets: { ec2TagSet: [], onPremisesTagSet: [] },
      deploymentConfig: 'OneAtATime',
      autoRollback: { enabled: false, events: [] },
      fileExistsBehavior: 'DISALLOW',
      ignoreApplicationStopFailures: false,
      hookRoleArn: null,
      busyBehavior: 'REJECT',
      outdatedInstancesStrategy: 'UPDATE',
      triggerConfigurations: [],
    });
  });

  it("accepts CodeDeploy's preset names and custom minimum healthy hosts", () => {
    expect(settingsOf({ ...valid, deploymentConfig: 'CodeDeployDefault.HalfAtATime' }).deploymentConfig).toBe('HalfAtATime');
    const custom = { minimumHealthyHosts: { type: 'FLEET_PERCENT', value: 40 } };
    expect(settingsOf({ ...valid, deploymentConfig: custom }).deploymentConfig).toEqual(custom);
  });

  const rejected: { name: string; body: unknown; status: number; expected: { path: string; message: RegExp }[] }[] = [
    { name: 'missing targets', body: {}, status: 400, expected: [{ path: '$.targets', message: /expected object/ }] },
    {
      name: 'an outdated-instances strategy CodeDeploy does not have',
      body: { targets: {}, outdatedInstancesStrategy: 'update' },
      status: 400,
      expected: [{ path: '$.outdatedInstancesStrategy', message: /must be one of UPDATE, IGNORE/ }],
    },
    {
      name: 'an unknown field at any depth',
      body: { ...valid, colour: 'blue', targets: { ...valid.targets, zone: 'a' } },
      status: 400,
      expected: [
        { path: '$.colour', message: /not a known field/ },
        { path: '$.targets.zone', message: /not a known field/ },
      ],
    },
    {
      name: 'a KEY_ONLY filter carrying a value',
      body: { targets: { ec2TagSet: [[{ key: 'env', value: 'x', type: 'KEY_ONLY' }]] } },
      status: 400,
      expected: [{ path: '$.targets.ec2TagSet[0][0].value', message: /must be absent when type is KEY_ONLY/ }],
    },
    {
      name: 'a VALUE_ONLY filter without a value',
      body: { targets: { onPremisesTagSet: [[{ key: 'env', type: 'VALUE_ONLY' }]] } },
      status: 400,
      expected: [
        { path: '$.targets.onPremisesTagSet[0][0].key', message: /must be absent when type is VALUE_ONLY/ },
        { path: '$.targets.onPremisesTagSet[0][0].value', message: /is required when type is VALUE_ONLY/ },
      ],
    },
    {
      name: 'an unknown filter type',
      body: { targets: { ec2TagSet: [[{ key: 'env', type: 'KEY' }]] } },
      status: 400,
      expected: [{ path: '$.targets.ec2TagSet[0][0].type', message: /KEY_ONLY, VALUE_ONLY, KEY_AND_VALUE/ }],
    },
    {
      name: 'wrong types',
      body: { ...valid, ignoreApplicationStopFailures: 'no', autoRollback: { enabled: 1, events: [] } },
      status: 400,
      expected: [
        { path: '$.autoRollback.enabled', message: /true or false/ },
        { path: '$.ignoreApplicationStopFailures', message: /true or false/ },
      ],
    },
    {
      name: 'rollback enabled without events',
      body: { ...valid, autoRollback: { enabled: true, events: [] } },
      status: 400,
      expected: [{ path: '$.autoRollback.events', message: /at least one event/ }],
    },
    {
      name: 'a role ARN that is not a role ARN',
      body: { ...valid, hookRoleArn: 'arn:aws:iam::111122223333:user/bob' },
      status: 400,
      expected: [{ path: '$.hookRoleArn', message: /IAM role ARN/ }],
    },
    {
      name: 'a region that is not a region',
      body: { ...valid, targets: { ...valid.targets, region: 'Europe' } },
      status: 400,
      expected: [{ path: '$.targets.region', message: /region code/ }],
    },
    {
      name: 'a fleet percentage over 100',
      body: { ...valid, deploymentConfig: { minimumHealthyHosts: { type: 'FLEET_PERCENT', value: 101 } } },
      status: 400,
      expected: [{ path: '$.deploymentConfig.minimumHealthyHosts.value', message: /between 0 and 100/ }],
    },
    {
      name: 'a fractional host count',
      body: { ...valid, deploymentConfig: { minimumHealthyHosts: { type: 'HOST_COUNT', value: 1.5 } } },
      status: 400,
      expected: [{ path: '$.deploymentConfig.minimumHealthyHosts.value', message: /whole number/ }],
    },
    {
      name: 'an unknown preset (valid JSON, unknown meaning)',
      body: { ...valid, deploymentConfig: 'Fast' },
      status: 422,
      expected: [{ path: '$.deploymentConfig', message: /AllAtOnce, HalfAtATime, OneAtATime/ }],
    },
  ];

  it.each(rejected)('rejects $name, naming each problem', ({ body, status, expected }) => {
    const result = problems(body);
    expect(result.status).toBe(status);
    expect(result.details).toHaveLength(expected.length);
    for (const { path, message } of expected) {
      expect(result.details).toContainEqual({ path, message: expect.stringMatching(message) });
    }
  });

  it('uses one error class per outcome', () => {
    expect(() => settingsOf({})).toThrow(ValidationError);
    expect(() => settingsOf({ ...valid, deploymentConfig: 'Fast' })).toThrow(UnprocessableError);
  });
});
