import { describe, expect, it } from 'vitest';
import { useApi } from '../support/api-harness.js';
import { putBundle } from '../support/bundles.js';
import { agentPrincipal } from '../support/scripted-agent.js';

/** Hostile agents and careless instance updates (the harness trusts agent sessions of account 000000000000 only). */
const api = useApi();
const BUCKET = 'fleetline-test-artifacts';

async function groupTargeting(app: string, tag: { key: string; value: string }) {
  await api.call('PUT', `/applications/${app}`);
  const group = await api.call('PUT', `/applications/${app}/groups/g`, {
    body: { targets: { onPremisesTagSet: [[{ ...tag, type: 'KEY_AND_VALUE' }]] } },
  });
  expect(group.status).toBe(201);
}

async function deploy(app: string) {
  await putBundle(api.s3, BUCKET, `${app}/x.zip`);
  return api.call('POST', '/deployments', { body: { application: app, group: 'g', revision: { bucket: BUCKET, key: `${app}/x.zip` } } });
}

describe('a rogue agent cannot choose its own targeting tags', () => {
  it('registers a new instance with no targeting tags: the deployment it aimed at finds no target and it is never handed the bundle', async () => {
    await groupTargeting('rogue', { key: 'env', value: 'prod' });
    const rogue = agentPrincipal('rack-rogue');
    const registered = await api.call('POST', '/agent/v1/register', { principal: rogue, body: { instanceId: 'rack-rogue', tags: [{ key: 'env', value: 'prod' }] } });
    expect(registered.status).toBe(201);
    expect(registered.body).toMatchObject({ tags: [], requestedTags: [{ key: 'env', value: 'prod' }], iamArn: rogue });

    const deployment = await deploy('rogue');
    // Whether refused at once or failed at fan-out, the deployment reaches no instance.
    const outcome = deployment.status === 201 ? (await api.call('GET', `/deployments/${deployment.body.deploymentId}`)).body.error : deployment.body.error;
    expect(JSON.stringify(outcome)).toMatch(/NoInstances|[Nn]o running EC2 instance or registered instance/);
    expect((await api.call('POST', '/agent/v1/poll', { principal: rogue, body: { instanceId: 'rack-rogue' } })).body.assignment).toBeNull();
  });

  it('never changes the tags of an existing instance, not even its own', async () => {
    await api.call('PUT', '/instances/rack-1', { body: { tags: [{ key: 'env', value: 'lab' }] } });
    const me = agentPrincipal('rack-1');
    const again = await api.call('POST', '/agent/v1/register', { principal: me, body: { instanceId: 'rack-1', tags: [{ key: 'env', value: 'prod' }] } });
    expect(again.status).toBe(200);
    expect((await api.call('GET', '/instances/rack-1')).body).toMatchObject({ tags: [{ key: 'env', value: 'lab' }], iamArn: null });
    expect((await api.call('GET', '/instances/rack-1')).body.requestedTags).toBeUndefined();
  });

  it('gets its tags once an administrator sets them, which settles what the agent asked for', async () => {
    await api.call('POST', '/agent/v1/register', { principal: agentPrincipal('rack-2'), body: { instanceId: 'rack-2', tags: [{ key: 'env', value: 'x' }] } });
    const approved = await api.call('PUT', '/instances/rack-2', { body: { tags: [{ key: 'env', value: 'lab' }] } });
    expect(approved.status).toBe(200);
    expect(approved.body).toMatchObject({ tags: [{ key: 'env', value: 'lab' }], iamArn: agentPrincipal('rack-2') });
    expect(approved.body.requestedTags).toBeUndefined();
  });

  it('refuses agent sessions from an account that is not configured, for registration and for work', async () => {
    const foreign = 'arn:aws:sts::999999999999:assumed-role/fleetline-agent/rack-3';
    expect((await api.call('POST', '/agent/v1/register', { principal: foreign, body: { instanceId: 'rack-3', tags: [] } })).status).toBe(403);
    expect((await api.call('GET', '/instances/rack-3')).status).toBe(404);
    await api.call('PUT', '/instances/rack-3', { body: { tags: [{ key: 'env', value: 'lab' }] } });
    expect((await api.call('POST', '/agent/v1/poll', { principal: foreign, body: { instanceId: 'rack-3' } })).status).toBe(403);
    expect((await api.call('POST', '/agent/v1/poll', { principal: agentPrincipal('rack-3'), body: { instanceId: 'rack-3' } })).status).toBe(200);
  });

  it('answers an invalid request with its problems only to the agent of the instance it names', async () => {
    await api.call('PUT', '/instances/rack-4', { body: { tags: [{ key: 'env', value: 'lab' }] } });
    const invalid = { instanceId: 'rack-4', heartbeat: 'yes' };
    const own = await api.call('POST', '/agent/v1/poll', { principal: agentPrincipal('rack-4'), body: invalid });
    expect([own.status, own.body.error.code]).toEqual([400, 'ValidationError']);
    for (const stranger of [agentPrincipal('rack-5'), 'arn:aws:sts::999999999999:assumed-role/fleetline-agent/rack-4', 'arn:aws:iam::000000000000:user/ops']) {
      const res = await api.call('POST', '/agent/v1/poll', { principal: stranger, body: invalid });
      expect([stranger, res.status]).toEqual([stranger, 403]);
    }
    const unnamed = await api.call('POST', '/agent/v1/report', { principal: agentPrincipal('rack-4'), body: { instanceId: '../rack-4' } });
    expect(unnamed.status).toBe(403);
  });

  it('leaves EC2 instances to EC2: an agent cannot register an EC2-shaped ID with tags', async () => {
    const res = await api.call('POST', '/agent/v1/register', { principal: agentPrincipal('i-0123456789abcdef0'), body: { instanceId: 'i-0123456789abcdef0', tags: [{ key: 'env', value: 'prod' }] } });
    expect(res.status).toBe(422);
    expect(res.body.error.message).toMatch(/tags come from EC2/);
    expect((await api.call('GET', '/instances/i-0123456789abcdef0')).status).toBe(404);
  });
});

describe('PUT /instances/{id}', () => {
  it('changes only the fields it is given: a tags-only PUT keeps the binding', async () => {
    const bound = 'arn:aws:iam::111122223333:user/rack-5';
    await api.call('PUT', '/instances/rack-5', { body: { tags: [{ key: 'a', value: '1' }], iamArn: bound } });
    const tagsOnly = await api.call('PUT', '/instances/rack-5', { body: { tags: [{ key: 'a', value: '2' }] } });
    expect(tagsOnly.body).toMatchObject({ tags: [{ key: 'a', value: '2' }], iamArn: bound });
    expect((await api.call('POST', '/agent/v1/poll', { principal: bound, body: { instanceId: 'rack-5' } })).status).toBe(200);
    const bindingOnly = await api.call('PUT', '/instances/rack-5', { body: { iamArn: null } });
    expect(bindingOnly.body).toMatchObject({ tags: [{ key: 'a', value: '2' }], iamArn: null });
    expect((await api.call('PUT', '/instances/rack-6', {})).body).toMatchObject({ tags: [], iamArn: null });
  });

  it('binds an EC2-shaped ID only to that instance\'s own agent session, so its assignments cannot be hijacked', async () => {
    const id = 'i-0abc1234def567890';
    for (const thief of [
      'arn:aws:iam::111122223333:user/mallory',
      agentPrincipal('i-0fff1234def567890'),
      'arn:aws:sts::999999999999:assumed-role/fleetline-agent/i-0abc1234def567890',
      'arn:aws:sts::000000000000:assumed-role/not-an-agent-role/i-0abc1234def567890',
    ]) {
      const res = await api.call('PUT', `/instances/${id}`, { body: { tags: [], iamArn: thief } });
      expect([thief, res.status, res.body.error?.details?.[0]?.path]).toEqual([thief, 422, '$.iamArn']);
    }
    expect((await api.call('GET', `/instances/${id}`)).status).toBe(404);
    const own = await api.call('PUT', `/instances/${id}`, { body: { iamArn: agentPrincipal(id) } });
    expect(own.status).toBe(201);
  });
});
