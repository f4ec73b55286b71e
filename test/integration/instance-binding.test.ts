import { describe, expect, it } from 'vitest';
import { useApi } from '../support/api-harness.js';

/**
 * Binding an instance to an identity decides who may poll its work (bundle URLs,
 * hook credentials) and report for it: an administrator's act, never a grant's.
 */
const api = useApi();

const EVE = 'arn:aws:sts::111122223333:assumed-role/contractor/eve';
const EVE_ROLE = 'arn:aws:iam::111122223333:role/contractor';

async function grantEve() {
  await api.deps.accessRules.put({ id: 'eve-instances', effect: 'Allow', principals: [EVE_ROLE], actions: ['instances:put', 'instances:get'], resources: ['instance/eve-*'] });
}

describe('instance binding (iamArn) is for administrators only', () => {
  it('refuses an instances:put grant that binds an instance to the caller, and changes nothing', async () => {
    await grantEve();
    const res = await api.call('PUT', '/instances/eve-1', { principal: EVE, body: { tags: [{ key: 'web', value: '' }], iamArn: EVE } });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toMatch(/iamArn/);
    expect(res.body.error.message).toMatch(/administrator/);
    expect((await api.call('GET', '/instances/eve-1')).status).toBe(404);

    // Then the agent she made herself cannot poll the instance's work.
    expect((await api.call('POST', '/agent/v1/poll', { principal: EVE, body: { instanceId: 'eve-1' } })).status).toBe(403);
  });

  it('refuses rebinding and unbinding an existing instance to a grant holder, and keeps the binding', async () => {
    await grantEve();
    const agent = 'arn:aws:iam::111122223333:user/rack-eve-2';
    expect((await api.call('PUT', '/instances/eve-2', { body: { tags: [], iamArn: agent } })).status).toBe(201);
    for (const iamArn of [EVE, null, agent]) {
      const res = await api.call('PUT', '/instances/eve-2', { principal: EVE, body: { iamArn } });
      expect(res.status, JSON.stringify(iamArn)).toBe(403);
    }
    expect((await api.call('GET', '/instances/eve-2')).body.iamArn).toBe(agent);
  });

  it('refuses binding an EC2 instance even to its own agent session unless an administrator does it', async () => {
    await api.deps.accessRules.put({ id: 'eve-ec2', effect: 'Allow', principals: [EVE_ROLE], actions: ['instances:put'], resources: ['instance/i-*'] });
    const ec2 = 'i-0123456789abcdef0';
    const own = `arn:aws:sts::000000000000:assumed-role/fleetline-agent/${ec2}`;
    expect((await api.call('PUT', `/instances/${ec2}`, { principal: EVE, body: { iamArn: own } })).status).toBe(403);
    expect((await api.call('PUT', `/instances/${ec2}`, { body: { iamArn: own } })).status).toBe(201);
  });

  it('lets instances:put set tags alone, keeping the binding an administrator chose', async () => {
    await grantEve();
    const agent = 'arn:aws:iam::111122223333:user/rack-eve-3';
    await api.call('PUT', '/instances/eve-3', { body: { tags: [], iamArn: agent } });
    const res = await api.call('PUT', '/instances/eve-3', { principal: EVE, body: { tags: [{ key: 'web', value: 'blue' }] } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ tags: [{ key: 'web', value: 'blue' }], iamArn: agent });
    expect((await api.call('PUT', '/instances/eve-4', { principal: EVE, body: { tags: [] } })).status).toBe(201);
  });
});
