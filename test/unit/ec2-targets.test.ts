import { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { Ec2TargetLookupAdapter } from '../../lib/adapters/aws/ec2-targets.js';
import type { TagSet } from '../../lib/domain/tags.js';

const ec2 = mockClient(EC2Client);
const sts = mockClient(STSClient);
afterEach(() => {
  ec2.reset();
  sts.reset();
});

const instance = (id: string, tags: Record<string, string>) => ({
  InstanceId: id,
  Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
});

describe('EC2 target lookup', () => {
  it('asks EC2 for running instances per filter of the first tag group, follows pages, and applies the whole tag set', async () => {
    ec2
      .on(DescribeInstancesCommand, { Filters: [{ Name: 'instance-state-name', Values: ['running'] }, { Name: 'tag:app', Values: ['web'] }] })
      .resolvesOnce({ Reservations: [{ Instances: [instance('i-1', { app: 'web', env: 'prod' }), instance('i-2', { app: 'web', env: 'dev' })] }], NextToken: 'p2' })
      .resolvesOnce({ Reservations: [{ Instances: [instance('i-3', { app: 'web', env: 'prod' })] }] });
    ec2
      .on(DescribeInstancesCommand, { Filters: [{ Name: 'instance-state-name', Values: ['running'] }, { Name: 'tag-key', Values: ['canary'] }] })
      .resolves({ Reservations: [{ Instances: [instance('i-4', { canary: '', env: 'prod' })] }] });
    const tagSet: TagSet = [
      [{ type: 'KEY_AND_VALUE', key: 'app', value: 'web' }, { type: 'KEY_ONLY', key: 'canary' }],
      [{ type: 'VALUE_ONLY', value: 'prod' }],
    ];
    const ids = await new Ec2TargetLookupAdapter(new STSClient({}), 'eu-west-1').findInstanceIds({ tagSet });
    expect(ids).toEqual(['i-1', 'i-3', 'i-4']);
    const pages = ec2.commandCalls(DescribeInstancesCommand).map((c) => c.args[0].input.NextToken);
    expect(pages).toEqual([undefined, 'p2', undefined]);
  });

  it('looks up another account through the group target role', async () => {
    sts.on(AssumeRoleCommand).resolves({
      Credentials: { AccessKeyId: 'ASIAEXAMPLE', SecretAccessKey: 'secret', SessionToken: 'token', Expiration: new Date() },
    });
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [instance('i-9', { app: 'web' })] }] });
    const roleArn = 'arn:aws:iam::444455556666:role/fleetline/target-reader';
    const ids = await new Ec2TargetLookupAdapter(new STSClient({}), 'eu-west-1').findInstanceIds({
      tagSet: [[{ type: 'KEY_ONLY', key: 'app' }]],
      region: 'us-west-2',
      roleArn,
    });
    expect(ids).toEqual(['i-9']);
    expect(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input).toEqual({
      RoleArn: roleArn,
      RoleSessionName: 'fleetline-target-lookup',
      DurationSeconds: 900,
    });
  });

  it('with an explicit target list, asks only for those instances (a filter: an ID EC2 does not know is just not matched)', async () => {
    ec2
      .on(DescribeInstancesCommand, {
        Filters: [{ Name: 'instance-state-name', Values: ['running'] }, { Name: 'tag:app', Values: ['web'] }, { Name: 'instance-id', Values: ['i-1', 'i-404'] }],
      })
      .resolves({ Reservations: [{ Instances: [instance('i-1', { app: 'web' })] }] });
    const lookup = new Ec2TargetLookupAdapter(new STSClient({}), 'eu-west-1');
    const tagSet: TagSet = [[{ type: 'KEY_AND_VALUE', key: 'app', value: 'web' }]];
    expect(await lookup.findInstanceIds({ tagSet, instanceIds: ['i-1', 'i-404'] })).toEqual(['i-1']);
    expect(ec2.calls()).toHaveLength(1);
    expect(await lookup.findInstanceIds({ tagSet, instanceIds: [] })).toEqual([]);
    expect(ec2.calls()).toHaveLength(1);
  });

  it('returns nothing for an empty tag set without calling EC2', async () => {
    expect(await new Ec2TargetLookupAdapter(new STSClient({}), 'eu-west-1').findInstanceIds({ tagSet: [] })).toEqual([]);
    expect(ec2.calls()).toHaveLength(0);
  });

  it('turns every EC2 and STS failure of a lookup into a 4xx saying what to change, or a 502 naming EC2', async () => {
    const fail = (name: string, message = `${name}: internal detail`) => Object.assign(new Error(message), { name });
    const tagSet: TagSet = [[{ type: 'KEY_ONLY', key: 'app' }]];
    const cases: [Error, number, RegExp][] = [
      [fail('UnauthorizedOperation'), 422, /EC2 refused DescribeInstances in us-west-2: Fleetline's role needs ec2:DescribeInstances/],
      [fail('AuthFailure'), 422, /region is enabled/],
      [fail('RequestLimitExceeded'), 429, /retry/],
      [fail('InternalError'), 502, /EC2 DescribeInstances failed in us-west-2 \(InternalError\); retry later/],
    ];
    for (const [error, status, message] of cases) {
      ec2.reset();
      ec2.on(DescribeInstancesCommand).rejects(error);
      const lookup = new Ec2TargetLookupAdapter(new STSClient({}), 'eu-west-1').findInstanceIds({ tagSet, region: 'us-west-2' });
      await expect(lookup).rejects.toMatchObject({ statusCode: status, message: expect.stringMatching(message) });
      await lookup.catch((e: Error) => expect(e.message).not.toContain('internal detail'));
    }
    sts.on(AssumeRoleCommand).rejects(fail('AccessDenied'));
    const roleArn = 'arn:aws:iam::444455556666:role/fleetline/target-reader';
    await expect(new Ec2TargetLookupAdapter(new STSClient({}), 'eu-west-1').findInstanceIds({ tagSet, roleArn })).rejects.toMatchObject({
      statusCode: 422,
      message: expect.stringMatching(/the targetRoleArn arn:aws:iam::444455556666:role\/fleetline\/target-reader: the role's trust policy/),
    });
  });

  it("a region with no EC2 endpoint is told by Node's DNS error code, never by an error's wording", async () => {
    const tagSet: TagSet = [[{ type: 'KEY_ONLY', key: 'app' }]];
    const lookup = () => new Ec2TargetLookupAdapter(new STSClient({}), 'eu-west-1').findInstanceIds({ tagSet, region: 'xx-nowhere-1' });
    // What the SDK's HTTP handler passes on when the host does not resolve.
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND ec2.xx-nowhere-1.amazonaws.com'), { code: 'ENOTFOUND', errno: -3008, syscall: 'getaddrinfo' });
    ec2.on(DescribeInstancesCommand).rejects(dns);
    await expect(lookup()).rejects.toMatchObject({ statusCode: 422, message: "EC2 has no endpoint in xx-nowhere-1: check the group's region" });
    // An EC2 failure that merely quotes such text is EC2 failing, not a bad region.
    ec2.reset();
    ec2.on(DescribeInstancesCommand).rejects(Object.assign(new Error('upstream said: getaddrinfo ENOTFOUND somewhere'), { name: 'InternalError' }));
    await expect(lookup()).rejects.toMatchObject({ statusCode: 502, message: expect.stringMatching(/EC2 DescribeInstances failed in xx-nowhere-1 \(InternalError\)/) });
  });
});
