import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { resolveTargets } from '../../lib/deployments/resolve-targets.js';
import { useApi } from '../support/api-harness.js';
import { putBundle } from '../support/bundles.js';
import { agentPrincipal } from '../support/scripted-agent.js';

/**
 * A hook role is a credential: whoever sets it on a group chooses which role's
 * keys the group's hooks get (and can read them in an output tail). So setting
 * it takes the grant POST /credentials takes, every role Fleetline assumes goes
 * through the same rule, and every issue is audited.
 */
const api = useApi();
const sts = mockClient(STSClient);
afterEach(() => sts.reset());

const BUCKET = 'fleetline-test-artifacts';
const MALLORY = 'arn:aws:sts::111122223333:assumed-role/contractor/mallory';
const MALLORY_ROLE = 'arn:aws:iam::111122223333:role/contractor';
/** In the configured credentialAccounts (111122223333) and under /fleetline/. */
const HOOK_ROLE = 'arn:aws:iam::111122223333:role/fleetline/web-hooks';
const hooked = (hookRoleArn: string | null, extra: Record<string, unknown> = {}) => ({
  body: { targets: { onPremisesTagSet: [[{ key: 'hooked', type: 'KEY_ONLY' }]], ...extra }, hookRoleArn },
});

beforeAll(async () => {
  await putBundle(api.s3, BUCKET, 'web/h.zip');
  await api.call('PUT', '/applications/web');
  await api.deps.accessRules.put({ id: 'mallory-groups', effect: 'Allow', principals: [MALLORY_ROLE], actions: ['groups:put', 'groups:get'], resources: ['application/web/group/*'] });
});

describe('setting a hook role takes the credentials grant for it', () => {
  it('refuses a group editor without credentials:issue on the role (403 naming the grant), and writes nothing', async () => {
    const res = await api.call('PUT', '/applications/web/groups/mine', { principal: MALLORY, ...hooked(HOOK_ROLE) });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toContain('credentials:issue');
    expect(res.body.error.message).toContain(HOOK_ROLE);
    expect((await api.call('GET', '/applications/web/groups/mine')).status).toBe(404);
  });

  it('refuses changing the hook role of an existing group, and keeps the old one', async () => {
    expect((await api.call('PUT', '/applications/web/groups/changed', hooked(HOOK_ROLE))).status).toBe(201);
    const other = 'arn:aws:iam::111122223333:role/fleetline/other-hooks';
    const res = await api.call('PUT', '/applications/web/groups/changed', { principal: MALLORY, ...hooked(other) });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toContain(other);
    expect((await api.call('GET', '/applications/web/groups/changed')).body.hookRoleArn).toBe(HOOK_ROLE);
  });

  it('lets an editor holding credentials:issue on the role set it, and records who did', async () => {
    await api.deps.accessRules.put({ id: 'mallory-hooks', effect: 'Allow', principals: [MALLORY_ROLE], actions: ['credentials:issue'], resources: [HOOK_ROLE] });
    try {
      const res = await api.call('PUT', '/applications/web/groups/granted', { principal: MALLORY, ...hooked(HOOK_ROLE) });
      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ hookRoleArn: HOOK_ROLE, hookRoleSetBy: MALLORY });
    } finally {
      await api.deps.accessRules.delete('mallory-hooks');
    }
    // Without a hook role, groups:put is enough (and clears whoever set one).
    const plain = await api.call('PUT', '/applications/web/groups/granted', { principal: MALLORY, ...hooked(null) });
    expect(plain.status).toBe(200);
    expect(plain.body).toMatchObject({ hookRoleArn: null, hookRoleSetBy: null });
  });
});

describe('one role rule for every role Fleetline assumes', () => {
  const outside: [string, string, RegExp][] = [
    ['a hook role in an account outside credentialAccounts', 'hookRoleArn', /credentialAccounts/],
    ['a target role in an account outside credentialAccounts', 'targetRoleArn', /credentialAccounts/],
    ['a hook role in another partition', 'hookRoleArn-cn', /partition aws-cn/],
    ['a target role in another partition', 'targetRoleArn-cn', /partition aws-cn/],
  ];
  it.each(outside)('refuses %s with 422, to administrators too', async (_name, field, reason) => {
    const arn = field.endsWith('-cn') ? 'arn:aws-cn:iam::111122223333:role/fleetline/x' : 'arn:aws:iam::444455556666:role/fleetline/x';
    const body = field.startsWith('hook') ? hooked(arn) : hooked(null, { targetRoleArn: arn });
    const res = await api.call('PUT', '/applications/web/groups/outside', body);
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(reason);
    expect(res.body.error.details[0].path).toBe(field.startsWith('hook') ? '$.hookRoleArn' : '$.targets.targetRoleArn');
    expect((await api.call('GET', '/applications/web/groups/outside')).status).toBe(404);
  });

  it('refuses a hook role outside credentialAccounts even to a caller granted credentials:issue on every role', async () => {
    await api.deps.accessRules.put({ id: 'mallory-all-roles', effect: 'Allow', principals: [MALLORY_ROLE], actions: ['credentials:issue'], resources: ['*'] });
    try {
      const res = await api.call('PUT', '/applications/web/groups/wide', { principal: MALLORY, ...hooked('arn:aws:iam::444455556666:role/fleetline/x') });
      expect(res.status).toBe(422);
      expect(res.body.error.message).toContain('credentialAccounts');
    } finally {
      await api.deps.accessRules.delete('mallory-all-roles');
    }
  });

  it('never looks up EC2 targets through a target role that falls outside the rule', async () => {
    const lookups: unknown[] = [];
    const deps = { ...api.deps, ec2: { findInstanceIds: async (query: unknown) => (lookups.push(query), ['i-0123456789abcdef0']) } };
    await api.call('PUT', '/applications/web/groups/ec2', hooked(null));
    const group = (await api.deps.groups.get('web', 'ec2'))!;
    const ec2TagSet = [[{ key: 'Name', value: 'web', type: 'KEY_AND_VALUE' as const }]];
    for (const [targetRoleArn, reason] of [
      ['arn:aws-cn:iam::111122223333:role/fleetline/t', /partition aws-cn/],
      ['arn:aws:iam::444455556666:role/fleetline/t', /credentialAccounts/],
    ] as const) {
      await expect(resolveTargets({ ...group, targets: { ...group.targets, ec2TagSet, targetRoleArn } }, deps)).rejects.toThrow(reason);
    }
    expect(lookups).toEqual([]);
    const inside = 'arn:aws:iam::111122223333:role/fleetline/t';
    expect(await resolveTargets({ ...group, targets: { ...group.targets, ec2TagSet, targetRoleArn: inside } }, deps)).toEqual([{ instanceId: 'i-0123456789abcdef0', source: 'ec2' }]);
    expect(lookups).toEqual([expect.objectContaining({ roleArn: inside })]);
  });

  it('never assumes a hook role a deployment holds once it falls outside the rule', async () => {
    // Written behind the API's back, as a group set before the rule (or before credentialAccounts changed) would be.
    const outsider = 'arn:aws:iam::444455556666:role/fleetline/old-hooks';
    await api.call('PUT', '/applications/web/groups/legacy', hooked(null));
    const group = (await api.deps.groups.get('web', 'legacy'))!;
    await api.deps.groups.put('web', 'legacy', { ...group, hookRoleArn: outsider, hookRoleSetBy: MALLORY }, new Date().toISOString(), () => 'x');
    await api.call('PUT', '/instances/legacy-1', { body: { tags: [{ key: 'hooked', value: '' }] } });
    const created = await api.call('POST', '/deployments', { body: { application: 'web', group: 'legacy', revision: { bucket: BUCKET, key: 'web/h.zip' } } });
    expect(created.status).toBe(201);
    sts.on(AssumeRoleCommand).resolves({ Credentials: { AccessKeyId: 'ASIAX', SecretAccessKey: 's', SessionToken: 't', Expiration: new Date() } });
    const polled = await api.call('POST', '/agent/v1/poll', { body: { instanceId: 'legacy-1' }, principal: agentPrincipal('legacy-1') });
    expect(polled.body.assignment).toBeNull();
    expect(sts.commandCalls(AssumeRoleCommand)).toHaveLength(0);
    // The work cannot start: the instance fails, naming the rule it breaks.
    const instance = await api.call('GET', `/deployments/${created.body.deploymentId}/instances/legacy-1`);
    expect(instance.body.status).toBe('Failed');
    expect(JSON.stringify(instance.body)).toContain('credentialAccounts');
  });
});

describe('hook credentials are audited', () => {
  it('records who set the role, which deployment and instance got it and for how long, never the secret', async () => {
    await api.call('PUT', '/applications/web/groups/audited', hooked(HOOK_ROLE));
    await api.call('PUT', '/instances/audited-1', { body: { tags: [{ key: 'hooked', value: '' }] } });
    const { deploymentId } = (await api.call('POST', '/deployments', { body: { application: 'web', group: 'audited', revision: { bucket: BUCKET, key: 'web/h.zip' } } })).body;
    sts.on(AssumeRoleCommand).resolves({
      Credentials: { AccessKeyId: 'ASIAHOOK', SecretAccessKey: 'hook-secret', SessionToken: 'hook-token', Expiration: new Date('2026-11-22T13:00:00Z') },
    });
    const agent = agentPrincipal('audited-1');
    const polled = await api.call('POST', '/agent/v1/poll', { body: { instanceId: 'audited-1' }, principal: agent });
    expect(polled.body.assignment.hookCredentials.accessKeyId).toBe('ASIAHOOK');

    const audit = await api.call('GET', '/credentials/audit');
    const entry = audit.body.items.find((e: { deploymentId?: string }) => e.deploymentId === deploymentId);
    expect(entry).toMatchObject({
      caller: agent,
      roleArn: HOOK_ROLE,
      configuredBy: expect.stringContaining('assumed-role/platform-engineer/'),
      deploymentId,
      instanceId: 'audited-1',
      durationSeconds: 3600,
      expiration: '2026-11-22T13:00:00.000Z',
      sessionName: sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input.RoleSessionName,
    });
    expect(JSON.stringify(audit.body)).not.toMatch(/hook-secret|hook-token|ASIAHOOK/);
    await api.call('POST', `/deployments/${deploymentId}/stop`, { body: {} });
  });
});
