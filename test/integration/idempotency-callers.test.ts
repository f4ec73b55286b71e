import { beforeAll, describe, expect, it } from 'vitest';
import { useApi } from '../support/api-harness.js';
import { putBundle } from '../support/bundles.js';

/**
 * An idempotency token belongs to the caller who used it: Bob naming Alice's
 * token makes a request of his own, and no answer he gets names her deployment.
 */
const api = useApi();
const BUCKET = 'fleetline-test-artifacts';
const BOB = 'arn:aws:sts::111122223333:assumed-role/deployer/bob';
const BOB_TOO = 'arn:aws:sts::111122223333:assumed-role/deployer/bob-too';

const request = (token: string, extra: Record<string, unknown> = {}) => ({
  application: 'tokens',
  group: 'prod',
  revision: { bucket: BUCKET, key: 'tokens/a.zip' },
  idempotencyToken: token,
  ...extra,
});

beforeAll(async () => {
  await putBundle(api.s3, BUCKET, 'tokens/a.zip');
  await api.call('PUT', '/applications/tokens');
  // No host matches: each deployment fails at once and frees the group for the next.
  await api.call('PUT', '/applications/tokens/groups/prod', { body: { targets: { onPremisesTagSet: [[{ key: 'none', type: 'KEY_ONLY' }]] } } });
  await api.call('PUT', '/access-rules/deployers', {
    body: { effect: 'Allow', principals: ['arn:aws:iam::111122223333:role/deployer'], actions: ['deployments:*'], resources: ['*'] },
  });
});

describe('idempotency tokens are scoped to their caller', () => {
  it("Bob repeating Alice's token with her parameters gets a deployment of his own, and his own repeat returns it", async () => {
    const alice = await api.call('POST', '/deployments', { body: request('build-1') });
    expect(alice.status).toBe(201);
    const bob = await api.call('POST', '/deployments', { body: request('build-1'), principal: BOB });
    expect(bob.status).toBe(201);
    expect(bob.body.deploymentId).not.toBe(alice.body.deploymentId);
    expect((await api.call('GET', `/deployments/${bob.body.deploymentId}`, { principal: BOB })).body.creator).toBe(BOB);
    const again = await api.call('POST', '/deployments', { body: request('build-1'), principal: BOB });
    expect([again.status, again.body.deploymentId]).toEqual([200, bob.body.deploymentId]);
    // Alice's own retry still finds hers.
    const aliceAgain = await api.call('POST', '/deployments', { body: request('build-1') });
    expect([aliceAgain.status, aliceAgain.body.deploymentId]).toEqual([200, alice.body.deploymentId]);
  });

  it("Bob reusing Alice's token with other parameters is not a conflict naming her deployment", async () => {
    const alice = await api.call('POST', '/deployments', { body: request('build-2') });
    expect(alice.status).toBe(201);
    const bob = await api.call('POST', '/deployments', { body: request('build-2', { description: 'mine' }), principal: BOB });
    expect(bob.status).toBe(201);
    expect(JSON.stringify(bob.body)).not.toContain(alice.body.deploymentId);
    // His own token with other parameters is still a 409, naming only his own deployment.
    const reused = await api.call('POST', '/deployments', { body: request('build-2', { description: 'changed' }), principal: BOB });
    expect(reused.status).toBe(409);
    expect(reused.body.error.message).toContain(bob.body.deploymentId);
    expect(JSON.stringify(reused.body)).not.toContain(alice.body.deploymentId);
  });

  it('two sessions of one role are two callers', async () => {
    const bob = await api.call('POST', '/deployments', { body: request('build-3'), principal: BOB });
    const other = await api.call('POST', '/deployments', { body: request('build-3'), principal: BOB_TOO });
    expect([bob.status, other.status]).toEqual([201, 201]);
    expect(other.body.deploymentId).not.toBe(bob.body.deploymentId);
  });
});
