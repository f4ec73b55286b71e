import { beforeAll, describe, expect, it } from 'vitest';
import { useApi } from '../support/api-harness.js';
import { putBundle } from '../support/bundles.js';
import { useFleets } from '../support/fleet.js';

/**
 * POST /deployments/{id}/redeploy deploys the original's exact revision to its
 * group again and records redeployOf; the caller needs to create deployments on
 * that group and to read the original, and a hidden original answers as a missing one.
 */
const api = useApi();
const { fleet, getDeployment, runFleet } = useFleets(api);
const BOB = 'arn:aws:sts::111122223333:assumed-role/deployer/bob';
const BOB_ROLE = 'arn:aws:iam::111122223333:role/deployer';
const MISSING = 'd-ZZZZZZZZZ';
const BUCKET = 'fleetline-test-artifacts';

let shop: Awaited<ReturnType<typeof fleet>>;
let succeeded = '';
let failed = '';

const redeploy = (id: string, options: { principal?: string; body?: unknown } = {}) => api.call('POST', `/deployments/${id}/redeploy`, options);

beforeAll(async () => {
  shop = await fleet(1, { deploymentConfig: 'AllAtOnce' });
  succeeded = (await shop.deploy('web/app-1.zip')).body.deploymentId;
  await runFleet(shop.agents);
  failed = (await shop.deploy('web/app-2.zip')).body.deploymentId;
  await runFleet(shop.agents, { [shop.agents[0]!.instanceId]: { failAt: { event: 'Install' } } });
  expect([(await getDeployment(succeeded)).status, (await getDeployment(failed)).status]).toEqual(['Succeeded', 'Failed']);
}, 60_000);

describe('redeploy', () => {
  it('deploys a succeeded deployment’s exact revision to its group again, and records redeployOf', async () => {
    const original = await getDeployment(succeeded);
    const res = await redeploy(succeeded);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ status: 'Created', redeployOf: succeeded });
    const again = await getDeployment(res.body.deploymentId);
    expect(again).toMatchObject({ application: shop.app, group: 'prod', redeployOf: succeeded, revision: original.revision });
    expect(again.revision.eTag).toMatch(/^"[0-9a-f]{32}"$/);
    await runFleet(shop.agents);
    expect((await getDeployment(res.body.deploymentId)).status).toBe('Succeeded');
  });

  it('deploys a failed deployment’s revision again, and it runs to success once the host lets it', async () => {
    const res = await redeploy(failed, { body: { description: 'host fixed' } });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    const again = await getDeployment(res.body.deploymentId);
    expect(again).toMatchObject({ redeployOf: failed, description: 'host fixed', revision: (await getDeployment(failed)).revision });
    expect(again.revision.key).toBe('web/app-2.zip');
    await runFleet(shop.agents);
    expect((await getDeployment(res.body.deploymentId)).status).toBe('Succeeded');
  });

  it('refuses an object overwritten since: the ETag the original pinned no longer matches', async () => {
    const { app } = await fleet(0); // no hosts: the original fails at once and frees the group
    await putBundle(api.s3, BUCKET, 'web/pinned.zip');
    const original = (await api.call('POST', '/deployments', { body: { application: app, group: 'prod', revision: { bucket: BUCKET, key: 'web/pinned.zip' } } })).body.deploymentId;
    expect((await getDeployment(original)).revision.eTag).toBeTruthy();
    // Other bytes under the same key (unversioned bucket): a redeploy must not deploy them.
    await putBundle(api.s3, BUCKET, 'web/pinned.zip', [{ path: 'appspec.yml', content: 'version: 0.0\nos: linux\n' }, { path: 'other.txt', content: 'not what was deployed' }]);
    const res = await redeploy(original);
    expect(res.status, JSON.stringify(res.body)).toBe(422);
    expect(res.body.error.message).toContain('s3://fleetline-test-artifacts/web/pinned.zip');
  });

  it('an idempotency token is the caller’s: a repeat returns the same redeploy, another caller gets its own', async () => {
    await api.call('PUT', '/access-rules/deployers', {
      body: { effect: 'Allow', principals: [BOB_ROLE], actions: ['deployments:*'], resources: [`application/${shop.app}/group/prod`] },
    });
    try {
      await runFleet(shop.agents); // the group is free
      const first = await redeploy(succeeded, { body: { idempotencyToken: 'again-1' } });
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      const repeat = await redeploy(succeeded, { body: { idempotencyToken: 'again-1' } });
      expect([repeat.status, repeat.body.deploymentId]).toEqual([200, first.body.deploymentId]);
      await runFleet(shop.agents);
      const bobs = await redeploy(succeeded, { body: { idempotencyToken: 'again-1' }, principal: BOB });
      expect(bobs.status, JSON.stringify(bobs.body)).toBe(201);
      expect(bobs.body.deploymentId).not.toBe(first.body.deploymentId);
      expect((await getDeployment(bobs.body.deploymentId)).creator).toBe(BOB);
      await runFleet(shop.agents);
    } finally {
      await api.call('DELETE', '/access-rules/deployers');
    }
  });

  it('an unknown and a hidden original get the same 404; reading is not enough to redeploy (403)', async () => {
    const count = async () => (await api.call('GET', '/deployments', { query: { application: shop.app } })).body.items.length;
    const before = await count();
    // Bob may do anything with deployments but this group's: its deployment is hidden from him.
    await api.call('PUT', '/access-rules/bob-all', { body: { effect: 'Allow', principals: [BOB_ROLE], actions: ['deployments:*'], resources: ['*'] } });
    await api.call('PUT', '/access-rules/bob-not-shop', {
      body: { effect: 'Deny', principals: [BOB_ROLE], actions: ['deployments:*'], resources: [`application/${shop.app}/group/*`] },
    });
    try {
      const hidden = await redeploy(succeeded, { principal: BOB });
      const unknown = await redeploy(MISSING, { principal: BOB });
      expect(hidden.status).toBe(404);
      expect(hidden.body.error.message.replace(succeeded, '<id>')).toBe(unknown.body.error.message.replace(MISSING, '<id>'));
      expect({ ...hidden.body, error: { ...hidden.body.error, message: '' } }).toEqual({ ...unknown.body, error: { ...unknown.body.error, message: '' } });

      // Allowed to create on the group but not to read the original: hidden too.
      await api.call('PUT', '/access-rules/bob-not-shop', {
        body: { effect: 'Deny', principals: [BOB_ROLE], actions: ['deployments:get'], resources: [`application/${shop.app}/group/*`] },
      });
      const unread = await redeploy(succeeded, { principal: BOB });
      expect([unread.status, unread.body.error.message]).toEqual([404, unknown.body.error.message.replace(MISSING, succeeded)]);
    } finally {
      await api.call('DELETE', '/access-rules/bob-not-shop');
      await api.call('DELETE', '/access-rules/bob-all');
    }

    // Bob may read every deployment and create none: 403, whether or not the deployment exists.
    await api.call('PUT', '/access-rules/bob-reads', { body: { effect: 'Allow', principals: [BOB_ROLE], actions: ['deployments:get'], resources: ['*'] } });
    try {
      expect((await api.call('GET', `/deployments/${succeeded}`, { principal: BOB })).status).toBe(200);
      const refused = await redeploy(succeeded, { principal: BOB });
      expect([refused.status, refused.body.error.code]).toEqual([403, 'ForbiddenError']);
      expect((await redeploy(MISSING, { principal: BOB })).status).toBe(403);
    } finally {
      await api.call('DELETE', '/access-rules/bob-reads');
    }
    expect(await count()).toBe(before);
  });
});
